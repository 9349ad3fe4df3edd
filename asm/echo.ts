// Answers ping: ICMPv6 echo (RFC 4443) and ICMP echo (RFC 792), in place,
// without allocating (asm/lib/ping.ts). Everything else is dropped and counted by reason.
import { descAddr, descLen } from './lib/abi';
import { applyAnswer } from './lib/answer';
import { setConfig } from './lib/config';
import { answerPing } from './lib/ping';
import { REASON_NAMES, countersAddress } from './lib/reasons';
export { ABI as ABI_VERSION } from './lib/abi';

export function init(config: usize): void {
  setConfig(config);
}

export function counters(): usize { return countersAddress(); }
export function counter_names(): usize { return changetype<usize>(REASON_NAMES); }
export function counter_names_len(): u32 { return <u32>REASON_NAMES.length << 1; }
/** Where this module's heap starts: the tests check that it never grows. */
export function heap_base(): usize { return __heap_base; }

export function process(batch: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const len = descLen(batch, i);
    applyAnswer(batch, i, answerPing(descAddr(batch, i), len), len);
  }
}
