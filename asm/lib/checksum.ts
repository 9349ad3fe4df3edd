// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
// Sums are kept in little-endian 16-bit lanes (wasm's byte order) and turned
// into network order once, at fold(): the ones' complement sum does not care.

/** Adds the 16-bit words of [p, p + len) to sum (unfolded). */
export function sumWords(p: usize, len: usize, sum: u64): u64 {
  let i: usize = 0;
  for (; i + 8 <= len; i += 8) {
    const w = load<u64>(p + i);
    sum += (w & 0xffff) + ((w >> 16) & 0xffff) + ((w >> 32) & 0xffff) + (w >> 48);
  }
  for (; i + 2 <= len; i += 2) sum += <u64>load<u16>(p + i);
  if (i < len) sum += <u64>load<u8>(p + i); // odd byte: high byte of a zero-padded word
  return sum;
}

/** Adds a value that is a 16-bit word in network order (a length, a protocol number). */
@inline export function addWord(sum: u64, word: u32): u64 {
  return sum + <u64>bswap<u16>(<u16>word);
}

/** Folds a sum to 16 bits, in network order. A correct checksum region folds to 0xffff. */
export function fold(sum: u64): u32 {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return <u32>bswap<u16>(<u16>sum);
}

/** The checksum to store for a region whose sum (with the checksum field zero) is sum. */
@inline export function finish(sum: u64): u32 {
  return ~fold(sum) & 0xffff;
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), after one 16-bit word changes from m to m1. */
@inline export function updateChecksum(hc: u32, m: u32, m1: u32): u32 {
  let sum = (~hc & 0xffff) + (~m & 0xffff) + m1;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}
