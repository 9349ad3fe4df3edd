// What the hold's losses line up with, sampled every TICK_MS while it runs:
// the kernel's count of frames lost to an empty FILL ring, where the
// responder's frames are (free, FILL/RX, TX awaiting completion), how long its
// packet thread was off its CPU and the generator's sender waited on a run
// queue (/proc/.../schedstat), and the VM's steal time (/proc/stat).
//
// Each lossy tick is put down to the first that fits:
//   worker     the packet thread was held off its CPU (>= HELD_SHARE of each
//              tick) for a run of ticks adding up to at least half the time
//              the UMEM's frames last at the offered rate, ending in this tick
//              or the one before: a backlog of that size is what overflows;
//   generator  the generator waited on a run queue more than STALL_WAIT_MS in
//              this tick or the two before: it then catches up in a burst;
//   steal      the VM lost more than STALL_STEAL_MS to steal in them;
//   elsewhere  none of these.
// The packet thread's time off its CPU is the tick less its run time:
// schedstat adds a run-queue wait only once the wait is over, a tick late,
// while the run time is current (in the default spin mode the thread never
// sleeps, so off its CPU means held off it).
//
// Elsewhere means the thread was on its CPU and still fell a UMEM behind:
// each packet cost more than the rate allows. So the sampler also keeps the
// thread's user and system time (/proc/.../stat) and its batch sizes. In a
// saturated tick (nearly every batch more than half full: a backlog waits)
// the thread works flat out, and its time per packet is what a packet costs,
// split between ours (user: JavaScript, wasm, the shim's rings) and the
// kernel's (system: sendto, which on veth also runs the peer's receive of
// each reply). cost() compares the saturated ticks that led up to a loss
// with the others.
import { readFileSync, readdirSync } from 'node:fs';
import type { Counters } from '../../host/dataplane/dataplane.js';
import type { XdpStatistics } from '../../host/dataplane/shim.js';
import { request } from '../../host/control/client.js';
import { generatorPid } from '../helpers/traffic.js';
import { TICK_NS, cpuNs, cpuTimes } from './common.js';

export const TICK_MS = 50;
export const STALL_WAIT_MS = 10;
export const STALL_STEAL_MS = 10;
export const HELD_SHARE = 0.8;

export interface Tick {
  /** ms since the sampler started */
  t: number;
  fillEmpty: number;
  rxPackets: number;
  free: number;
  rxKernel: number;
  txKernel: number;
  /** the packet thread: ms of this tick off its CPU (null: thread not found) */
  workerOffMs: number | null;
  /** run-queue waits that ended in this tick, ms (null: thread not found) */
  workerWaitMs: number | null;
  genWaitMs: number | null;
  stealMs: number;
  /** the packet thread's user and system time in this tick, ms (null: thread not found) */
  workerUserMs: number | null;
  workerSysMs: number | null;
  batches: number;
  /** batches of more than half the batch limit */
  fullBatches: number;
}

/** A thread's time on its CPU and run-queue wait so far, ns; undefined once it is gone. */
function schedstat(path: string): { ran: number; waited: number } | undefined {
  try {
    const [ran, waited] = readFileSync(path, 'utf8').split(' ').map(Number);
    return { ran: ran!, waited: waited! };
  } catch {
    return undefined;
  }
}

/** The busiest thread of pid over `ms`: the packet thread, which spins (or works) while the others sleep. */
export async function busiestThread(pid: number, ms = 300): Promise<number> {
  const tids = readdirSync(`/proc/${pid}/task`).map(Number);
  const before = tids.map((t) => cpuNs(`/proc/${pid}/task/${t}/stat`));
  await new Promise((resolve) => setTimeout(resolve, ms));
  let best = pid;
  let most = -1;
  tids.forEach((t, i) => {
    try {
      const used = cpuNs(`/proc/${pid}/task/${t}/stat`) - before[i]!;
      if (used > most) [best, most] = [t, used];
    } catch {
      // gone
    }
  });
  return best;
}

/** A thread's user and system time so far, ns; undefined once it is gone. */
function threadTimes(stat: string): { user: number; sys: number } | undefined {
  try {
    return cpuTimes(stat);
  } catch {
    return undefined;
  }
}

const stealNs = () => Number(readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/)[8]) * TICK_NS;

interface Sample {
  at: number;
  counters: Counters;
  xdp: XdpStatistics;
  worker: { ran: number; waited: number } | undefined;
  workerTimes: { user: number; sys: number } | undefined;
  gen: { ran: number; waited: number } | undefined;
  steal: number;
}

export class HoldSampler {
  readonly ticks: Tick[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last: Sample | undefined;
  private readonly t0 = performance.now();
  private genTask: string | undefined;
  private busy = false;

  constructor(
    private readonly socket: string,
    private readonly workerTask: string,
    private readonly netns: string,
    /** The batch histogram's buckets that count batches of more than half the limit. */
    private readonly fullBuckets: (keyof Counters)[],
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
  }

  stop(): Tick[] {
    clearInterval(this.timer);
    return this.ticks;
  }

  private async sample(): Promise<Sample | undefined> {
    if (this.genTask === undefined) {
      const pid = generatorPid(this.netns);
      if (pid !== undefined) this.genTask = `/proc/${pid}/task/${pid}/schedstat`;
    }
    const reply = (await request(this.socket, { cmd: 'stats' })) as unknown as {
      ok: boolean;
      counters: Counters;
      xdp: XdpStatistics | null;
    };
    if (!reply.ok || !reply.xdp) return undefined;
    return {
      at: performance.now(),
      counters: reply.counters,
      xdp: reply.xdp,
      worker: schedstat(`${this.workerTask}/schedstat`),
      workerTimes: threadTimes(`${this.workerTask}/stat`),
      gen: this.genTask === undefined ? undefined : schedstat(this.genTask),
      steal: stealNs(),
    };
  }

  private async tick(): Promise<void> {
    if (this.busy) return; // an answer late by a tick: the next tick spans both
    this.busy = true;
    try {
      const now = await this.sample().catch(() => undefined);
      if (!now) return;
      const was = this.last;
      this.last = now;
      if (!was) return;
      const waited = (a: Sample['gen'], b: Sample['gen']) => (a && b ? (b.waited - a.waited) / 1e6 : null);
      const off = (a: Sample['gen'], b: Sample['gen']) =>
        a && b ? Math.max(0, now.at - was.at - (b.ran - a.ran) / 1e6) : null;
      this.ticks.push({
        t: now.at - this.t0,
        fillEmpty: now.xdp.rx_fill_ring_empty_descs - was.xdp.rx_fill_ring_empty_descs,
        rxPackets: now.counters.rxPackets - was.counters.rxPackets,
        free: now.counters.framesFree,
        rxKernel: now.counters.framesRxKernel,
        txKernel: now.counters.framesTxKernel,
        workerOffMs: off(was.worker, now.worker),
        workerWaitMs: waited(was.worker, now.worker),
        genWaitMs: waited(was.gen, now.gen),
        stealMs: (now.steal - was.steal) / 1e6,
        workerUserMs: was.workerTimes && now.workerTimes ? (now.workerTimes.user - was.workerTimes.user) / 1e6 : null,
        workerSysMs: was.workerTimes && now.workerTimes ? (now.workerTimes.sys - was.workerTimes.sys) / 1e6 : null,
        batches: now.counters.batches - was.counters.batches,
        fullBatches: this.fullBuckets.reduce((sum, b) => sum + now.counters[b] - was.counters[b], 0),
      });
    } finally {
      this.busy = false;
    }
  }
}

export interface Attribution {
  ticks: number;
  lossyTicks: number;
  /** How long the UMEM's frames last at the offered rate, ms. */
  umemMs: number;
  /** FILL-empty losses by what they line up with (see the top of the file). */
  lost: { worker: number; generator: number; steal: number; elsewhere: number };
  /** The packet thread's longest run of ticks held off its CPU, ms. */
  longestHeldMs: number;
  worstGenWaitMs: number;
  worstStealMs: number;
}

type Cause = keyof Attribution['lost'];

/** Splits the FILL-empty losses by what they line up with; see the top of the file. */
export function attribute(ticks: Tick[], frames: number, rate: number): Attribution {
  const umemMs = (frames / rate) * 1000;
  // held[i]: ms of the run of held-off ticks ending at tick i (0 if tick i is not one)
  const held: number[] = [];
  ticks.forEach((k, i) => {
    const off = k.workerOffMs ?? 0;
    const tickMs = i > 0 ? k.t - ticks[i - 1]!.t : TICK_MS;
    held.push(off >= HELD_SHARE * tickMs ? (held[i - 1] ?? 0) + off : 0);
  });
  const recent = (i: number, n: number) => ticks.slice(Math.max(0, i - n + 1), i + 1);
  const cause = (i: number): Cause => {
    if (Math.max(held[i]!, held[i - 1] ?? 0) >= umemMs / 2) return 'worker';
    if (recent(i, 3).some((k) => (k.genWaitMs ?? 0) > STALL_WAIT_MS)) return 'generator';
    if (recent(i, 3).some((k) => k.stealMs > STALL_STEAL_MS)) return 'steal';
    return 'elsewhere';
  };
  const lost = { worker: 0, generator: 0, steal: 0, elsewhere: 0 };
  ticks.forEach((k, i) => {
    if (k.fillEmpty > 0) lost[cause(i)] += k.fillEmpty;
  });
  const worst = (f: (k: Tick) => number | null) => Math.max(0, ...ticks.map((k) => f(k) ?? 0));
  return {
    ticks: ticks.length,
    lossyTicks: ticks.filter((k) => k.fillEmpty > 0).length,
    umemMs,
    lost,
    longestHeldMs: Math.max(0, ...held),
    worstGenWaitMs: worst((k) => k.genWaitMs),
    worstStealMs: worst((k) => k.stealMs),
  };
}

/** What a packet cost the packet thread, µs, over some saturated ticks. */
export interface PacketCost {
  ticks: number;
  packets: number;
  userUs: number;
  sysUs: number;
}

export interface Cost {
  /** Saturated ticks within LEAD_TICKS before a lossy one, the lossy one included. */
  beforeLoss: PacketCost;
  /** The other saturated ticks. */
  otherwise: PacketCost;
  /** What the offered rate allows a packet, µs. */
  budgetUs: number;
}

const LEAD_TICKS = 10;
const SATURATED = 0.9;

/** A packet's cost in saturated ticks, those that led up to a loss apart from the rest; see the top. */
export function cost(ticks: Tick[], rate: number): Cost {
  const lossy = ticks.map((k) => k.fillEmpty > 0);
  const leadsToLoss = (i: number) => lossy.slice(i, i + LEAD_TICKS + 1).some(Boolean);
  const sum = (picked: Tick[]): PacketCost => {
    const packets = picked.reduce((n, k) => n + k.rxPackets, 0);
    const per = (f: (k: Tick) => number | null) => (picked.reduce((ms, k) => ms + (f(k) ?? 0), 0) * 1000) / packets;
    return { ticks: picked.length, packets, userUs: per((k) => k.workerUserMs), sysUs: per((k) => k.workerSysMs) };
  };
  const saturated = ticks
    .map((k, i) => ({ k, i }))
    .filter(({ k }) => k.batches > 0 && k.fullBatches >= SATURATED * k.batches && k.workerUserMs !== null);
  return {
    beforeLoss: sum(saturated.filter(({ i }) => leadsToLoss(i)).map(({ k }) => k)),
    otherwise: sum(saturated.filter(({ i }) => !leadsToLoss(i)).map(({ k }) => k)),
    budgetUs: 1e6 / rate,
  };
}
