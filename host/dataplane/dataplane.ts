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
import { type CounterTable, type Handler, loadHandler, readCounters } from './handler.js';
import { type SlotEvents, WorkerSlot } from './workers.js';
import { interfaceConfig, writeInterfaceConfig } from './iface-config.js';
import { BATCH_OFFSET, COUNTER, COUNTERS_OFFSET, COUNTER_COUNT, UMEM_OFFSET, newMemory } from './layout.js';
import { claimInterface, recordOwnership, releaseInterface } from './ownership.js';
import { keepOffWorkerCpus } from './placement.js';
import { type AttachedProgram, type Shim, type XdpStatistics, loadShim } from './shim.js';
import { handlerFile } from '../lib/paths.js';

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
export type DataplaneSetting = 'frames' | 'frameSize' | 'ringSize' | 'batch' | 'xdpFlags' | 'bindFlags' | 'zeroCopy' | 'force'
  | 'pollMode' | 'coalesceUs' | 'verbose' | 'addrs' | 'hopLimit' | 'busyPollUs' | 'cpus' | 'admissionTargetUs';

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

export interface QueueStatus {
  queue: number;
  handler: string;
  hash: string;
  since: string;
}

const STOP_TIMEOUT_MS = 2000;
const { ENETDOWN } = constants.errno;
const osErrorName = (errno: number) => Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
const WATCHDOG_PERIOD_MS = 250;
/** A batch that takes longer than this is an endless loop. */
export const STUCK_MS = 1000;

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
    readonly opts: DataplaneOptions,
    readonly served: ServedQueue[],
    readonly program: AttachedProgram | undefined,
    private readonly slots: WorkerSlot[],
    private readonly undo: Undo,
  ) {
    this.watchdog = setInterval(() => {
      const now = performance.now();
      for (const slot of slots) void slot.watch(now, STUCK_MS);
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
      this.failed(`interface ${this.opts.ifname} ${what}: its AF_XDP socket (queue ${q.queue}) reports ${osErrorName(err)}`);
      return;
    }
  }

  static async start(opts: DataplaneOptions): Promise<Dataplane> {
    const shim = loadShim();
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
        const port = Dataplane.openPort(shim, opts, queue, memory, handle !== undefined);
        undo.add(() => shim.close(port));
        if (handle !== undefined) shim.bindToProgram(port, handle);
        if (handle !== undefined && opts.admissionTargetUs > 0) shim.admit(port, handle, opts.admissionTargetUs);
        served.push({
          queue, port, memory, counterView: new BigUint64Array(memory.buffer, COUNTERS_OFFSET, COUNTER_COUNT),
          handlerCounters: undefined, retired: {}, handler: opts.handler, since: new Date(),
        });
        // libxdp attached its default program with the first socket.
        program ??= recordOwnership(shim, opts.ifname);
      }
      Dataplane.showLog(shim, opts);
      const slots = await Dataplane.startWorkers(opts, served, undo);
      return new Dataplane(shim, opts, served, program, slots, undo);
    } catch (err) {
      Dataplane.showLog(shim, opts);
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
      const e = err as Error & { errno?: number; step?: string };
      const log = shim.takeLog();
      if (e.step === 'find xsks_map') {
        return Dataplane.fail(`${filename} has no XSKMAP named xsks_map, which AF_XDP needs to find its sockets; declare one (see bpf/xsks_map.h)`);
      }
      if (e.step === 'open the object') {
        const missing = log.find((l) => /find .*program|program .*not found|No such program/i.test(l)) ?? (progname && e.errno === 2);
        if (missing) return Dataplane.fail(`${filename} has no XDP program named '${progname}'; name one of its programs with --progname`);
        return Dataplane.fail(`cannot open ${filename} as a BPF object (${e.message}); build it with clang -target bpf`);
      }
      // libbpf hands over the verifier's log as one message of many lines; its last lines say why.
      const lines = log.flatMap((l) => l.split('\n')).map((l) => l.trim());
      const begin = lines.findLastIndex((l) => l.includes('BEGIN PROG LOAD LOG'));
      const end = lines.findIndex((l, i) => i > begin && /^--$|END PROG LOAD LOG/.test(l));
      const verifier = begin < 0 ? [] : lines.slice(begin + 1, end < 0 ? undefined : end).filter((l) => l !== '' && !/^processed \d+ insns/.test(l));
      const prog = progname || /prog '([^']+)'/.exec(lines[begin] ?? '')?.[1] || 'the program';
      if (verifier.length > 0 || e.errno === 13) {
        return Dataplane.fail(`the kernel's verifier refused ${prog} in ${filename} (${e.message}): ${verifier.slice(-2).join(' | ')}`);
      }
      const tail = lines.filter(Boolean).slice(-2).join(' | ');
      return Dataplane.fail(`cannot attach ${filename}: ${e.message}${tail ? `: ${tail}` : ''}`);
    }
  }

  private static fail(message: string): never {
    throw new UserError(message);
  }

  private static openPort(shim: Shim, opts: DataplaneOptions, queue: number, memory: WebAssembly.Memory, inhibit: boolean): number {
    try {
      return shim.open({
        ifname: opts.ifname, queue, memory: new Uint8Array(memory.buffer), umemOffset: UMEM_OFFSET,
        frameSize: opts.frameSize, frames: opts.frames, ringSize: opts.ringSize, batchOffset: BATCH_OFFSET,
        batchMax: opts.batch, countersOffset: COUNTERS_OFFSET, xdpFlags: opts.xdpFlags, bindFlags: opts.bindFlags,
        inhibitProgLoad: inhibit, busyPollUs: opts.busyPollUs,
      });
    } catch (err) {
      throw Dataplane.explain(err as Error & { errno?: number }, opts, queue);
    }
  }

  private static showLog(shim: Shim, opts: DataplaneOptions): void {
    const lines = shim.takeLog();
    if (opts.verbose) for (const line of lines) opts.say(`libxdp: ${line}`);
    else if (lines.some((l) => l.includes('Compatibility check for dispatcher program failed'))) {
      opts.say('Note: libxdp\'s multi-program dispatcher does not load on this kernel; the XDP program is attached on its own (--verbose shows why).');
    }
  }

  private static explain(err: Error & { errno?: number }, opts: DataplaneOptions, queue: number): Error {
    const { ifname } = opts;
    switch (err.errno) {
      case 95: // EOPNOTSUPP
        if (opts.zeroCopy) return new UserError(`${ifname} (driver ${driverOf(ifname)}) has no zero-copy AF_XDP; run without -z: copy mode (-c) works`);
        return new UserError(`${ifname} (driver ${driverOf(ifname)}) does not support AF_XDP in this mode (${err.message}); try -S (SKB mode)`);
      case 16: // EBUSY
        return new UserError(`queue ${queue} of ${ifname} is busy: another AF_XDP socket is bound to it`);
      case 22: // EINVAL
        return new UserError(`the kernel refused the socket on ${ifname} queue ${queue} (${err.message}); check --frame-size, --frames and the queue`);
      case 1: // EPERM
        return new UserError(`not permitted to create an AF_XDP socket (${err.message}): run as root, or with CAP_NET_ADMIN, CAP_BPF and CAP_IPC_LOCK`);
      default:
        return new UserError(`cannot serve ${ifname} queue ${queue}: ${err.message} (--verbose shows libxdp's own words)`);
    }
  }

  /**
   * One worker per queue, up to the number of cores (or of --cpu's CPUs, one each); beyond that
   * a worker serves several queues.
   */
  private static async startWorkers(opts: DataplaneOptions, served: ServedQueue[], undo: Undo): Promise<WorkerSlot[]> {
    const count = Math.min(served.length, opts.cpus?.length ?? availableParallelism());
    const groups: ServedQueue[][] = Array.from({ length: count }, () => []);
    served.forEach((q, i) => groups[i % count]!.push(q));
    const events: SlotEvents = {
      say: opts.say,
      running(slot, handler, counters, retired) {
        slot.queues.forEach((wq, i) => {
          const q = served.find((s) => s.port === wq.port)!;
          for (const [name, n] of Object.entries(retired[i] ?? {})) q.retired[name] = (q.retired[name] ?? 0) + n;
          q.handlerCounters = counters[i];
          q.handler = handler;
          q.since = new Date();
        });
      },
    };
    const fallback = loadHandler(handlerFile('drop.wasm'));
    const slots: WorkerSlot[] = [];
    for (const [i, group] of groups.entries()) {
      const slot = new WorkerSlot(group.map((q) => ({ queue: q.queue, port: q.port, memory: q.memory })), opts.handler, fallback,
        { pollMode: opts.pollMode, coalesceUs: opts.coalesceUs, batchMax: opts.batch, cpu: opts.cpus?.[i] }, events);
      const counters = await slot.start();
      undo.add(() => slot.stop(STOP_TIMEOUT_MS));
      group.forEach((q, i) => (q.handlerCounters = counters[i]));
      slots.push(slot);
    }
    if (opts.cpus) {
      const note = keepOffWorkerCpus(loadShim(), slots.map((s) => s.tid!), opts.cpus.slice(0, count));
      if (note) opts.say(note);
    }
    return slots;
  }

  /** Runs a new handler on every queue, between two batches; sockets, UMEM and XDP program stay. */
  async swap(handler: Handler): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.swap(handler)));
  }

  status(): QueueStatus[] {
    return this.served.map((q) => ({ queue: q.queue, handler: q.handler.path, hash: q.handler.hash, since: q.since.toISOString() }));
  }

  /** Counters of one served queue. */
  queueCounters(q: ServedQueue): Counters {
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
      for (const counts of [q.retired, readCounters(q.handlerCounters, q.memory)]) {
        for (const [name, n] of Object.entries(counts)) out[name] = (out[name] ?? 0) + n;
      }
    }
    return out;
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
    for (const slot of this.slots) slot.onDeath = (err) => this.failed!(`the packet worker died${err ? `: ${err.message}` : ''}`);
  }

  /** Stops the workers, settles and closes the ports, detaches our program. Returns the kernel's last statistics. */
  async stop(): Promise<XdpStatistics | undefined> {
    if (this.stopped) return undefined;
    clearInterval(this.watchdog);
    await Promise.all(this.slots.map((slot) => slot.stop(STOP_TIMEOUT_MS)));
    const stats = this.statistics();
    this.stopped = true;
    await this.undo.run();
    return stats;
  }
}
