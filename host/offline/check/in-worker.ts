// Starts a check in a worker thread and watches its calls of process(): one still running after
// RETURNS_WITHIN_MS ends the check with the returns property failed. The frames of that batch may
// then be run alone, watched the same way, to find the one it never returns from.
import { Worker } from 'node:worker_threads';
import { UserError } from '../../lib/errors.js';
import { distFile } from '../../lib/paths.js';
import { NOTHING_RUN, RETURNS_WITHIN_MS } from './properties.js';
import type { CheckResult } from './run.js';
import { type StuckCase, newWatchMemory, watchCalls } from './watch.js';
import type { CheckJob, CheckOutcome } from './worker.js';

/** What ended a worker: what it posted, a call that never returned, or the time given running out. */
type Ending = CheckOutcome | { stuck: StuckCase } | { gaveUp: true };

export interface Watched {
  /**
   * A check still running then is ended, failing time-per-packet, even though each call returns
   * (the check before a swap: a handler that slow must not wait for its whole shrink).
   */
  giveUpAfterMs?: number;
  /** Which frame of a batch never returns is looked for (afxdp-wasm check): up to RETURNS_WITHIN_MS more. */
  findFrame?: boolean;
}

export async function checkInWorker(job: CheckJob, { giveUpAfterMs, findFrame }: Watched): Promise<CheckResult> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const end = await inWorker(job, giveUpAfterMs);
  if ('usage' in end) throw new UserError(end.usage);
  if ('result' in end) return end.result;
  if ('stuck' in end) {
    const alone = findFrame ? await aloneStuck(job, end.stuck) : undefined;
    return neverReturned(end.stuck, alone, seconds());
  }
  const message = `it was still in its check after ${seconds().toFixed(0)} s: far too slow`;
  return { ...NOTHING_RUN, seconds: seconds(), failure: { ...NO_CASE, property: 'time-per-packet', message } };
}

function inWorker(job: CheckJob, giveUpAfterMs?: number): Promise<Ending> {
  const watch = newWatchMemory();
  const worker = new Worker(distFile('offline/check/worker.js'), { workerData: { job, watch } });
  return new Promise((resolve, reject) => {
    const finish = () => {
      stopWatching();
      clearTimeout(giveUp);
      void worker.terminate();
    };
    const ended = (end: Ending) => {
      finish();
      resolve(end);
    };
    const stopWatching = watchCalls(watch, RETURNS_WITHIN_MS, (stuck) => ended({ stuck }));
    const giveUp = setTimeout(() => ended({ gaveUp: true }), giveUpAfterMs ?? 2 ** 31 - 1);
    worker.once('message', (outcome: CheckOutcome) => ended(outcome));
    worker.once('error', (err) => {
      finish();
      reject(new Error(`the check could not run: ${err.message}`));
    });
  });
}

/** The frame of a stuck batch that, alone on a fresh instance, is never returned from too, if one is. */
async function aloneStuck(job: CheckJob, stuck: StuckCase): Promise<Uint8Array | undefined> {
  if (stuck.batch.length === 1) return undefined;
  const end = await inWorker({ ...job, corpus: undefined, alone: stuck });
  return 'stuck' in end ? end.stuck.batch[0] : undefined;
}

const NO_CASE = { batch: [], config: '', frameSize: 0 };

function neverReturned(stuck: StuckCase, alone: Uint8Array | undefined, seconds: number): CheckResult {
  const n = stuck.batch.length;
  const message =
    `process() had not returned after ${RETURNS_WITHIN_MS / 1000} s, on a batch of ${n} frame${n > 1 ? 's' : ''}` +
    (alone ? ', nor on one of them alone' : '');
  return {
    ...NOTHING_RUN,
    batches: stuck.casesBefore,
    frames: stuck.framesBefore,
    seconds,
    failure: {
      property: 'returns',
      message,
      batch: alone ? [alone] : stuck.batch,
      config: stuck.config,
      frameSize: stuck.frameSize,
    },
  };
}
