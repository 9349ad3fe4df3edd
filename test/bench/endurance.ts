// Long runs that short tests cannot show:
//   soak  10,000 ctl swaps under a paced load: the responder's memory (RSS and
//         memory mappings) after warm-up and at the end, and the swap latency
//   hold  60 s paced at 80% of the defaults' flood figure: what was lost, and
//         where (admission control's drops; the kernel's XDP_STATISTICS say
//         whether FILL ran dry), and
//         what the losses line up with, tick by tick (hold-sampler.ts): the
//         packet thread held off its CPU, the generator held off its own, steal.
//         The generator catches up at most --catch-up ms after a stall and
//         reports what it gave up, apart from what the responder lost.
import { readFileSync } from 'node:fs';
import type { EnvState } from '../../host/testenv/state.js';
import { startAfxdp } from '../helpers/afxdp.js';
import { type GenJson, genAsync } from '../helpers/traffic.js';
import type { PaceResult } from '../../host/tools/gen/generator.js';
import { median, quantile } from './common.js';
import { C_SPIN, DEFAULTS, measure, withResponder } from './online.js';
import { controlSocket } from '../../host/lib/paths.js';
import { askControl } from '../helpers/afxdp.js';
import { swapFiles } from './swaps.js';
import type { Counters } from '../../host/dataplane/dataplane.js';
import {
  type Attribution,
  type Cost,
  HoldSampler,
  type PacketCost,
  STALL_STEAL_MS,
  STALL_WAIT_MS,
  TICK_MS,
  type Tick,
  attribute,
  busiestThread,
  cost,
} from './hold-sampler.js';

const SOAK_LOAD_SECONDS = 120;
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
const mappings = (pid: number) => readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').length - 1;

/** Where resident memory lies, in kB, told apart by the shape of its mappings (/proc/PID/smaps). */
export interface MemoryParts {
  /** Anonymous mappings of exactly 256 KiB: V8's heap pages (both threads). */
  v8PagesKb: number;
  /** glibc's arenas: [heap] (the main one), and anonymous mappings starting on a 64 MiB boundary (one per thread). */
  mallocKb: number;
  /** Everything else: code, stacks, wasm memories, V8's wasm code space. */
  otherKb: number;
}

const ARENA_ALIGN = 64n * 1024n * 1024n;
function memoryParts(pid: number): MemoryParts {
  const parts = { v8PagesKb: 0, mallocKb: 0, otherKb: 0 };
  let part: keyof MemoryParts = 'otherKb';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(\S*)/.exec(line);
    if (head) {
      const [start, end, name] = [BigInt(`0x${head[1]}`), BigInt(`0x${head[2]}`), head[3]];
      const anonymous = name === '';
      if (anonymous && end - start === 256n * 1024n) part = 'v8PagesKb';
      else if (name === '[heap]' || (anonymous && start % ARENA_ALIGN === 0n && end - start <= ARENA_ALIGN))
        part = 'mallocKb';
      else part = 'otherKb';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) parts[part] += Number(rss[1]);
  }
  return parts;
}

const sample = (pid: number) => ({ rss: rssKb(pid), maps: mappings(pid), parts: memoryParts(pid) });

export interface SoakResult {
  swaps: number;
  warmUp: number;
  loadPps: number;
  rssStartKb: number;
  rssWarmKb: number;
  rssEndKb: number;
  growthAfterWarmUpKb: number;
  /** growthAfterWarmUpKb by where it lies. */
  growthParts: MemoryParts;
  mapsStart: number;
  mapsWarm: number;
  mapsEnd: number;
  swapMedianMs: number;
  swapP99Ms: number;
  swapMaxMs: number;
  replyRatio: number;
}

/** args: the responder's options (e.g. ['-p'] or ['--cpu', '1']). */
export async function soakBench(
  env: EnvState,
  swaps = 10_000,
  warmUp = 1000,
  loadPps = 50_000,
  args: string[] = [],
): Promise<SoakResult> {
  const files = swapFiles();
  const r = startAfxdp(['-d', env.name, '-q', '--handler', files[0]!, ...args]);
  try {
    await r.ready();
    const pid = r.child.pid!;
    const start = sample(pid);
    let warm = start;
    const times: number[] = [];
    // The load runs for a fixed time and stops by itself; the swaps stop early if it ends first.
    const load: Promise<GenJson> = genAsync(env, [], '--rate', String(loadPps), '--seconds', String(SOAK_LOAD_SECONDS));
    let gen: GenJson | undefined;
    void load.then((g) => (gen = g));
    for (let i = 0; i < swaps && gen === undefined; i++) {
      if (i === warmUp) warm = sample(pid);
      const t0 = performance.now();
      const reply = await askControl(controlSocket(env.name), { cmd: 'swap', path: files[(i + 1) % 2]! });
      if (!reply.ok) throw new Error(`swap ${i} failed: ${reply.error}`);
      times.push(performance.now() - t0);
    }
    const end = sample(pid);
    await r.stop('SIGTERM');
    const g = await load;
    const out: SoakResult = {
      swaps: times.length,
      warmUp,
      loadPps,
      rssStartKb: start.rss,
      rssWarmKb: warm.rss,
      rssEndKb: end.rss,
      growthAfterWarmUpKb: end.rss - warm.rss,
      growthParts: {
        v8PagesKb: end.parts.v8PagesKb - warm.parts.v8PagesKb,
        mallocKb: end.parts.mallocKb - warm.parts.mallocKb,
        otherKb: end.parts.otherKb - warm.parts.otherKb,
      },
      mapsStart: start.maps,
      mapsWarm: warm.maps,
      mapsEnd: end.maps,
      swapMedianMs: quantile(times, 0.5),
      swapP99Ms: quantile(times, 0.99),
      swapMaxMs: Math.max(...times),
      replyRatio: g.sent ? g.replies / g.sent : 0,
    };
    console.log(
      `\nSoak: ${out.swaps} swaps under a paced ${loadPps / 1000}k/s load (${args.join(' ') || 'defaults'}):`,
    );
    console.log(
      `  RSS ${out.rssStartKb} kB at start, ${out.rssWarmKb} kB after ${warmUp} swaps, ${out.rssEndKb} kB at the end: ` +
        `${(out.growthAfterWarmUpKb / 1024).toFixed(1)} MB after warm-up (target < 2 MB); memory mappings ${out.mapsStart} / ${out.mapsWarm} / ${out.mapsEnd}`,
    );
    const mb = (kb: number) => `${kb >= 0 ? '+' : ''}${(kb / 1024).toFixed(2)} MB`;
    console.log(
      `  the growth after warm-up by where it lies: V8 heap pages ${mb(out.growthParts.v8PagesKb)}, ` +
        `malloc arenas ${mb(out.growthParts.mallocKb)}, the rest ${mb(out.growthParts.otherKb)}`,
    );
    console.log(
      `  swap latency median ${out.swapMedianMs.toFixed(2)} ms, p99 ${out.swapP99Ms.toFixed(2)} ms, max ${out.swapMaxMs.toFixed(1)} ms; ` +
        `replies/requests ${out.replyRatio.toFixed(4)} (the load stops only after the swaps)`,
    );
    return out;
  } finally {
    await r.kill();
  }
}

export interface HoldResult {
  args: string[];
  genArgs: string[];
  asked: number;
  offered: number;
  replyRatio: number;
  lost: number;
  xdp: Record<string, number> | null;
  pace: PaceResult | null;
  attribution: Attribution;
  packetCost: Cost;
  ticks: Tick[];
}

/** A hold's load: the paced generator on CPU 0 for seconds at rate, with genArgs. */
function pacedLoad(env: EnvState, rate: number, seconds: number, genArgs: string[]): Promise<GenJson> {
  return genAsync(
    env,
    ['taskset', '-c', '0'],
    '--rate',
    String(Math.round(rate)),
    '--seconds',
    String(seconds),
    ...genArgs,
  );
}

/**
 * 60 s at `rate` against afxdp-wasm with args (the generator's: genArgs): how much is lost, the
 * kernel's word on where, and what it lines up with.
 */
export async function holdBench(
  env: EnvState,
  rate: number,
  seconds = 60,
  args: string[] = [],
  genArgs: string[] = [],
): Promise<HoldResult> {
  const r = startAfxdp(['-d', env.name, '-q', '--json', '--interval', '3600', ...args]);
  try {
    await r.ready();
    const worker = await busiestThread(r.child.pid!);
    const sampler = new HoldSampler(
      controlSocket(env.name),
      `/proc/${r.child.pid}/task/${worker}`,
      env.name,
      fullBuckets(args),
    );
    const load = pacedLoad(env, rate, seconds, genArgs);
    sampler.start();
    const g = await load;
    const ticks = sampler.stop();
    await r.stop('SIGTERM');
    const xdp = r.exit?.xdp ?? null;
    const attribution = attribute(ticks, r.exit?.counters.framesTotal ?? NaN, g.rate);
    const packetCost = cost(ticks, g.rate);
    const out = {
      args,
      genArgs,
      pace: g.pace,
      asked: rate,
      offered: g.rate,
      replyRatio: g.sent ? g.replies / g.sent : 0,
      lost: g.lost,
      xdp,
      attribution,
      packetCost,
      ticks,
    };
    console.log(
      `\nHold: ${seconds} s paced at ${(rate / 1e6).toFixed(3)} M/s asked, ${(g.rate / 1e6).toFixed(3)} M/s sent ` +
        `(${args.join(' ') || 'defaults'}${genArgs.length ? `; gen ${genArgs.join(' ')}` : ''}): reply ratio ${out.replyRatio.toFixed(5)}, ${g.lost} lost; ` +
        `admission control dropped ${r.exit?.counters.admissionDropped ?? '?'}; kernel: ` +
        `rx_fill_ring_empty_descs ${xdp?.rx_fill_ring_empty_descs ?? '?'}, rx_dropped ${xdp?.rx_dropped ?? '?'}, ` +
        `rx_ring_full ${xdp?.rx_ring_full ?? '?'}`,
    );
    console.log(attributionText(attribution));
    console.log(costText(packetCost));
    if (g.pace) console.log(paceText(g.pace));
    return out;
  } finally {
    await r.kill();
  }
}

/** The histogram's buckets that count batches of more than half the batch limit (--batch, else 256). */
function fullBuckets(args: string[]): (keyof Counters)[] {
  const at = args.indexOf('--batch');
  const limit = at >= 0 ? Number(args[at + 1]) : 256;
  const buckets: (keyof Counters)[] = [];
  for (let size = 1; size <= 2048; size *= 2) if (size > limit / 2) buckets.push(`batchUpTo${size}` as keyof Counters);
  return buckets;
}

function costText(c: Cost): string {
  const each = (p: PacketCost) =>
    p.packets > 0
      ? `${(p.userUs + p.sysUs).toFixed(2)} us (user ${p.userUs.toFixed(2)}, system ${p.sysUs.toFixed(2)}) over ${p.ticks} ticks`
      : 'no such ticks';
  return (
    `  a packet's cost to the packet thread where it worked flat out (saturated ticks), against the ` +
    `${c.budgetUs.toFixed(2)} us the rate allows: before a loss ${each(c.beforeLoss)}; otherwise ${each(c.otherwise)}`
  );
}

function paceText(p: PaceResult): string {
  return (
    `  generator: ${p.stalls} times further behind its schedule than it may catch up, worst ${p.worstLagMs.toFixed(1)} ms; ` +
    `${p.skipped} requests given up (not sent, not counted as lost)`
  );
}

function attributionText(a: Attribution): string {
  const { worker, generator, steal, elsewhere } = a.lost;
  return (
    `  lost, by what they line up with (${a.lossyTicks} of ${a.ticks} ticks of ${TICK_MS} ms lossy): ${worker} after ` +
    `the packet thread was held off its CPU for >= ${(a.umemMs / 2).toFixed(0)} ms (half the ${a.umemMs.toFixed(0)} ms ` +
    `the UMEM lasts at this rate), ${generator} after the generator waited > ${STALL_WAIT_MS} ms (then caught up), ` +
    `${steal} after steal > ${STALL_STEAL_MS} ms, ${elsewhere} elsewhere; longest the packet thread was held off: ` +
    `${a.longestHeldMs.toFixed(0)} ms, the generator's worst wait in a tick ${a.worstGenWaitMs.toFixed(0)} ms, ` +
    `worst steal ${a.worstStealMs.toFixed(0)} ms`
  );
}

/** The defaults' flood figure: the median of 3 floods. */
async function floodFigure(env: EnvState, seconds: number): Promise<number> {
  const floods: number[] = [];
  for (let i = 0; i < 3; i++) floods.push((await measure(env, DEFAULTS, seconds, 'live')).replies);
  const flood = median(floods);
  console.log(
    `\nThe defaults' flood figure: ${(flood / 1e6).toFixed(3)} M/s (median of ${floods.map((f) => (f / 1e6).toFixed(3)).join(', ')})`,
  );
  return flood;
}

/** The defaults' flood figure (median of 3), then the soak and the holds at 80% of it, with and without --cpu. */
export async function enduranceBench(env: EnvState, seconds: number, holdSeconds = 60) {
  const flood = await floodFigure(env, seconds);
  const soak = await soakBench(env);
  const holds: HoldResult[] = [];
  for (const args of [[], ['--cpu', '1']]) holds.push(await holdBench(env, 0.8 * flood, holdSeconds, args));
  return { flood, soak, holds };
}

/**
 * --hold: the flood figure, then `rounds` holds at `share` of it (BENCH_HOLD_SHARE, default 0.8), the
 * settings in BENCH_HOLD_SETTINGS interleaved, each round ending with the C responder.
 */
export async function holdRounds(env: EnvState, seconds: number, holdSeconds: number, rounds: number) {
  const share = Number(process.env.BENCH_HOLD_SHARE ?? 0.8);
  const flood = await floodFigure(env, seconds);
  // Each setting: the responder's options | the generator's, e.g. '|;--no-fair|' (the default: admission
  // control against none) or '|--catch-up 0;|' (the generator's catch-up unbounded against bounded).
  const settings = (process.env.BENCH_HOLD_SETTINGS ?? '|;--no-fair|').split(';').map((setting) => {
    const [args = '', genArgs = ''] = setting.split('|');
    return { args: args.split(' ').filter(Boolean), genArgs: genArgs.split(' ').filter(Boolean) };
  });
  const holds: HoldResult[] = [];
  const baselines: CHold[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const { args, genArgs } of settings)
      holds.push(await holdBench(env, share * flood, holdSeconds, args, genArgs));
    baselines.push(await cHold(env, share * flood, holdSeconds, settings[0]!.genArgs));
  }
  return { flood, share, holds, baselines };
}

interface CHold {
  offered: number;
  lost: number;
  lossRatio: number;
}

/**
 * The baseline of a hold: the C AF_XDP responder (test/bench/xsk_echo.c, the same frame and ring
 * sizes) at the same rate from the same generator (with genArgs). What it loses is lost without
 * JavaScript, wasm or our refill policy in the path.
 */
async function cHold(env: EnvState, rate: number, seconds: number, genArgs: string[]): Promise<CHold> {
  const g = await withResponder(env, C_SPIN, () => pacedLoad(env, rate, seconds, genArgs));
  const out = { offered: g.rate, lost: g.lost, lossRatio: g.sent ? g.lost / g.sent : NaN };
  const gen = genArgs.length ? `gen ${genArgs.join(' ')}` : "the generator's defaults";
  console.log(
    `Baseline: ${C_SPIN.name}, ${seconds} s at the same rate (${gen}): ${(g.rate / 1e6).toFixed(3)} M/s sent, ` +
      `${out.lost} lost (${(out.lossRatio * 100).toFixed(2)}%)`,
  );
  return out;
}
