// The handler side of the host/handler contract (asm/CONTRACT.md).
// Changing anything here means bumping ABI_VERSION.

export const ABI: u32 = 1;

/** One packet of a batch: 16 bytes, in linear memory. */
export const DESC_SIZE: usize = 16;
/** In: packet start (offset in memory). Out: may move inside the same frame. */
export const DESC_ADDR: usize = 0;
/** In: packet length. Out: length to transmit. */
export const DESC_LEN: usize = 4;
/** Out: one of the VERDICT_ values. */
export const DESC_VERDICT: usize = 8;
/** In: the RX queue the packet arrived on. */
export const DESC_QUEUE: usize = 12;

/** The frame goes back to the kernel for RX. */
export const VERDICT_DROP: u32 = 0;
/** The frame is sent out of the queue it came from, [addr, addr + len). */
export const VERDICT_TX: u32 = 1;

/** Bytes a packet may use from its start: a frame holds 2048 or 4096 bytes, 256 of them headroom. */
export const MIN_FRAME_ROOM: u32 = 2048 - 256;

@inline export function descAddr(batch: usize, i: u32): usize {
  return <usize>load<u32>(batch + <usize>i * DESC_SIZE, DESC_ADDR);
}
@inline export function descLen(batch: usize, i: u32): u32 {
  return load<u32>(batch + <usize>i * DESC_SIZE, DESC_LEN);
}
@inline export function setVerdict(batch: usize, i: u32, verdict: u32, len: u32): void {
  const d = batch + <usize>i * DESC_SIZE;
  store<u32>(d, len, DESC_LEN);
  store<u32>(d, verdict, DESC_VERDICT);
}
