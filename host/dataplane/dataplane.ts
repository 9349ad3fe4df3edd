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
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { UserError } from '../lib/errors.js';
import { type CounterTable, type Handler, readCounters } from './handler.js';
import { interfaceConfig, writeInterfaceConfig } from './iface-config.js';
import {
  BATCH_OFFSET, CONTROL_OFFSET, CONTROL_STOP, CONTROL_WORDS, COUNTER, COUNTERS_OFFSET, COUNTER_COUNT, UMEM_OFFSET, newMemory,
} from './layout.js';
import { claimInterface, recordOwnership, releaseInterface } from './ownership.js';
import { type AttachedProgram, type Shim, type XdpStatistics, loadShim, projectRoot } from './shim.js';
import type { ReadyMessage, WorkerInput, WorkerQueue } from './worker.js';

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
  /** Lines for the user (stale program removed, ...). */
  say: (line: string) => void;
  /** libxdp/libbpf's own words, shown with --verbose. */
  verbose: boolean;
  addrs: string[];
  hopLimit: number;
}

export type Counters = Record<keyof typeof COUNTER, number>;

interface ServedQueue {
  queue: number;
  port: number;
  memory: WebAssembly.Memory;
  counterView: BigUint64Array;
  handlerCounters: CounterTable | undefined;
}

const STOP_TIMEOUT_MS = 2000;
const WORKER_PATH = join(projectRoot(), 'dist', 'dataplane', 'worker.js');

function driverOf(ifname: string): string {
  const out = spawnSync('ethtool', ['-i', ifname], { encoding: 'utf8' }).stdout ?? '';
  return /^driver: (\S+)/m.exec(out)?.[1] ?? 'unknown';
}

/** Everything start() made so far, undone in reverse on failure or at stop. */
class Undo {
  private steps: (() => void)[] = [];
  add(step: () => void): void {
    this.steps.push(step);
  }
  run(): void {
    for (const step of this.steps.reverse()) step();
    this.steps = [];
  }
}

export class Dataplane {
  private stopped = false;

  private constructor(
    private readonly shim: Shim,
    readonly opts: DataplaneOptions,
    readonly served: ServedQueue[],
    readonly program: AttachedProgram | undefined,
    private readonly workers: Worker[],
    private readonly undo: Undo,
  ) {}

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
        served.push({ queue, port, memory, counterView: new BigUint64Array(memory.buffer, COUNTERS_OFFSET, COUNTER_COUNT), handlerCounters: undefined });
        // libxdp attached its default program with the first socket.
        program ??= recordOwnership(shim, opts.ifname);
      }
      Dataplane.showLog(shim, opts);
      const workers = await Dataplane.spawnWorkers(opts, served, undo);
      return new Dataplane(shim, opts, served, program, workers, undo);
    } catch (err) {
      Dataplane.showLog(shim, opts);
      undo.run();
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
        return Dataplane.fail(`${filename} has no XSKMAP named xsks_map, which AF_XDP needs to find its sockets; declare one (see bpf/xsk_steer.c)`);
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
        inhibitProgLoad: inhibit,
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

  /** One worker per queue, up to the number of cores; beyond that a worker serves several queues. */
  private static async spawnWorkers(opts: DataplaneOptions, served: ServedQueue[], undo: Undo): Promise<Worker[]> {
    const count = Math.min(served.length, availableParallelism());
    const groups: ServedQueue[][] = Array.from({ length: count }, () => []);
    served.forEach((q, i) => groups[i % count]!.push(q));
    // Each worker's stop flag lives in its first queue's memory.
    undo.add(() => served.forEach((q) => Atomics.store(new Int32Array(q.memory.buffer, CONTROL_OFFSET, CONTROL_WORDS), CONTROL_STOP, 1)));
    const workers: Worker[] = [];
    for (const group of groups) {
      const queues: WorkerQueue[] = group.map((q) => ({ port: q.port, memory: q.memory }));
      const { worker, counters } = await Dataplane.spawnWorker({ queues, handler: opts.handler, pollMode: opts.pollMode });
      undo.add(() => void worker.terminate());
      group.forEach((q, i) => (q.handlerCounters = counters[i]));
      workers.push(worker);
    }
    return workers;
  }

  private static spawnWorker(input: WorkerInput): Promise<{ worker: Worker; counters: (CounterTable | undefined)[] }> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_PATH, { workerData: input });
      const fail = (err: Error) => {
        void worker.terminate();
        reject(err instanceof UserError ? err : new Error(`the packet worker failed to start: ${err.message}`));
      };
      worker.once('error', fail);
      worker.once('exit', (code) => fail(new Error(`exit code ${code}`)));
      worker.once('message', (msg: ReadyMessage) => {
        worker.removeAllListeners();
        resolve({ worker, counters: msg.counters });
      });
    });
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

  /** The handler's own per-reason counters, summed over the queues. */
  reasons(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const q of this.served) {
      for (const [name, n] of Object.entries(readCounters(q.handlerCounters, q.memory))) out[name] = (out[name] ?? 0) + n;
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

  /** Called when a worker dies on its own (a bug): the caller stops and reports. */
  onWorkerExit(fn: (err: Error | undefined) => void): void {
    for (const worker of this.workers) {
      worker.once('error', (err) => fn(err));
      worker.once('exit', () => fn(undefined));
    }
  }

  /** Stops the workers, settles and closes the ports, detaches our program. Returns the kernel's last statistics. */
  async stop(): Promise<XdpStatistics | undefined> {
    if (this.stopped) return undefined;
    for (const q of this.served) Atomics.store(new Int32Array(q.memory.buffer, CONTROL_OFFSET, CONTROL_WORDS), CONTROL_STOP, 1);
    await Promise.all(this.workers.map(async (worker) => {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS).unref());
      if ((await Promise.race([exited, timeout])) === 'timeout') await worker.terminate();
    }));
    const stats = this.statistics();
    this.stopped = true;
    this.undo.run();
    return stats;
  }
}
