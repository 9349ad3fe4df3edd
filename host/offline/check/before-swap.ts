// The short check a swap may ask for (ctl swap --check, serve --check): afxdp-wasm check's
// properties for well under a second, so a handler that fails is refused before it runs. It runs
// in a worker thread: a handler that never returns is cut off there, not in the serving process.
import { Worker } from 'node:worker_threads';
import type { Handler } from '../../dataplane/handler.js';
import { distFile } from '../../lib/paths.js';
import type { Failure } from './properties.js';
import type { CheckJob } from './worker.js';

/** How long generation may go on; the run's last scan and a shrink come on top, still under a second. */
export const SWAP_CHECK_MS = 400;
/** A check not done by then is stopped: the handler has stayed in one batch far too long. */
const GIVE_UP_MS = 5000;

/** Why the handler must not be swapped in, or undefined when it passed. */
export async function checkBeforeSwap(handler: Handler, frameSize: number): Promise<string | undefined> {
  const job: CheckJob = { handler, frameSize, seed: Date.now() % 2 ** 31, timeLimitMs: SWAP_CHECK_MS };
  const failure = await inWorker(job);
  if (!failure) return undefined;
  return (
    `it fails check's ${failure.property} property: ${failure.message} ` +
    `(afxdp-wasm check ${handler.path} --seed ${job.seed} --frame-size ${frameSize} shows it)`
  );
}

function inWorker(job: CheckJob): Promise<Failure | null> {
  const worker = new Worker(distFile('offline/check/worker.js'), { workerData: job });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      const message = `it was still in its check after ${GIVE_UP_MS / 1000} s: a batch that never returns`;
      resolve({ property: 'time-per-packet', message });
    }, GIVE_UP_MS);
    worker.once('message', (failure: Failure | null) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(failure);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`the check could not run: ${err.message}`));
    });
  });
}
