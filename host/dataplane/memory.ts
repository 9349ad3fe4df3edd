// What keeps a long-running responder's memory from creeping up with every swap.
// Each swap leaves garbage that full collections (host/lib/gc.ts) free; what
// grew was not that garbage but two pools that only ever grew around it
// (bench --soak, 10,000 swaps: 6.7-9.7 MB after warm-up, now under 1 MB).
import type { ResourceLimits } from 'node:worker_threads';
import type { Shim } from './shim.js';

/**
 * A packet worker allocates nothing in steady state and 60-80 KB a swap. V8 grows a young
 * generation by the bytes that survive its collections, so over thousands of swaps the worker's
 * grew from 4 to 8 MiB and more (up to 48 MiB allowed), all of it resident; shrinking it is left
 * to idle-time tasks, which a worker that never returns to its event loop never runs. At 4 MiB
 * (V8's starting size) it scavenges as often as it did before the growth, about once in 30 swaps.
 */
export const PACKET_WORKER_HEAP: ResourceLimits = { maxYoungGenerationSizeMb: 4 };

/**
 * glibc's own starting value. Left dynamic, it rose to several MiB, and V8's helper threads (one
 * malloc arena each, where the collections run) kept that much of free pages each: 4 arenas grew
 * from a few hundred KiB to 2 MiB with 15-25 KiB in use (malloc_stats after 10,000 swaps).
 */
const MALLOC_TRIM_THRESHOLD = 128 * 1024;

/** Once per process, before the workers start. */
export function keepMallocTrimmed(shim: Shim): void {
  shim.setMallocTrimThreshold(MALLOC_TRIM_THRESHOLD);
}
