// asm/rate_limit.ts with yet another rate (one reply every 50 s per source, 5 at once): a swap from
// rate_limit_slow keeps the buckets.
import { setConfig } from '../../asm/lib/config';
import { setRate } from '../../asm/lib/source_buckets';
export {
  ABI_VERSION, counter_names, counter_names_len, counters, process, state_len, state_ptr, state_restore,
} from '../../asm/rate_limit';

export function init(config: usize): void {
  setConfig(config);
  setRate(0.02, 5);
}
