// Ping, rate-limited per source: the echo of asm/echo.ts (asm/lib/ping.ts),
// but each source (IPv6 /64, or IPv4 address) gets REPLIES_PER_SECOND replies
// a second, BURST at once; requests beyond that are dropped and counted as
// rate_limited. The buckets are kept across a swap (asm/CONTRACT.md, *Swaps*),
// also into a build with another rate: change the constants and swap.
import { descAddr, descLen } from './lib/abi';
import { applyAnswer } from './lib/answer';
import { nowMs } from './lib/clock';
import { setConfig } from './lib/config';
import { answerPing } from './lib/ping';
import { REASON_COUNT, REASON_NAMES, countersAddress } from './lib/reasons';
import {
  bucketOf, refund, restoreState, setRate, sourceKey, sourceOf, spend, stateAddress, stateLength,
} from './lib/source_buckets';
export { ABI as ABI_VERSION } from './lib/abi';

const REPLIES_PER_SECOND: f64 = 10;
const BURST: f64 = 20;

const RATE_LIMITED: u32 = REASON_COUNT;
const NAMES = REASON_NAMES + ',rate_limited';

export function init(config: usize): void {
  setConfig(config);
  setRate(REPLIES_PER_SECOND, BURST);
}

export function counters(): usize { return countersAddress(); }
export function counter_names(): usize { return changetype<usize>(NAMES); }
export function counter_names_len(): u32 { return <u32>NAMES.length << 1; }

export function state_ptr(): usize { return stateAddress(); }
export function state_len(): u32 { return stateLength(); }
export function state_restore(ptr: usize, len: u32): void { restoreState(ptr, len); }

export function process(batch: usize, n: u32): void {
  const now = nowMs();
  for (let i: u32 = 0; i < n; i++) {
    const frame = descAddr(batch, i);
    const len = descLen(batch, i);
    const family = sourceOf(frame, len);
    const bucket = family ? bucketOf(family, sourceKey, now) : 0;
    if (bucket && !spend(bucket)) {
      applyAnswer(batch, i, -<i32>RATE_LIMITED, len);
      continue;
    }
    const reply = answerPing(frame, len);
    if (reply <= 0 && bucket) refund(bucket); // only replies cost a token
    applyAnswer(batch, i, reply, len);
  }
}
