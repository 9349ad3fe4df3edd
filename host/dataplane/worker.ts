// The packet loop, on its own thread so Node's event loop never waits for it.
// A worker serves one or more queues; each queue has its own wasm memory
// (with its UMEM) and its own handler instance. Per queue and turn: one call
// into the shim (settle verdicts, kick TX, reap COMPLETION, refill FILL, take
// the next RX batch), one call into the handler.
import { parentPort, workerData } from 'node:worker_threads';
import { type CounterTable, type Handler, instantiate } from './handler.js';
import { loadShim } from './shim.js';
import { BATCH_OFFSET, CONTROL_OFFSET, CONTROL_STOP, CONTROL_WORDS, COUNTERS_OFFSET, COUNTER, COUNTER_COUNT, DESC_SIZE } from './layout.js';

export interface WorkerQueue {
  port: number;
  memory: WebAssembly.Memory;
}

export interface WorkerInput {
  queues: WorkerQueue[];
  handler: Handler;
  pollMode: boolean;
}

export interface ReadyMessage {
  type: 'ready';
  /** Per queue, in the order given. */
  counters: (CounterTable | undefined)[];
}

const POLL_TIMEOUT_MS = 100; // how late a stop request is noticed in poll mode

function run({ queues, handler, pollMode }: WorkerInput): void {
  const shim = loadShim();
  const served = queues.map(({ port, memory }) => ({
    port,
    counters: new BigUint64Array(memory.buffer, COUNTERS_OFFSET, COUNTER_COUNT),
    verdicts: new Uint32Array(memory.buffer, BATCH_OFFSET),
    instance: instantiate(handler, memory),
  }));
  const control = new Int32Array(queues[0]!.memory.buffer, CONTROL_OFFSET, CONTROL_WORDS);
  const ports = queues.map((q) => q.port);
  parentPort!.postMessage({ type: 'ready', counters: served.map((s) => s.instance.counters) } satisfies ReadyMessage);

  while (Atomics.load(control, CONTROL_STOP) === 0) {
    let busy = false;
    for (const q of served) {
      const n = shim.step(q.port);
      if (n === 0) continue;
      busy = true;
      try {
        q.instance.process(BATCH_OFFSET, n);
      } catch {
        // A trapping handler loses its batch, not the process: every frame goes back for RX.
        for (let i = 0; i < n; i++) q.verdicts[(i * DESC_SIZE) / 4 + 2] = 0;
        q.counters[COUNTER.handlerErrors]! += 1n;
      }
    }
    if (!busy && pollMode) {
      if (ports.length === 1) shim.wait(ports[0]!, POLL_TIMEOUT_MS);
      else shim.waitAny(ports, POLL_TIMEOUT_MS);
    }
  }
  for (const q of served) shim.settle(q.port); // the last batch's verdicts, and no new RX
}

run(workerData as WorkerInput);
