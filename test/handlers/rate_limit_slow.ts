// asm/rate_limit.ts built with another rate, slow enough that a test sees a spent bucket stay
// spent: 5 at once, then one reply every 20 s per source.
import { setConfig } from '../../asm/lib/config';
import { setRate } from '../../asm/lib/source_buckets';
export {
  ABI_VERSION, counter_names, counter_names_len, counters, process, state_len, state_ptr, state_restore,
} from '../../asm/rate_limit';

export function init(config: usize): void {
  setConfig(config);
  setRate(0.05, 5);
}
