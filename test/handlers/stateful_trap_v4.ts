// Test handler: answers ping and keeps a little state (so a swap from it offers a hand-over), but
// traps on any batch holding an IPv4 frame: a handler that proved good, then goes bad on demand.
import { descAddr, descLen } from '../../asm/lib/abi';
import { applyAnswer } from '../../asm/lib/answer';
import { setConfig } from '../../asm/lib/config';
import { answerPing } from '../../asm/lib/ping';
export { ABI as ABI_VERSION } from '../../asm/lib/abi';

const blob = memory.data(16);
const ETHERTYPE_IPV4: u16 = 0x0008; // 0x0800 as it lies in memory

export function init(config: usize): void {
  setConfig(config);
}

export function state_ptr(): usize { return blob; }
export function state_len(): u32 { return 16; }

export function process(batch: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const frame = descAddr(batch, i);
    const len = descLen(batch, i);
    if (len >= 14 && load<u16>(frame, 12) == ETHERTYPE_IPV4) unreachable();
    applyAnswer(batch, i, answerPing(frame, len), len);
  }
}
