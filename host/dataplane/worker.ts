// The packet loop, on its own thread so Node's event loop never waits for it.
// Per turn: one call into the shim (settle verdicts, kick TX, reap
// COMPLETION, refill FILL, take the next RX batch), one call into the handler.
import { parentPort, workerData } from 'node:worker_threads';
import { type CounterTable, type Handler, instantiate } from './handler.js';
import { loadShim } from './shim.js';
import { BATCH_OFFSET, CONTROL_OFFSET, CONTROL_STOP, CONTROL_WORDS, COUNTERS_OFFSET, COUNTER, COUNTER_COUNT, DESC_SIZE } from './layout.js';

export interface WorkerInput {
  port: number;
  memory: WebAssembly.Memory;
  handler: Handler;
  pollMode: boolean;
}

export interface ReadyMessage {
  type: 'ready';
  counters: CounterTable | undefined;
}

const POLL_TIMEOUT_MS = 100; // how late a stop request is noticed in poll mode

function run({ port, memory, handler, pollMode }: WorkerInput): void {
  const shim = loadShim();
  const control = new Int32Array(memory.buffer, CONTROL_OFFSET, CONTROL_WORDS);
  const counters = new BigUint64Array(memory.buffer, COUNTERS_OFFSET, COUNTER_COUNT);
  const descs = new Uint32Array(memory.buffer, BATCH_OFFSET);
  const { process, counters: table } = instantiate(handler, memory);
  parentPort!.postMessage({ type: 'ready', counters: table } satisfies ReadyMessage);

  while (Atomics.load(control, CONTROL_STOP) === 0) {
    const n = shim.step(port);
    if (n === 0) {
      if (pollMode) shim.wait(port, POLL_TIMEOUT_MS);
      continue;
    }
    try {
      process(BATCH_OFFSET, n);
    } catch {
      // A trapping handler loses its batch, not the process: every frame goes back for RX.
      for (let i = 0; i < n; i++) descs[(i * DESC_SIZE) / 4 + 2] = 0;
      counters[COUNTER.handlerErrors]! += 1n;
    }
  }
  shim.settle(port); // the last batch's verdicts, and no new RX
}

run(workerData as WorkerInput);
