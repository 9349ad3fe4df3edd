// The check before a swap, in a thread of its own: a handler that never returns
// cannot hang the process that serves (before-swap.ts ends this thread instead).
import { parentPort, workerData } from 'node:worker_threads';
import type { Handler } from '../../dataplane/handler.js';
import { runCheck } from './run.js';

export interface CheckJob {
  /** The handler as it was loaded: its compiled module comes along, so the build checked is the one swapped in. */
  handler: Handler;
  frameSize: number;
  seed: number;
  timeLimitMs: number;
}

const job = workerData as CheckJob;
const { handler, frameSize, seed, timeLimitMs } = job;
const r = runCheck({
  handler,
  runs: Number.MAX_SAFE_INTEGER,
  seed,
  frameSizes: [frameSize],
  timeLimitMs,
});
parentPort!.postMessage(r.failure ? { property: r.failure.property, message: r.failure.message } : null);
