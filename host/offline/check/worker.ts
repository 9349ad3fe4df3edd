// A check in a thread of its own (afxdp-wasm check, the check before a swap): a handler that never
// returns cannot hang the thread that started it, which watches its calls (in-worker.ts) and ends
// this thread instead.
import { parentPort, workerData } from 'node:worker_threads';
import type { Handler } from '../../dataplane/handler.js';
import { UserError } from '../../lib/errors.js';
import { loadReference } from './reference.js';
import { type CheckResult, runAlone, runCheck } from './run.js';
import { CallWatch } from './watch.js';

export interface CheckJob {
  /** The handler as it was loaded: its compiled module comes along, so the build checked is the one given. */
  handler: Handler;
  runs: number;
  seed: number;
  frameSizes: readonly number[];
  corpus?: Uint8Array[];
  /** check --reference: the model's module, loaded here (a function cannot be posted). */
  reference?: string;
  /**
   * afxdp-wasm fuzz: against the echo reference model, on frames made for echo, with no write in a
   * frame but its packet (set here: functions cannot be posted).
   */
  echo?: boolean;
  timeLimitMs?: number;
  /** Instead of generating: these frames alone, one after another (which of a batch never returns). */
  alone?: { config: string; frameSize: number; batch: Uint8Array[] };
}

/** What the worker posts back: the result, a usage error (a --reference that will not load), or alone's end. */
export type CheckOutcome = { result: CheckResult } | { usage: string } | { allReturned: true };

/** fuzz's settings, loaded only for fuzz: other checks need not build its generators. */
async function echoSettings() {
  const [{ anyFrame }, { echoReference }] = await Promise.all([
    import('../echo-frames.js'),
    import('../reference-echo.js'),
  ]);
  return { reference: echoReference, frames: anyFrame, packetOnly: true };
}

const { job, watch } = workerData as { job: CheckJob; watch: SharedArrayBuffer };
let outcome: CheckOutcome;
try {
  const echo = job.echo ? await echoSettings() : {};
  const reference = job.reference === undefined ? undefined : await loadReference(job.reference);
  if (job.alone) {
    const { config, frameSize, batch } = job.alone;
    runAlone(job.handler, config, frameSize, batch, new CallWatch(watch));
    outcome = { allReturned: true };
  } else outcome = { result: runCheck({ ...job, reference, ...echo, watch: new CallWatch(watch) }) };
} catch (err) {
  if (!(err instanceof UserError)) throw err;
  outcome = { usage: err.message };
}
parentPort!.postMessage(outcome);
