// The common end of a handler's loop: an answer function returns the reply's
// length (> 0) to transmit in place, or minus the reason to drop.
import { VERDICT_DROP, VERDICT_TX, setVerdict } from './abi';
import { REPLIED, count } from './reasons';

@inline export function applyAnswer(batch: usize, i: u32, answer: i32, len: u32): void {
  if (answer > 0) {
    count(REPLIED);
    setVerdict(batch, i, VERDICT_TX, <u32>answer);
  } else {
    count(<u32>-answer);
    setVerdict(batch, i, VERDICT_DROP, len);
  }
}
