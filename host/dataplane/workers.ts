// The host's side of the worker threads: start one for a group of queues,
// hand it a new handler, watch its heartbeat, and restart it (same sockets,
// same memories) when a handler has it stuck in an endless loop.
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import '../lib/gc.js'; // workers get gc() only if --expose-gc is set before they start
import { CaptureLink } from './capture.js';
import type { CounterTable, Handler } from './handler.js';
import type { Handover } from './handover.js';
import { CONTROL_HEARTBEAT, CONTROL_OFFSET, CONTROL_STOP, CONTROL_SWAP, CONTROL_WORDS, TRAP_LIMIT } from './layout.js';
import { distFile } from '../lib/paths.js';
import { loadShim } from './shim.js';
import { PACKET_WORKER_HEAP } from './memory.js';
import type { Tagged, WaitPolicy, WorkerInput, WorkerMessage, WorkerQueue } from './worker.js';

/** How a worker waits; PacketWorker adds its own wake-up eventfd. */
export type WorkerPolicy = Omit<WaitPolicy, 'wakeFd'>;

const WORKER_PATH = distFile('dataplane/worker.js');
const START_TIMEOUT_MS = 10_000;
const SWAP_TIMEOUT_MS = 3000;

/** A swap taken: what became of the old handler's state, and how long the worker took no packet for it. */
export interface Swapped {
  handover: Handover;
  pauseMs: number;
}

export interface WorkerEvents {
  /** The handler now running on these queues changed (swap, fallback, restart). */
  running(
    worker: PacketWorker,
    handler: Handler,
    counters: (CounterTable | undefined)[],
    retired: Record<string, number>[],
  ): void;
  say(line: string): void;
}

export class PacketWorker {
  private worker!: Worker;
  private control!: MessagePort;
  private readonly words: Int32Array;
  private lastGood: Handler | undefined;
  /** The handlers this worker was given and may still name, by tag (see Tagged). */
  private readonly tagged = new Map<number, Handler>();
  private nextTag = 0;
  /** The newest tag the worker has taken: later ones are still on their way to it. */
  private lastTaken = -1;
  /** Swaps posted and not yet answered, by tag: a late answer settles its own swap, never a later one. */
  private readonly pendingSwaps = new Map<number, (outcome: Swapped | Error) => void>();
  private lastBeat = -1;
  private lastBeatAt = 0;
  /** The watchdog's restart in progress: stop() waits for it, so no worker outlives a stop. */
  private restarting: Promise<void> | undefined;
  private exited = false;
  private stopping: Promise<void> | undefined;
  private readonly wakeFd = loadShim().newWaker();
  private readonly waiting: WaitPolicy;
  /** Hands the worker capture rings (host/dataplane/capture.ts); kept across a restart. */
  readonly capture = new CaptureLink();
  /** The worker thread's id, once it runs: the host keeps its other threads off the worker's CPU. */
  tid: number | undefined;
  /** Set when the worker ended on its own; the data plane stops then. */
  onDeath: ((err: Error | undefined) => void) | undefined;

  constructor(
    readonly queues: WorkerQueue[],
    private current: Handler,
    private readonly fallback: Handler,
    policy: WorkerPolicy,
    private readonly events: WorkerEvents,
  ) {
    this.words = new Int32Array(queues[0]!.memory.buffer, CONTROL_OFFSET, CONTROL_WORDS);
    this.waiting = { ...policy, wakeFd: this.wakeFd };
    process.once('exit', this.askToStop);
  }

  /**
   * On any way out (process.exit from an error, a lost terminal) Node terminates the worker, but
   * V8 may only see that at a point the loop's steady state never reaches: the loop sees its stop
   * word every turn, so it is asked through that too, and leaves on its own.
   */
  private readonly askToStop = () => {
    Atomics.store(this.words, CONTROL_STOP, 1);
    loadShim().wake(this.wakeFd);
  };

  get handler(): Handler {
    return this.current;
  }

  private tag(handler: Handler): Tagged {
    const tag = this.nextTag++;
    this.tagged.set(tag, handler);
    return { ...handler, tag };
  }

  /** The handler behind a tag the worker sent, and forgetting those it no longer holds. */
  private taken(tag: number, holds: number[]): Handler {
    const handler = this.tagged.get(tag)!;
    this.lastTaken = Math.max(this.lastTaken, tag);
    for (const t of this.tagged.keys()) {
      if (t <= this.lastTaken && !holds.includes(t)) this.tagged.delete(t);
    }
    return handler;
  }

  /** Settles the swap that posted tag, if it still waits. */
  private settle(tag: number, outcome: Swapped | Error): void {
    this.pendingSwaps.get(tag)?.(outcome);
    this.pendingSwaps.delete(tag);
  }

  /** Starts the thread; resolves with the handler's counter tables once it serves. */
  start(restarted = false): Promise<(CounterTable | undefined)[]> {
    const channel = new MessageChannel();
    this.control = channel.port1;
    const capture = this.capture.connect();
    this.tagged.clear();
    const fallback = this.tag(this.fallback);
    const handler = this.tag(this.current);
    this.lastTaken = handler.tag;
    const input: WorkerInput = {
      queues: this.queues,
      handler,
      fallback,
      waiting: this.waiting,
      control: channel.port2,
      restarted,
      capture: capture.shared,
    };
    const transferList = [channel.port2, capture.transfer];
    this.worker = new Worker(WORKER_PATH, { workerData: input, transferList, resourceLimits: PACKET_WORKER_HEAP });
    this.exited = false;
    return new Promise((resolve, reject) => {
      // Only our own listeners come off later: removeAllListeners() would also take Node's
      // internal ones on the worker, and its messages would then wait for something else to wake us.
      const onError = (err: Error) => fail(err);
      const onExit = (code: number) => fail(new Error(`exit code ${code}`));
      const timer = setTimeout(() => fail(new Error(`no word from it in ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      const stopListening = () => {
        clearTimeout(timer);
        this.worker.off('error', onError);
        this.worker.off('exit', onExit);
      };
      // Rejects only once the thread is gone: the caller may then close the ports it was given.
      const fail = (err: Error) => {
        stopListening();
        void this.worker.terminate().finally(() => {
          this.exited = true;
          reject(new Error(`the packet worker failed to start: ${err.message}`));
        });
      };
      this.worker.once('error', onError);
      this.worker.once('exit', onExit);
      this.worker.once('message', (msg: WorkerMessage) => {
        stopListening();
        this.worker.on('message', (m: WorkerMessage) => this.onMessage(m));
        this.worker.once('error', (err) => this.died(err));
        const tid = msg.type === 'ready' ? msg.tid : undefined;
        this.worker.once('exit', () => {
          this.exited = true;
          // Terminated between a swap's setting the old region aside and dropping it, the thread left it.
          if (tid !== undefined) loadShim().dropAsidesOf(tid);
          this.died(undefined);
        });
        this.tid = tid;
        resolve(msg.type === 'ready' ? msg.counters : []);
      });
    });
  }

  private died(err: Error | undefined): void {
    if (!this.restarting && !this.stopRequested()) this.onDeath?.(err);
  }

  private onMessage(msg: WorkerMessage): void {
    switch (msg.type) {
      case 'good':
        this.lastGood = this.tagged.get(msg.tag);
        return;
      case 'swapped':
        this.current = this.taken(msg.tag, msg.holds);
        this.events.running(this, this.current, msg.counters, msg.retired);
        this.settle(msg.tag, { handover: msg.handover, pauseMs: msg.pauseMs });
        return;
      case 'refused':
        this.tagged.delete(msg.tag); // the worker never ran it, and holds it no more
        this.lastTaken = Math.max(this.lastTaken, msg.tag);
        this.settle(msg.tag, new Error(`queues ${this.queueNames()} kept ${this.current.path}: ${msg.error}`));
        return;
      case 'fallback': {
        const from = this.tagged.get(msg.from)!;
        this.current = this.taken(msg.tag, msg.holds);
        this.events.say(
          `Handler ${from.path} (${from.hash}) trapped in ${TRAP_LIMIT} batches in a row (${msg.error}); ` +
            `queues ${this.queueNames()} fell back to ${this.current.path} (${this.current.hash}).`,
        );
        this.events.running(this, this.current, msg.counters, msg.retired);
        return;
      }
      case 'ready':
        return;
    }
  }

  private queueNames(): string {
    return this.queues.map((q) => q.queue).join(',');
  }

  /**
   * Hands the worker a new handler; resolves once it runs it (between two batches), saying what
   * became of the old one's state and how long the data path paused. Rejects when the new one
   * failed with that state.
   */
  swap(handler: Handler): Promise<Swapped> {
    const tagged = this.tag(handler);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingSwaps.delete(tagged.tag);
        reject(new Error(`queues ${this.queueNames()} did not take the new handler within ${SWAP_TIMEOUT_MS} ms`));
      }, SWAP_TIMEOUT_MS);
      this.pendingSwaps.set(tagged.tag, (outcome) => {
        clearTimeout(timer);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      });
      this.control.postMessage({ handler: tagged });
      Atomics.store(this.words, CONTROL_SWAP, 1);
      loadShim().wake(this.wakeFd);
    });
  }

  /**
   * The watchdog: a worker whose heartbeat has not moved for stuckMs is in an
   * endless loop inside its handler. It is terminated (V8 interrupts wasm
   * loops) and started again on the same sockets with the last good handler.
   */
  async watch(now: number, stuckMs: number): Promise<void> {
    if (this.restarting) return;
    const beat = Atomics.load(this.words, CONTROL_HEARTBEAT);
    if (beat !== this.lastBeat) {
      this.lastBeat = beat;
      this.lastBeatAt = now;
      return;
    }
    if (now - this.lastBeatAt < stuckMs || this.stopRequested()) return;
    this.restarting = this.restart(stuckMs).finally(() => {
      this.lastBeatAt = now;
      this.restarting = undefined;
    });
    return this.restarting;
  }

  private stopRequested(): boolean {
    return Atomics.load(this.words, CONTROL_STOP) !== 0;
  }

  /**
   * The handler the worker is stuck in: the one of a swap it has taken (the flag cleared) and not
   * yet answered, starting or already running; else the current one.
   */
  private stuckIn(): { stuck: Handler; swapping: boolean } {
    const taken = Atomics.load(this.words, CONTROL_SWAP) === 0 ? [...this.pendingSwaps.keys()].at(-1) : undefined;
    const next = taken === undefined ? undefined : this.tagged.get(taken);
    return next ? { stuck: next, swapping: true } : { stuck: this.current, swapping: false };
  }

  /** A restart that fails, or comes after a stop was asked for, leaves no thread behind. */
  private async restart(stuckMs: number): Promise<void> {
    const { stuck, swapping } = this.stuckIn();
    await this.worker.terminate();
    if (this.stopRequested()) return;
    Atomics.store(this.words, CONTROL_SWAP, 0);
    for (const tag of [...this.pendingSwaps.keys()]) this.settle(tag, new Error('the worker was restarted'));
    // Stuck in a swap, the handler it was to replace had been serving: it serves on.
    if (!swapping || this.current.hash === stuck.hash)
      this.current = this.lastGood && this.lastGood.hash !== stuck.hash ? this.lastGood : this.fallback;
    let counters: (CounterTable | undefined)[];
    try {
      counters = await this.start(true);
    } catch (err) {
      this.onDeath?.(err as Error);
      return;
    }
    this.events.say(
      `Handler ${stuck.path} (${stuck.hash}) ran for over ${stuckMs} ms ${swapping ? 'as it was swapped in' : 'in one batch'}; ` +
        `the worker of queues ` +
        `${this.queueNames()} was restarted with ${this.current.path} (${this.current.hash}), same sockets.`,
    );
    this.events.running(
      this,
      this.current,
      counters,
      this.queues.map(() => ({})),
    );
  }

  /** Asks the worker to finish its last batch and exit; terminates it if it does not. Once, however often called. */
  stop(timeoutMs: number): Promise<void> {
    this.stopping ??= this.stopOnce(timeoutMs);
    return this.stopping;
  }

  private async stopOnce(timeoutMs: number): Promise<void> {
    process.removeListener('exit', this.askToStop);
    this.askToStop();
    await this.restarting; // then this.worker is the last thread there will be
    const exited = new Promise<void>((resolve) => {
      if (this.exited) resolve();
      this.worker.once('exit', () => resolve());
    });
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') await this.worker.terminate();
    this.control.close();
    this.capture.close();
    loadShim().closeWaker(this.wakeFd);
  }
}
