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
import { type CaptureShared, CaptureTap } from './capture.js';
import { type CounterTable, type Handler, type HandlerInstance, instantiate, readCounters } from './handler.js';
import { type Blob, type Handover, type RegionKeeper, handOver, offeredState, shimKeeper } from './handover.js';
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

/**
 * A handler as the host hands it over, with the host's tag for it. The worker names handlers to
 * the host by tag only: a Module sent back would be cloned into a new wrapper (and script) on the
 * host's heap at every swap.
 */
export type Tagged = Handler & { tag: number };

export interface WorkerInput {
  queues: WorkerQueue[];
  handler: Tagged;
  /** What to fall back to when no handler has proved good yet. */
  fallback: Tagged;
  waiting: WaitPolicy;
  /** New handlers arrive here (the host sets CONTROL_SWAP after posting). */
  control: MessagePort;
  /** A restarted worker: the batch its predecessor was in cannot be trusted. */
  restarted: boolean;
  capture: CaptureShared;
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

/** What a worker tells the host; handlers by tag, with `holds` the tags it may still run (current, last good). */
export type WorkerMessage =
  | { type: 'ready'; counters: (CounterTable | undefined)[]; tid: number }
  | {
      type: 'swapped';
      tag: number;
      holds: number[];
      handover: Handover;
      /** How long the worker took no packet for the swap. */
      pauseMs: number;
      counters: (CounterTable | undefined)[];
      retired: Record<string, number>[];
    }
  /** The new handler failed with the old one's state: the old one serves on, with it. */
  | { type: 'refused'; tag: number; error: string }
  | { type: 'good'; tag: number }
  | {
      type: 'fallback';
      tag: number;
      from: number;
      holds: number[];
      error: string;
      counters: (CounterTable | undefined)[];
      retired: Record<string, number>[];
    };

interface IncomingSwap {
  handler: Tagged;
  pauseMs: number;
}

/** A sleeping worker still beats this often, for the host's watchdog (a swap or stop wakes it at once). */
const POLL_TIMEOUT_MS = 250;

interface Served {
  port: number;
  memory: WebAssembly.Memory;
  counters: BigUint64Array;
  batch: Batch;
  instance: HandlerInstance;
}

type Replaced = {
  retired: Record<string, number>[];
  counters: (CounterTable | undefined)[];
  /** The tags the worker may still run (current and last good): the host forgets the others. */
  holds: number[];
};

/** One worker's loop over its queues; see the top of this file. */
class PacketLoop {
  private readonly shim = loadShim();
  private readonly served: Served[];
  private readonly ports: number[];
  private readonly control: Int32Array;
  private readonly garbage = new InstanceGarbage();
  /** Regions a swap replaced: freed at the end of the turn after it, not inside its pause. */
  private readonly replacedRegions: number[] = [];
  private freeRegionsAfterTurns = 0;
  private readonly keeper: RegionKeeper = {
    ...shimKeeper(this.shim),
    dropAside: (aside) => {
      this.replacedRegions.push(aside);
      this.freeRegionsAfterTurns = 2;
    },
  };
  /** A swap's message, taken one turn before the handler is replaced, with the pause taking it cost. */
  private incoming: IncomingSwap | undefined;
  private readonly capture: CaptureTap;
  /** answer() for the capture to call: made once, since a closure over the loop's q and n would cost every batch. */
  private readonly answerOne = (q: Served, n: number) => this.answer(q, n);
  private current: Tagged;
  private lastGood: Tagged | undefined;
  /** Has the current handler answered a batch without trapping? */
  private proved = false;
  private traps = 0;

  constructor(private readonly input: WorkerInput) {
    const { queues, waiting } = input;
    if (waiting.cpu !== undefined) this.pin(waiting.cpu);
    this.current = input.handler;
    this.capture = new CaptureTap(input.capture);
    this.served = queues.map(({ port, memory }) => ({
      port,
      memory,
      counters: new BigUint64Array(memory.buffer, COUNTERS_OFFSET, COUNTER_COUNT),
      batch: new Batch(memory),
      instance: this.instantiateFresh(input.handler, memory),
    }));
    this.ports = queues.map((q) => q.port);
    this.control = new Int32Array(queues[0]!.memory.buffer, CONTROL_OFFSET, CONTROL_WORDS);
    // A restarted worker's predecessor was cut inside a batch: its verdicts cannot be trusted.
    if (input.restarted) {
      for (const q of this.served) if (this.shim.abortBatch(q.port) > 0) q.counters[COUNTER.handlerErrors]! += 1n;
    }
  }

  private pin(cpu: number): void {
    const err = this.shim.setAffinity(0, [cpu]);
    if (err === 0) return;
    const queues = this.input.queues.map((q) => q.queue).join(',');
    throw new Error(`cannot pin the worker of queues ${queues} to CPU ${cpu} (errno ${err})`);
  }

  /**
   * A new handler starts with a fresh region: its data segments, zeroed heap, no state of the old one.
   * The region's pages go back to the kernel rather than being written with zeros: a fill(0) of
   * 16 MiB took 10-14 ms here, all of it a pause in the data path.
   */
  private instantiateFresh(handler: Handler, memory: WebAssembly.Memory): HandlerInstance {
    this.shim.discard(new Uint8Array(memory.buffer), HANDLER_BASE, HANDLER_REGION_SIZE);
    return instantiate(handler, memory);
  }

  private retiredCounts(): Record<string, number>[] {
    return this.served.map((q) => readCounters(q.instance.counters, q.memory));
  }

  /**
   * Tries handler in every queue, on a fresh region, with the old instances' state if given.
   * Returns what the old ones had counted, or why it was refused: then the old ones serve on,
   * and the last good handler stays what it was.
   */
  private replaceWith(handler: Tagged, blobs: Blob[] | undefined, lastGood: Tagged | undefined): Replaced | string {
    const retired = this.retiredCounts(); // before the region moves aside
    const instances = handOver(this.served, handler, blobs, this.keeper);
    if (typeof instances === 'string') {
      this.garbage.swapped(); // the new instances that failed
      return instances;
    }
    this.served.forEach((q, i) => {
      q.instance = instances[i]!;
    });
    this.current = handler;
    this.lastGood = lastGood;
    this.proved = false;
    this.traps = 0;
    this.garbage.swapped();
    const holds = [handler.tag, this.input.fallback.tag];
    if (this.lastGood) holds.push(this.lastGood.tag);
    return { retired, counters: this.served.map((q) => q.instance.counters), holds };
  }

  /** Settles every port's last batch: its replies go out before a pause. */
  private flushAll(): void {
    for (let i = 0; i < this.served.length; i++) this.shim.flush(this.served[i]!.port);
  }

  /**
   * A swap takes two turns, each a pause with no reply going out, with a batch served between
   * them: in the first the new handler's message is taken off the port, once the host has set
   * CONTROL_SWAP; in the next the handler is replaced. The longer pause is reported with it.
   */
  private receiveSwap(): void {
    this.flushAll();
    const started = performance.now();
    // The flag can be seen before the message it announces: then look again next turn.
    const msg = receiveMessageOnPort(this.input.control)?.message as { handler: Tagged } | undefined;
    if (!msg) return;
    this.control[CONTROL_SWAP] = 0;
    this.incoming = { handler: msg.handler, pauseMs: performance.now() - started };
  }

  private takeSwap(incoming: IncomingSwap): void {
    this.flushAll();
    const started = performance.now();
    this.incoming = undefined;
    const next = incoming.handler;
    const offered = offeredState(this.served, this.current, next);
    const blobs = typeof offered === 'string' ? undefined : offered;
    const replaced = this.replaceWith(next, blobs, this.proved ? this.current : this.lastGood);
    if (typeof replaced === 'string') {
      post({ type: 'refused', tag: next.tag, error: replaced });
      return;
    }
    const handover = blobs ? { bytes: blobs.reduce((sum, b) => sum + b.len, 0) } : { fresh: offered as string };
    const pauseMs = Math.max(incoming.pauseMs, performance.now() - started);
    post({ type: 'swapped', tag: next.tag, handover, pauseMs, ...replaced });
  }

  private freeReplacedRegions(): void {
    while (this.replacedRegions.length > 0) this.shim.dropAside(this.replacedRegions.pop()!);
  }

  /** Hands q's batch of n to its handler. A trapping handler loses its batch, not the process. */
  private answer(q: Served, n: number): void {
    try {
      q.instance.process(BATCH_OFFSET, n);
      this.traps = 0;
      if (!this.proved) {
        this.proved = true;
        post({ type: 'good', tag: this.current.tag });
      }
    } catch (err) {
      q.batch.dropAll(n); // every frame goes back for RX
      q.counters[COUNTER.handlerErrors]! += 1n;
      if (++this.traps >= TRAP_LIMIT) this.fallBack(String((err as Error).message ?? err));
    }
  }

  /** The last good handler comes back, fresh; if even it cannot start, the fallback (drop), which always can. */
  private fallBack(error: string): void {
    const from = this.current;
    const { fallback } = this.input;
    let to = this.lastGood && this.lastGood.hash !== from.hash ? this.lastGood : fallback;
    let replaced = this.replaceWith(to, undefined, this.lastGood);
    if (typeof replaced === 'string' && to !== fallback) {
      to = fallback;
      replaced = this.replaceWith(to, undefined, this.lastGood);
    }
    if (typeof replaced === 'string') throw new Error(`the fallback handler failed: ${replaced}`);
    post({ type: 'fallback', tag: to.tag, from: from.tag, error, ...replaced });
  }

  run(): void {
    const { pollMode, coalesceUs, batchMax, wakeFd } = this.input.waiting;
    post({ type: 'ready', counters: this.served.map((q) => q.instance.counters), tid: this.shim.gettid() });
    // Plain reads and writes of the control words, not Atomics: these are flags read again every
    // turn (the shim call in between keeps V8 from caching them), and Atomics builtins showed up
    // at ~2.5% of a flood's profile.
    let beat = 0;
    while (this.control[CONTROL_STOP] === 0) {
      this.control[CONTROL_HEARTBEAT] = ++beat;
      if (this.incoming) this.takeSwap(this.incoming);
      else if (this.control[CONTROL_SWAP] !== 0) this.receiveSwap();
      // Busy: some queue had work, or with coalescing, a full batch (more is likely waiting).
      let busy = false;
      let received = false;
      // An index, not for...of: here the iterator was not optimised away, and the garbage it left
      // brought a 1.5-2 ms scavenge every two seconds or so under load (the tail of every row of
      // bench --latency); with the index the worker allocates nothing in steady state (--trace-gc).
      for (let i = 0; i < this.served.length; i++) {
        const q = this.served[i]!;
        const n = this.shim.step(q.port);
        if (n === 0) continue;
        received = true;
        if (coalesceUs === 0 || n >= batchMax) busy = true;
        if (this.capture.on) this.capture.around(q, i, n, this.answerOne);
        else this.answer(q, n);
      }
      if (this.replacedRegions.length > 0 && --this.freeRegionsAfterTurns <= 0) this.freeReplacedRegions();
      if (this.garbage.owed) this.garbage.collectWhenQuiet(received);
      // A swap half taken finishes next turn, not after a sleep.
      if (!busy && pollMode && !this.incoming) this.shim.wait(this.ports, POLL_TIMEOUT_MS, coalesceUs, wakeFd);
    }
    for (const q of this.served) this.shim.drain(q.port); // the last batch's verdicts, and no new RX
    this.freeReplacedRegions();
  }
}

const post = (msg: WorkerMessage) => parentPort!.postMessage(msg);

/**
 * The instances a swap replaced are garbage, but this loop allocates almost nothing, so no
 * collection would ever come to free them: about 5-9 KB and a memory mapping a swap, for
 * good. Most lies in old space and needs a full collection, which takes about 8 ms here: a
 * pause in the data path. So it waits for a quiet moment (no packet for QUIET_MS), and comes
 * anyway after FORCE_AFTER swaps under a load that never pauses. No scavenge at the swap
 * itself: it freed only the young part, and its 0.15-0.3 ms came on top of the swap's own
 * pause (the packets' longest wait); the full collection takes the young part too. gc() is
 * there because the host sets --expose-gc before it starts workers (host/lib/gc.ts).
 */
class InstanceGarbage {
  static readonly QUIET_MS = 20;
  static readonly FORCE_AFTER = 64;
  private readonly gc = (globalThis as { gc?: () => void }).gc;
  owed = 0;
  private lastPacketAt = 0;

  swapped(): void {
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

new PacketLoop(workerData as WorkerInput).run();
