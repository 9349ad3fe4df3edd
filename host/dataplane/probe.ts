// A new handler's probe (loadHandler: one instance on a scratch memory, its _start and init
// run) in a thread of its own, for a process that serves: there, a handler whose _start or init
// never returns would hang the main thread, and with it the control socket, the signals and the
// swaps to come. The thread lives from the first probe on; one that does not answer within
// PROBE_WITHIN_MS is terminated (V8 interrupts a wasm loop), and the next probe starts another.
import { Worker } from 'node:worker_threads';
import { UserError } from '../lib/errors.js';
import { distFile } from '../lib/paths.js';
import type { Handler } from './handler.js';

export const PROBE_WITHIN_MS = 5000;
const PROBE_WORKER = distFile('dataplane/probe-worker.js');

let thread: Worker | undefined;
/** Probes one at a time: each waits for the one before. */
let queue: Promise<unknown> = Promise.resolve();

/** The handler's ABI version, from an instance made in the probe thread; rejects with its error, or when it hangs. */
export function probeInThread(handler: Handler): Promise<number> {
  const probe = queue.then(() => probeOnce(handler));
  queue = probe.catch(() => undefined);
  return probe;
}

/** The probe thread, started if there is none; it never keeps the process alive. */
function probeThread(): Worker {
  if (thread) return thread;
  const started = new Worker(PROBE_WORKER);
  started.unref();
  started.on('error', () => undefined); // said to the probe waiting, if any (below)
  started.once('exit', () => {
    if (thread === started) thread = undefined;
  });
  thread = started;
  return started;
}

function probeOnce(handler: Handler): Promise<number> {
  const worker = probeThread();
  return new Promise((resolve, reject) => {
    const settle = (fn: () => void) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      fn();
    };
    const onMessage = (msg: { abi: number } | { error: string }) =>
      settle(() => ('abi' in msg ? resolve(msg.abi) : reject(new Error(msg.error))));
    const onError = (err: Error) => settle(() => reject(err));
    const timer = setTimeout(() => {
      thread = undefined;
      void worker.terminate();
      settle(() =>
        reject(
          new UserError(
            `handler ${handler.path} did not return from _start or init within ${PROBE_WITHIN_MS / 1000} s ` +
              '(an endless loop?); fix it and rebuild',
          ),
        ),
      );
    }, PROBE_WITHIN_MS);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.postMessage(handler);
  });
}
