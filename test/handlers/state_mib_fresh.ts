// state_mib without state_restore: the same module's swap without a hand-over, for comparison.
export { ABI_VERSION, counter_names, counter_names_len, counters, init, process, state_len, state_ptr } from './state_mib';
