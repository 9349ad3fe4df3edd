// rate_limit_slow without state_restore: it gives its state away but cannot take any over, so a
// swap to it starts fresh.
import { setConfig } from '../../asm/lib/config';
import { setRate } from '../../asm/lib/source_buckets';
export {
  ABI_VERSION, counter_names, counter_names_len, counters, process, state_len, state_ptr,
} from '../../asm/rate_limit';

export function init(config: usize): void {
  setConfig(config);
  setRate(0.05, 5);
}
