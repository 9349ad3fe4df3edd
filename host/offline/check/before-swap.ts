// The short check a swap may ask for (ctl swap --check, serve --check): afxdp-wasm check's
// properties for well under a second, so a handler that fails is refused before it runs. It runs
// in a worker thread: a handler that never returns is cut off there, not in the serving process.
import type { Handler } from '../../dataplane/handler.js';
import { checkInWorker } from './in-worker.js';
import { RETURNS_WITHIN_MS } from './properties.js';

/** How long generation may go on; the run's last scan and a shrink come on top, still under a second. */
export const SWAP_CHECK_MS = 400;
/** A check not done by then is stopped: calls that each return, but so slowly the shrink would take minutes. */
const GIVE_UP_MS = 2 * RETURNS_WITHIN_MS;

/** Why the handler must not be swapped in, or undefined when it passed. */
export async function checkBeforeSwap(handler: Handler, frameSize: number): Promise<string | undefined> {
  const seed = Date.now() % 2 ** 31;
  const job = { handler, runs: Number.MAX_SAFE_INTEGER, seed, frameSizes: [frameSize], timeLimitMs: SWAP_CHECK_MS };
  const { failure } = await checkInWorker(job, { giveUpAfterMs: GIVE_UP_MS });
  if (!failure) return undefined;
  return (
    `it fails check's ${failure.property} property: ${failure.message} ` +
    `(afxdp-wasm check ${handler.path} --seed ${seed} --frame-size ${frameSize} shows it)`
  );
}
