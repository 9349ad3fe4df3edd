// The handler side of the host/handler contract (asm/CONTRACT.md). The numbers are generated from
// asm/contract/abi.json; this file adds the accessors handlers use.
import { ABI_VERSION, DESC_ADDR, DESC_LEN, DESC_SIZE, DESC_VERDICT } from './abi.generated';
export {
  DESC_ADDR, DESC_LEN, DESC_QUEUE, DESC_SIZE, DESC_VERDICT, MAX_BATCH, MIN_FRAME_ROOM, TX_MIN_LEN,
  VERDICT_DROP, VERDICT_TX, XDP_HEADROOM,
} from './abi.generated';

export const ABI: u32 = ABI_VERSION;

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
