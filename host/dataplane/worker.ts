// The packet loop, on its own thread so Node's event loop never waits for it.
// A worker serves one or more queues; each queue has its own wasm memory
// (with its UMEM) and its own handler instance. Per queue and turn: one call
// into the shim (settle verdicts, kick TX, reap COMPLETION, refill FILL, take
// the next RX batch), one call into the handler.
//
// Between turns it looks at its control words: stop, and swap (a new handler
// waits on its message port). A handler that traps loses its batch; one that
// keeps trapping is replaced by the last good one (or by drop).
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { Batch } from './batch.js';
import { type CounterTable, type Handler, type HandlerInstance, instantiate, readCounters } from './handler.js';
import { loadShim } from './shim.js';
import {
  BATCH_OFFSET,
  CONTROL_HEARTBEAT,
  CONTROL_OFFSET,
  CONTROL_STOP,
  CONTROL_SWAP,
  CONTROL_WORDS,
  COUNTERS_OFFSET,
  COUNTER,
  COUNTER_COUNT,
  HANDLER_BASE,
  HANDLER_REGION_SIZE,
  TRAP_LIMIT,
} from './layout.js';

export interface WorkerQueue {
  queue: number;
  port: number;
  memory: WebAssembly.Memory;
}

export interface WorkerInput {
  queues: WorkerQueue[];
  handler: Handler;
  /** What to fall back to when no handler has proved good yet. */
  fallback: Handler;
  waiting: WaitPolicy;
  /** New handlers arrive here (the host sets CONTROL_SWAP after posting). */
  control: MessagePort;
  /** A restarted worker: the batch its predecessor was in cannot be trusted. */
  restarted: boolean;
}

/** How the loop waits when a turn found little or nothing to do. */
export interface WaitPolicy {
  /** Sleep in poll() when idle; else spin. */
  pollMode: boolean;
  /** Poll mode: after a wake-up with less than a full batch waiting, sleep this long first (0: off). */
  coalesceUs: number;
  batchMax: number;
  /** An eventfd in the poll set: the host rings it to end a sleep at once (a swap, a stop). */
  wakeFd: number;
  /** The CPU this worker is pinned to, or undefined to leave it to the scheduler. */
  cpu: number | undefined;
}

/** What a worker tells the host. */
export type WorkerMessage =
  | { type: 'ready'; counters: (CounterTable | undefined)[]; tid: number }
  | { type: 'swapped'; handler: Handler; counters: (CounterTable | undefined)[]; retired: Record<string, number>[] }
  | { type: 'good'; handler: Handler }
  | {
      type: 'fallback';
      handler: Handler;
      from: Handler;
      error: string;
      counters: (CounterTable | undefined)[];
      retired: Record<string, number>[];
    };

/** A sleeping worker still beats this often, for the host's watchdog (a swap or stop wakes it at once). */
const POLL_TIMEOUT_MS = 250;

interface Served {
  port: number;
  memory: WebAssembly.Memory;
  counters: BigUint64Array;
  batch: Batch;
  instance: HandlerInstance;
}

function run(input: WorkerInput): void {
  const {
    queues,
    waiting: { pollMode, coalesceUs, batchMax, wakeFd, cpu },
  } = input;
  const shim = loadShim();
  if (cpu !== undefined) {
    const err = shim.setAffinity(0, [cpu]);
    if (err !== 0)
      throw new Error(
        `cannot pin the worker of queues ${queues.map((q) => q.queue).join(',')} to CPU ${cpu} (errno ${err})`,
      );
  }
  const post = (msg: WorkerMessage) => parentPort!.postMessage(msg);
  let current = input.handler;
  let lastGood: Handler | undefined;
  let proved = false; // has current handled a batch without trapping?
  let traps = 0;

  // A new handler starts with a fresh region: its data segments, zeroed heap, no state of the old one.
  // Its pages go back to the kernel rather than being written with zeros: a fill(0) of 16 MiB
  // took 10-14 ms here, all of it a pause in the data path.
  const instantiateFresh = (handler: Handler, memory: WebAssembly.Memory) => {
    shim.discard(new Uint8Array(memory.buffer), HANDLER_BASE, HANDLER_REGION_SIZE);
    return instantiate(handler, memory);
  };
  const served: Served[] = queues.map(({ port, memory }) => ({
    port,
    memory,
    counters: new BigUint64Array(memory.buffer, COUNTERS_OFFSET, COUNTER_COUNT),
    batch: new Batch(memory),
    instance: instantiateFresh(current, memory),
  }));
  if (input.restarted) {
    for (const q of served) {
      if (shim.abortBatch(q.port) > 0) q.counters[COUNTER.handlerErrors]! += 1n;
    }
  }
  /** Puts a handler in every queue; returns what the old one had counted. */
  const replaceWith = (handler: Handler) => {
    const retired = served.map((q) => readCounters(q.instance.counters, q.memory));
    for (const q of served) q.instance = instantiateFresh(handler, q.memory);
    current = handler;
    proved = false;
    traps = 0;
    garbage.swapped();
    return { retired, counters: served.map((q) => q.instance.counters) };
  };

  const control = new Int32Array(queues[0]!.memory.buffer, CONTROL_OFFSET, CONTROL_WORDS);
  const ports = queues.map((q) => q.port);
  const garbage = new InstanceGarbage();
  post({ type: 'ready', counters: served.map((q) => q.instance.counters), tid: shim.gettid() });

  // Plain reads and writes of the control words, not Atomics: these are flags read again every
  // turn (the shim call in between keeps V8 from caching them), and Atomics builtins showed up
  // at ~2.5% of a flood's profile.
  let beat = 0;
  while (control[CONTROL_STOP] === 0) {
    control[CONTROL_HEARTBEAT] = ++beat;
    if (control[CONTROL_SWAP] !== 0) {
      // The flag can be seen before the message it announces: then look again next turn.
      const msg = receiveMessageOnPort(input.control)?.message as { handler: Handler } | undefined;
      if (msg) {
        control[CONTROL_SWAP] = 0;
        if (proved) lastGood = current;
        post({ type: 'swapped', handler: msg.handler, ...replaceWith(msg.handler) });
      }
    }
    // Busy: some queue had work, or with coalescing, a full batch (more is likely waiting).
    let busy = false;
    let received = false;
    for (const q of served) {
      const n = shim.step(q.port);
      if (n === 0) continue;
      received = true;
      if (coalesceUs === 0 || n >= batchMax) busy = true;
      try {
        q.instance.process(BATCH_OFFSET, n);
        traps = 0;
        if (!proved) {
          proved = true;
          post({ type: 'good', handler: current });
        }
      } catch (err) {
        // A trapping handler loses its batch, not the process: every frame goes back for RX.
        q.batch.dropAll(n);
        q.counters[COUNTER.handlerErrors]! += 1n;
        if (++traps >= TRAP_LIMIT) {
          const from = current;
          const to = lastGood && lastGood.hash !== current.hash ? lastGood : input.fallback;
          post({
            type: 'fallback',
            handler: to,
            from,
            error: String((err as Error).message ?? err),
            ...replaceWith(to),
          });
        }
      }
    }
    if (garbage.owed) garbage.collectWhenQuiet(received);
    if (!busy && pollMode) shim.wait(ports, POLL_TIMEOUT_MS, coalesceUs, wakeFd);
  }
  for (const q of served) shim.settle(q.port); // the last batch's verdicts, and no new RX
}

/**
 * The instances a swap replaced are garbage, but this loop allocates almost nothing, so no
 * collection would ever come to free them: about 5-9 KB and a memory mapping a swap, for
 * good. A scavenge right after the swap (about 0.15 ms) frees part; the rest lies in old
 * space and needs a full collection, which takes about 8 ms here: a pause in the data path.
 * So the full one waits for a quiet moment (no packet for QUIET_MS), and comes anyway after
 * FORCE_AFTER swaps under a load that never pauses. gc() is there because the host sets
 * --expose-gc before it starts workers (host/lib/gc.ts).
 */
class InstanceGarbage {
  static readonly QUIET_MS = 20;
  static readonly FORCE_AFTER = 64;
  private readonly gc = (globalThis as { gc?: (options?: { type: 'minor' }) => void }).gc;
  owed = 0;
  private lastPacketAt = 0;

  swapped(): void {
    this.gc?.({ type: 'minor' });
    this.owed++;
    this.lastPacketAt = performance.now();
  }

  collectWhenQuiet(received: boolean): void {
    const now = performance.now();
    if (received) this.lastPacketAt = now;
    if (now - this.lastPacketAt < InstanceGarbage.QUIET_MS && this.owed < InstanceGarbage.FORCE_AFTER) return;
    this.gc?.();
    this.owed = 0;
  }
}

run(workerData as WorkerInput);
