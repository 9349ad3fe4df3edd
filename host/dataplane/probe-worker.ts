// The probe thread (host/dataplane/probe.ts): instantiates each handler it is sent once on a
// scratch memory, running its _start and init, and answers with its ABI version or the error.
import { parentPort } from 'node:worker_threads';
import { type Handler, probeAbi } from './handler.js';
import { newMemory } from './layout.js';

const scratch = newMemory();

parentPort!.on('message', (handler: Handler) => {
  try {
    parentPort!.postMessage({ abi: probeAbi(handler, scratch) });
  } catch (err) {
    parentPort!.postMessage({ error: String((err as Error)?.message ?? err) });
  }
});
