// Network byte order in place: wasm is little-endian, the wire is not.
@inline export function get16(p: usize): u32 {
  return <u32>bswap<u16>(load<u16>(p));
}
@inline export function put16(p: usize, v: u32): void {
  store<u16>(p, bswap<u16>(<u16>v));
}
/** Swaps n bytes at a with n bytes at b (n a multiple of 2; used for MACs and addresses). */
@inline export function swapBytes(a: usize, b: usize, n: usize): void {
  for (let i: usize = 0; i < n; i += 2) {
    const t = load<u16>(a + i);
    store<u16>(a + i, load<u16>(b + i));
    store<u16>(b + i, t);
  }
}
