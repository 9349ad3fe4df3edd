// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).

/** Adds the 16-bit big-endian words of [p, p + len) to sum (unfolded). */
export function sumWords(p: usize, len: usize, sum: u64): u64 {
  let i: usize = 0;
  for (; i + 8 <= len; i += 8) {
    const w = load<u64>(p + i);
    // Sum the four little-endian u16 lanes; byte order is fixed up once at the end.
    sum += (w & 0xffff) + ((w >> 16) & 0xffff) + ((w >> 32) & 0xffff) + (w >> 48);
  }
  for (; i + 2 <= len; i += 2) sum += <u64>load<u16>(p + i);
  if (i < len) sum += <u64>load<u8>(p + i);
  return sum;
}

/** Folds a sum of little-endian words into a big-endian 16-bit ones' complement sum. */
export function fold(sum: u64): u32 {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return <u32>bswap<u16>(<u16>sum);
}

/** RFC 1624 eqn. 3: the checksum after one 16-bit word changes from m to m1. */
@inline export function updateChecksum(hc: u32, m: u32, m1: u32): u32 {
  let sum = (~hc & 0xffff) + (~m & 0xffff) + m1;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}
