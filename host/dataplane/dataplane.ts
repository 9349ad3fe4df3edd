// One served queue: the wasm memory with the UMEM inside it, the AF_XDP port
// in the shim, the XDP program, and the worker thread that runs the loop.
// start() either returns a running data plane or leaves nothing behind.
import { spawnSync } from 'node:child_process';
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
import type { ReadyMessage, WorkerInput } from './worker.js';

export interface DataplaneOptions {
  ifname: string;
  queue: number;
  handler: Handler;
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

const STOP_TIMEOUT_MS = 2000;
const WORKER_PATH = join(projectRoot(), 'dist', 'dataplane', 'worker.js');

function driverOf(ifname: string): string {
  const out = spawnSync('ethtool', ['-i', ifname], { encoding: 'utf8' }).stdout ?? '';
  return /^driver: (\S+)/m.exec(out)?.[1] ?? 'unknown';
}

export class Dataplane {
  private readonly control: Int32Array;
  private readonly counterView: BigUint64Array;
  private stopped = false;

  private constructor(
    private readonly shim: Shim,
    readonly opts: DataplaneOptions,
    readonly memory: WebAssembly.Memory,
    private readonly port: number,
    readonly program: AttachedProgram | undefined,
    private readonly worker: Worker,
    private readonly handlerCounters: CounterTable | undefined,
  ) {
    this.control = new Int32Array(memory.buffer, CONTROL_OFFSET, CONTROL_WORDS);
    this.counterView = new BigUint64Array(memory.buffer, COUNTERS_OFFSET, COUNTER_COUNT);
  }

  static async start(opts: DataplaneOptions): Promise<Dataplane> {
    const shim = loadShim();
    for (const line of claimInterface(shim, opts.ifname, opts.force)) opts.say(line);
    const memory = newMemory();
    writeInterfaceConfig(memory, interfaceConfig(opts.ifname, opts.addrs, opts.hopLimit));
    let port: number;
    try {
      port = shim.open({
        ifname: opts.ifname, queue: opts.queue, memory: new Uint8Array(memory.buffer), umemOffset: UMEM_OFFSET,
        frameSize: opts.frameSize, frames: opts.frames, ringSize: opts.ringSize, batchOffset: BATCH_OFFSET,
        batchMax: opts.batch, countersOffset: COUNTERS_OFFSET, xdpFlags: opts.xdpFlags, bindFlags: opts.bindFlags,
        inhibitProgLoad: false,
      });
    } catch (err) {
      Dataplane.showLog(shim, opts);
      // Whatever libxdp attached before failing goes too: we found the interface empty.
      const left = shim.xdpQuery(opts.ifname);
      if (left) shim.xdpDetach(opts.ifname, left.id, left.mode);
      throw Dataplane.explain(err as Error & { errno?: number }, opts);
    }
    const program = recordOwnership(shim, opts.ifname);
    Dataplane.showLog(shim, opts);
    try {
      const { worker, counters } = await Dataplane.spawnWorker({ port, memory, handler: opts.handler, pollMode: opts.pollMode });
      return new Dataplane(shim, opts, memory, port, program, worker, counters);
    } catch (err) {
      shim.close(port);
      releaseInterface(shim, opts.ifname, program);
      throw err;
    }
  }

  private static showLog(shim: Shim, opts: DataplaneOptions): void {
    const lines = shim.takeLog();
    if (opts.verbose) for (const line of lines) opts.say(`libxdp: ${line}`);
    else if (lines.some((l) => l.includes('Compatibility check for dispatcher program failed'))) {
      opts.say('Note: libxdp\'s multi-program dispatcher does not load on this kernel; the XDP program is attached on its own (--verbose shows why).');
    }
  }

  private static explain(err: Error & { errno?: number }, opts: DataplaneOptions): Error {
    const { ifname } = opts;
    switch (err.errno) {
      case 95: // EOPNOTSUPP
        if (opts.zeroCopy) return new UserError(`${ifname} (driver ${driverOf(ifname)}) has no zero-copy AF_XDP; run without -z: copy mode (-c) works`);
        return new UserError(`${ifname} (driver ${driverOf(ifname)}) does not support AF_XDP in this mode (${err.message}); try -S (SKB mode)`);
      case 16: // EBUSY
        return new UserError(`queue ${opts.queue} of ${ifname} is busy: another AF_XDP socket is bound to it`);
      case 22: // EINVAL
        return new UserError(`the kernel refused the socket on ${ifname} queue ${opts.queue} (${err.message}); check --frame-size, --frames and the queue`);
      case 1: // EPERM
        return new UserError(`not permitted to create an AF_XDP socket (${err.message}): run as root, or with CAP_NET_ADMIN, CAP_BPF and CAP_IPC_LOCK`);
      default:
        return new UserError(`cannot serve ${ifname} queue ${opts.queue}: ${err.message} (--verbose shows libxdp's own words)`);
    }
  }

  private static spawnWorker(input: WorkerInput): Promise<{ worker: Worker; counters: CounterTable | undefined }> {
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

  counters(): Counters {
    const out = {} as Counters;
    for (const [name, index] of Object.entries(COUNTER)) out[name as keyof Counters] = Number(this.counterView[index]);
    return out;
  }

  /** The handler's own per-reason counters. */
  reasons(): Record<string, number> {
    return readCounters(this.handlerCounters, this.memory);
  }

  statistics(): XdpStatistics | undefined {
    return this.stopped ? undefined : this.shim.statistics(this.port);
  }

  /** Called when the worker dies on its own (a bug): the caller stops and reports. */
  onWorkerExit(fn: (err: Error | undefined) => void): void {
    this.worker.once('error', (err) => fn(err));
    this.worker.once('exit', () => fn(undefined));
  }

  /** Stops the worker, settles and closes the port, detaches our program. Returns the kernel's last statistics. */
  async stop(): Promise<XdpStatistics | undefined> {
    if (this.stopped) return undefined;
    Atomics.store(this.control, CONTROL_STOP, 1);
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS).unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') await this.worker.terminate();
    const stats = this.shim.statistics(this.port);
    this.shim.close(this.port);
    this.stopped = true;
    releaseInterface(this.shim, this.opts.ifname, this.program);
    return stats;
  }
}
