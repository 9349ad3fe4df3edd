// The served interface: its XDP program, one AF_XDP port per served queue
// (each with its own wasm memory and UMEM), and the worker threads that run
// the loop. start() either returns a running data plane or leaves nothing
// behind.
//
// One UMEM per queue rather than one shared (xsk_socket__create_shared):
// each queue then has its own FILL/COMPLETION rings, free list and handler
// memory, so workers never share a ring or a lock, and a queue's frames can
// never be handed to another queue's handler.
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { availableParallelism } from 'node:os';
import { UserError } from '../lib/errors.js';
import { CaptureRing } from './capture.js';
import { type CounterTable, type Handler, loadHandler, readCounters } from './handler.js';
import { describeHandover } from './handover.js';
import { PacketWorker, type Swapped, type WorkerEvents } from './workers.js';
import { interfaceConfig, writeInterfaceConfig } from './iface-config.js';
import { BATCH_OFFSET, COUNTER, COUNTERS_OFFSET, COUNTER_COUNT, UMEM_OFFSET, newMemory } from './layout.js';
import { claimInterface, recordOwnership, releaseInterface } from './ownership.js';
import { keepOffWorkerCpus } from './placement.js';
import { keepMallocTrimmed } from './memory.js';
import { type AttachedProgram, type Shim, type XdpStatistics, loadShim } from './shim.js';
import { handlerFile } from '../lib/paths.js';
import { type FailureContext, describeFailure, errnoName, failureOf } from './errors.js';

export interface CustomProgram {
  filename: string;
  progname: string;
}

export interface DataplaneOptions {
  ifname: string;
  queues: number[];
  handler: Handler;
  /** A program of ours or the user's; undefined: libxdp's default program. */
  program: CustomProgram | undefined;
  frames: number;
  frameSize: number;
  ringSize: number;
  batch: number;
  xdpFlags: number;
  bindFlags: number;
  zeroCopy: boolean;
  force: boolean;
  pollMode: boolean;
  /** 0: off; else microseconds to let RX gather after a wake-up (implies pollMode). */
  coalesceUs: number;
  /** Lines for the user (stale program removed, ...). */
  say: (line: string) => void;
  /** libxdp/libbpf's own words, shown with --verbose. */
  verbose: boolean;
  addrs: string[];
  hopLimit: number;
  busyPollUs: number;
  /** --cpu: worker i runs alone on cpus[i]; Node's other threads keep off them. Undefined: no placement. */
  cpus: number[] | undefined;
  /** 0: off; else the RX queueing delay (us) the admission control holds (program xsk_fair). */
  admissionTargetUs: number;
}

/** The settings the command line passes through unchanged. */
export type DataplaneSetting =
  | 'frames'
  | 'frameSize'
  | 'ringSize'
  | 'batch'
  | 'xdpFlags'
  | 'bindFlags'
  | 'zeroCopy'
  | 'force'
  | 'pollMode'
  | 'coalesceUs'
  | 'verbose'
  | 'addrs'
  | 'hopLimit'
  | 'busyPollUs'
  | 'cpus'
  | 'admissionTargetUs';

export type Counters = Record<keyof typeof COUNTER, number>;

interface ServedQueue {
  queue: number;
  port: number;
  memory: WebAssembly.Memory;
  counterView: BigUint64Array;
  handlerCounters: CounterTable | undefined;
  /** Reasons counted by handlers this queue ran before the current one. */
  retired: Record<string, number>;
  handler: Handler;
  since: Date;
}

/** A capture running: each ring with the queues of its worker, in the worker's order. */
export interface LiveCapture {
  rings: { ring: CaptureRing; queues: number[] }[];
  end(): void;
}

export interface QueueReading {
  queue: number;
  counters: Counters;
  reasons: Record<string, number>;
  handler: Handler;
  since: Date;
  /** The kernel's XDP_STATISTICS of the queue's socket; undefined once stopped. */
  xdp: XdpStatistics | undefined;
}

export interface QueueStatus {
  queue: number;
  handler: string;
  hash: string;
  since: string;
}

const STOP_TIMEOUT_MS = 2000;
const { ENETDOWN } = constants.errno;
const WATCHDOG_PERIOD_MS = 250;
/** A batch that takes longer than this is an endless loop. */
export const STUCK_MS = 1000;

/**
 * A hook for tests of the failure paths: with AFXDP_TEST_FAIL=<point>, start() fails at that
 * point, as a real failure would. The one point: after-first-worker (a worker runs, the
 * others do not yet), where a failed start must stop that worker before closing its ports.
 */
const TEST_FAIL_POINTS = ['after-first-worker'] as const;
function failForTest(point: (typeof TEST_FAIL_POINTS)[number]): void {
  const wanted = process.env.AFXDP_TEST_FAIL;
  if (wanted === undefined || wanted === '') return;
  if (!(TEST_FAIL_POINTS as readonly string[]).includes(wanted)) {
    const points = TEST_FAIL_POINTS.join(', ');
    throw new UserError(`AFXDP_TEST_FAIL=${wanted} is not a failure point; use one of: ${points}, or unset it`);
  }
  if (wanted === point) throw new UserError(`start failed on purpose at ${point} (AFXDP_TEST_FAIL)`);
}

function driverOf(ifname: string): string {
  const out = spawnSync('ethtool', ['-i', ifname], { encoding: 'utf8' }).stdout ?? '';
  return /^driver: (\S+)/m.exec(out)?.[1] ?? 'unknown';
}

/**
 * Everything start() made so far, undone in reverse on failure or at stop. A step may be
 * asynchronous (stopping a worker): the next one waits for it, so a port is never closed
 * while a worker may still step it.
 */
class Undo {
  private steps: (() => void | Promise<void>)[] = [];
  add(step: () => void | Promise<void>): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    const steps = this.steps.reverse();
    this.steps = [];
    for (const step of steps) await step();
  }
}

export class Dataplane {
  private stopped = false;

  private readonly watchdog: NodeJS.Timeout;

  private constructor(
    private readonly shim: Shim,
    private readonly opts: DataplaneOptions,
    private readonly served: ServedQueue[],
    readonly program: AttachedProgram | undefined,
    private readonly workers: PacketWorker[],
    private readonly undo: Undo,
  ) {
    this.watchdog = setInterval(() => {
      const now = performance.now();
      for (const worker of workers) void worker.watch(now, STUCK_MS);
      this.checkSockets();
    }, WATCHDOG_PERIOD_MS).unref();
  }

  private failed: ((why: string) => void) | undefined;

  /**
   * The kernel tells an AF_XDP socket that its interface is gone (deleted, or its namespace
   * deleted) only through the socket's error, ENETDOWN: poll() stays silent on an unbound
   * socket, so a sleeping worker would never learn of it. One getsockopt per queue and period.
   */
  private checkSockets(): void {
    if (this.stopped || !this.failed) return;
    for (const q of this.served) {
      const err = this.shim.socketError(q.port);
      if (err === 0) continue;
      const what = err === ENETDOWN ? 'went away' : 'failed';
      this.failed(
        `interface ${this.opts.ifname} ${what}: its AF_XDP socket (queue ${q.queue}) reports ${errnoName(err)}`,
      );
      return;
    }
  }

  static async start(opts: DataplaneOptions): Promise<Dataplane> {
    const shim = loadShim();
    keepMallocTrimmed(shim);
    for (const line of claimInterface(shim, opts.ifname, opts.force)) opts.say(line);
    const undo = new Undo();
    try {
      let program: AttachedProgram | undefined;
      let handle: number | undefined;
      if (opts.program) {
        const loaded = Dataplane.loadProgram(shim, opts);
        handle = loaded.handle;
        undo.add(() => shim.closeProgram(loaded.handle));
        program = recordOwnership(shim, opts.ifname);
      }
      // Runs after every port is closed (undo runs in reverse), whichever program it is.
      undo.add(() => releaseInterface(shim, opts.ifname, program));
      const ifConfig = interfaceConfig(opts.ifname, opts.addrs, opts.hopLimit);
      const served: ServedQueue[] = [];
      for (const queue of opts.queues) {
        const memory = newMemory();
        writeInterfaceConfig(memory, ifConfig);
        const port = Dataplane.openPort(shim, opts, queue, memory, handle, undo);
        served.push({
          queue,
          port,
          memory,
          counterView: new BigUint64Array(memory.buffer, COUNTERS_OFFSET, COUNTER_COUNT),
          handlerCounters: undefined,
          retired: {},
          handler: opts.handler,
          since: new Date(),
        });
        // libxdp attached its default program with the first socket.
        program ??= recordOwnership(shim, opts.ifname);
      }
      Dataplane.showLog(opts, shim.takeLog());
      const workers = await Dataplane.startWorkers(opts, served, undo);
      return new Dataplane(shim, opts, served, program, workers, undo);
    } catch (err) {
      Dataplane.showLog(opts, shim.takeLog());
      await undo.run();
      // Whatever libxdp attached before failing goes too: we found the interface empty.
      const left = shim.xdpQuery(opts.ifname);
      if (left) shim.xdpDetach(opts.ifname, left.id, left.mode);
      throw err;
    }
  }

  private static loadProgram(shim: Shim, opts: DataplaneOptions) {
    const { filename, progname } = opts.program!;
    try {
      return shim.loadProgram(opts.ifname, filename, progname, opts.xdpFlags);
    } catch (err) {
      throw Dataplane.explain(shim, opts, err, {});
    }
  }

  /** Opens the port of one queue and, with a program of ours, enters it in the program's maps. */
  private static openPort(
    shim: Shim,
    opts: DataplaneOptions,
    queue: number,
    memory: WebAssembly.Memory,
    handle: number | undefined,
    undo: Undo,
  ): number {
    try {
      const port = shim.open({
        ifname: opts.ifname,
        queue,
        memory: new Uint8Array(memory.buffer),
        umemOffset: UMEM_OFFSET,
        frameSize: opts.frameSize,
        frames: opts.frames,
        ringSize: opts.ringSize,
        batchOffset: BATCH_OFFSET,
        batchMax: opts.batch,
        countersOffset: COUNTERS_OFFSET,
        xdpFlags: opts.xdpFlags,
        bindFlags: opts.bindFlags,
        inhibitProgLoad: handle !== undefined,
        busyPollUs: opts.busyPollUs,
      });
      undo.add(() => shim.close(port));
      if (handle !== undefined) shim.bindToProgram(port, handle);
      if (handle !== undefined && opts.admissionTargetUs > 0) shim.admit(port, handle, opts.admissionTargetUs);
      return port;
    } catch (err) {
      throw Dataplane.explain(shim, opts, err, { queue });
    }
  }

  private static showLog(opts: DataplaneOptions, lines: string[]): void {
    if (opts.verbose) for (const line of lines) opts.say(`libxdp: ${line}`);
    else if (lines.some((l) => l.includes('Compatibility check for dispatcher program failed'))) {
      opts.say(
        "Note: libxdp's multi-program dispatcher does not load on this kernel; " +
          'the XDP program is attached on its own (--verbose shows why).',
      );
    }
  }

  /** What the shim threw, as the user's one line (errors.ts); libxdp's words go to --verbose. Bugs pass unchanged. */
  private static explain(shim: Shim, opts: DataplaneOptions, err: unknown, at: Pick<FailureContext, 'queue'>): unknown {
    const failure = failureOf(shim, err);
    if (!failure) return err;
    if (opts.verbose) Dataplane.showLog(opts, failure.log);
    const { ifname, zeroCopy } = opts;
    const context: FailureContext = {
      ifname,
      zeroCopy,
      filename: opts.program?.filename,
      progname: opts.program?.progname,
      driver: () => driverOf(ifname),
      ...at,
    };
    return new UserError(describeFailure(failure, context));
  }

  /**
   * One worker per queue, up to the number of cores (or of --cpu's CPUs, one each); beyond that
   * a worker serves several queues.
   */
  private static async startWorkers(
    opts: DataplaneOptions,
    served: ServedQueue[],
    undo: Undo,
  ): Promise<PacketWorker[]> {
    const count = Math.min(served.length, opts.cpus?.length ?? availableParallelism());
    const groups: ServedQueue[][] = Array.from({ length: count }, () => []);
    served.forEach((q, i) => {
      groups[i % count]!.push(q);
    });
    const events: WorkerEvents = {
      say: opts.say,
      running(worker, handler, counters, retired) {
        worker.queues.forEach((wq, i) => {
          const q = served.find((s) => s.port === wq.port)!;
          for (const [name, n] of Object.entries(retired[i] ?? {})) q.retired[name] = (q.retired[name] ?? 0) + n;
          q.handlerCounters = counters[i];
          q.handler = handler;
          q.since = new Date();
        });
      },
    };
    const fallback = loadHandler(handlerFile('drop.wasm'));
    const workers: PacketWorker[] = [];
    for (const [i, group] of groups.entries()) {
      const worker = new PacketWorker(
        group.map((q) => ({ queue: q.queue, port: q.port, memory: q.memory })),
        opts.handler,
        fallback,
        { pollMode: opts.pollMode, coalesceUs: opts.coalesceUs, batchMax: opts.batch, cpu: opts.cpus?.[i] },
        events,
      );
      // Before it starts: a start that fails half-way still stops the thread before the ports close.
      undo.add(() => worker.stop(STOP_TIMEOUT_MS));
      const counters = await worker.start();
      group.forEach((q, i) => {
        q.handlerCounters = counters[i];
      });
      workers.push(worker);
      failForTest('after-first-worker');
    }
    if (opts.cpus) {
      const note = keepOffWorkerCpus(
        loadShim(),
        workers.map((s) => s.tid!),
        opts.cpus.slice(0, count),
      );
      if (note) opts.say(note);
    }
    return workers;
  }

  /**
   * Runs a new handler on every queue, between two batches; sockets, UMEM and XDP program stay.
   * Resolves with what became of the old handler's state (asm/CONTRACT.md, *Swaps*) and the
   * longest the data path paused for it.
   */
  async swap(handler: Handler): Promise<string> {
    const results = await Promise.allSettled(this.workers.map((worker) => worker.swap(handler)));
    const queuesOf = (i: number) => this.workers[i]!.queues.map((q) => q.queue);
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (refused.length > 0) {
      const took = results.flatMap((r, i) => (r.status === 'fulfilled' ? queuesOf(i) : []));
      throw new Error(refused.join('; ') + (took.length > 0 ? `; queues ${took.join(',')} took it` : ''));
    }
    const taken = results.map((r, i) => ({ queues: queuesOf(i), ...(r as PromiseFulfilledResult<Swapped>).value }));
    const pauseMs = Math.max(...taken.map((t) => t.pauseMs));
    return `${describeHandover(taken)}; the data path paused ${pauseMs.toFixed(2)} ms`;
  }

  /**
   * Starts a capture on the workers serving queue (all queues if undefined), with a ring of
   * bytes each (host/dataplane/capture.ts); end() turns it off again.
   */
  capture(queue: number | undefined, bytes: number): LiveCapture {
    const taps = this.workers
      .filter((w) => queue === undefined || w.queues.some((q) => q.queue === queue))
      .map((worker) => ({ worker, ring: new CaptureRing(bytes, queue ?? -1) }));
    for (const { worker, ring } of taps) worker.capture.begin(ring.buffer);
    return {
      rings: taps.map(({ worker, ring }) => ({ ring, queues: worker.queues.map((q) => q.queue) })),
      end: () => {
        for (const { worker } of taps) worker.capture.end();
      },
    };
  }

  /** The queues served, in order. */
  get queues(): number[] {
    return this.served.map((q) => q.queue);
  }

  status(): QueueStatus[] {
    return this.served.map((q) => ({
      queue: q.queue,
      handler: q.handler.path,
      hash: q.handler.hash,
      since: q.since.toISOString(),
    }));
  }

  /** Counters of one served queue. */
  private queueCounters(q: ServedQueue): Counters {
    const out = {} as Counters;
    for (const [name, index] of Object.entries(COUNTER)) out[name as keyof Counters] = Number(q.counterView[index]);
    return out;
  }

  /** Each queue's counters, when there is more than one. */
  perQueue(): { queue: number; counters: Counters }[] {
    return this.served.length > 1 ? this.served.map((q) => ({ queue: q.queue, counters: this.queueCounters(q) })) : [];
  }

  /** Counters summed over the served queues. */
  counters(): Counters {
    const out = {} as Counters;
    for (const name of Object.keys(COUNTER)) out[name as keyof Counters] = 0;
    for (const q of this.served) {
      const c = this.queueCounters(q);
      for (const name of Object.keys(c) as (keyof Counters)[]) out[name] += c[name];
    }
    return out;
  }

  /** The handlers' own per-reason counters, summed over the queues and over the handlers each ran. */
  reasons(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const q of this.served) {
      for (const [name, n] of Object.entries(this.queueReasons(q))) out[name] = (out[name] ?? 0) + n;
    }
    return out;
  }

  /** One queue's per-reason counters, over the handlers it ran. */
  private queueReasons(q: ServedQueue): Record<string, number> {
    const out: Record<string, number> = { ...q.retired };
    for (const [name, n] of Object.entries(readCounters(q.handlerCounters, q.memory))) out[name] = (out[name] ?? 0) + n;
    return out;
  }

  /**
   * Everything known of each served queue, read from the memory the workers write and from the
   * sockets, never by asking a worker: what the metrics export.
   */
  readings(): QueueReading[] {
    return this.served.map((q) => ({
      queue: q.queue,
      counters: this.queueCounters(q),
      reasons: this.queueReasons(q),
      handler: q.handler,
      since: q.since,
      xdp: this.stopped ? undefined : this.shim.statistics(q.port),
    }));
  }

  /** The kernel's XDP_STATISTICS, summed over the sockets. */
  statistics(): XdpStatistics | undefined {
    if (this.stopped) return undefined;
    const sum: Record<string, number> = {};
    for (const q of this.served) {
      for (const [k, v] of Object.entries(this.shim.statistics(q.port))) sum[k] = (sum[k] ?? 0) + v;
    }
    return sum as unknown as XdpStatistics;
  }

  /** Called once the data plane cannot go on (its interface went away, a worker died): the caller stops and reports. */
  onFailure(fn: (why: string) => void): void {
    let told = false;
    this.failed = (why) => {
      if (told) return;
      told = true;
      fn(why);
    };
    for (const worker of this.workers)
      worker.onDeath = (err) => this.failed!(`the packet worker died${err ? `: ${err.message}` : ''}`);
  }

  /** Stops the workers, settles and closes the ports, detaches our program. Returns the kernel's last statistics. */
  async stop(): Promise<XdpStatistics | undefined> {
    if (this.stopped) return undefined;
    clearInterval(this.watchdog);
    await Promise.all(this.workers.map((worker) => worker.stop(STOP_TIMEOUT_MS)));
    const stats = this.statistics();
    this.stopped = true;
    await this.undo.run();
    return stats;
  }
}
