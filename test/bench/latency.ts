// npm run bench -- --latency: round-trip times under load, every responder on
// one test environment, pinned the way a user would pin: the generator (and
// the probe) on CPU 0, a responder's process on CPU 1; the kernel and the
// XDP_TX ceiling answer in softirq and are not pinned.
//   peak     the loss-free peak of afxdp-wasm defaults, from a paced sweep
//   points   every responder at 10%, 50% and 90% of that peak (paced) and at
//            2x and 5x (paced where the generator can, else flat out with
//            live frames, at whatever rate reaches the responder)
//   each     the generator's RTT percentiles of its own stamped requests,
//            and a ping stream beside the load from another source address
//   swaps    the generator's RTT during 20 ctl swaps at 300 k/s, against
//            the same run without swaps
import { spawn } from 'node:child_process';
import type { EnvState } from '../../host/testenv/state.js';
import { INNER_IF, outerAddr } from '../../host/testenv/state.js';
import { run as runCmd } from '../../host/lib/exec.js';
import { type Latency, genAsync, macOf } from '../helpers/traffic.js';
import { outerRx, quantile } from './common.js';
import {
  C_SPIN,
  COALESCE,
  DEFAULTS,
  KERNEL,
  LESSON,
  type Load,
  POLL,
  type Responder,
  XDP_TX,
  withResponder,
} from './online.js';
import { type Target, lossFreePeak, targetTable } from './targets.js';
import { controlSocket } from '../../host/lib/paths.js';
import { askControl, type Running, sleep } from '../helpers/afxdp.js';
import { swapFiles } from './swaps.js';
import { type Axes, type Series, svgPlot } from './plot.js';

const GEN_CPU = '0';
const RESPONDER_CPU = '1';
const pinned = (r: Responder): Responder => ({ ...r, taskset: RESPONDER_CPU });

export const LATENCY_ROWS: Responder[] = [
  KERNEL,
  pinned(DEFAULTS),
  pinned(POLL),
  pinned(COALESCE),
  pinned(LESSON),
  // No taskset for --cpu: it pins the worker itself and moves Node's other threads off that core.
  { name: 'afxdp-wasm, --cpu 1 (spin)', args: ['--cpu', RESPONDER_CPU] },
  { name: 'afxdp-wasm, -p --cpu 1', args: ['-p', '--cpu', RESPONDER_CPU] },
  { name: 'afxdp-wasm, --no-fair --cpu 1 (spin)', args: ['--no-fair', '--cpu', RESPONDER_CPU] },
  { name: 'afxdp-wasm, -p --no-fair --cpu 1', args: ['-p', '--no-fair', '--cpu', RESPONDER_CPU] },
  pinned(C_SPIN),
  XDP_TX,
];

const PROBE_SOURCE = 'fd00:fa1::3';
const PROBE = { count: 400, intervalS: 0.01, startMs: 1000, id: '2989' }; // id: not the generator's (0x6e6)
const PROBE_MS = PROBE.startMs + PROBE.count * PROBE.intervalS * 1000;
const FRACTIONS = [0.1, 0.5, 0.9, 2, 5];
/** The issue's paced point for the tail targets, run beside the fractions. */
const PACED_RATE = 100_000;
const LOSS_FREE = 0.999;
const SWAPS = { count: 20, gapMs: 150, rate: 300_000 };

export interface Ping {
  sent: number;
  received: number;
  loss: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}
export interface Point {
  responder: string;
  /** What was asked: fractions of the peak this point stands for (several where they fell back to the same flood). */
  asked: number[];
  load: Load;
  offered: number;
  replies: number;
  ratio: number;
  gen: Latency | null;
  lost: number | null;
  ping: Ping | null;
}

/**
 * A second source on the inner side, in a /64 of its own: another flow for --fair, which tells
 * IPv6 sources apart by /64. The outer side gets a route and a permanent neighbour entry for it,
 * so the kernel's own stack answers it as well.
 */
function addProbeSource(env: EnvState): string {
  const addr = PROBE_SOURCE;
  runCmd(['ip', '-n', env.name, 'addr', 'add', `${addr}/64`, 'dev', INNER_IF, 'nodad']);
  runCmd(['ip', 'route', 'add', `${addr}/128`, 'dev', env.name]);
  runCmd(['ip', 'neigh', 'add', addr, 'lladdr', macOf(env, true), 'dev', env.name, 'nud', 'permanent']);
  return addr;
}

/** ping -6 every 10 ms from src to the outer address, pinned with the generator; rtt of each reply. */
function probe(env: EnvState, src: string): Promise<Ping> {
  const argv = [
    'ip',
    'netns',
    'exec',
    env.name,
    'taskset',
    '-c',
    GEN_CPU,
    'ping',
    '-6',
    '-n',
    '-e',
    PROBE.id,
    '-W',
    '1',
    '-i',
    String(PROBE.intervalS),
    '-c',
    String(PROBE.count),
    '-I',
    src,
    outerAddr(env),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', reject);
    child.once('close', () => {
      const rtts = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!m) return reject(new Error(`ping printed no summary: ${out.slice(-300)}`));
      const sent = Number(m[1]);
      const received = Number(m[2]);
      resolve({
        sent,
        received,
        loss: sent ? 1 - received / sent : 1,
        p50Us: quantile(rtts, 0.5),
        p99Us: quantile(rtts, 0.99),
        maxUs: quantile(rtts, 1),
      });
    });
  });
}

type During = (r: Running | undefined) => Promise<void>;

/** One point: the generator pinned to CPU 0 at load for seconds, with the probe and `during` beside it. */
async function runPoint(
  env: EnvState,
  who: Responder,
  load: Load,
  seconds: number,
  src?: string,
  during?: During,
): Promise<Omit<Point, 'asked'>> {
  return withResponder(env, who, async (r) => {
    const rx0 = outerRx(env);
    const how = load === 'live' ? [] : ['--rate', String(load)];
    const g = genAsync(env, ['taskset', '-c', GEN_CPU], '--seconds', String(seconds), ...how);
    const p = src === undefined ? undefined : sleep(PROBE.startMs).then(() => probe(env, src));
    if (during) await during(r);
    const [res, ping] = await Promise.all([g, p]);
    const arrived = outerRx(env) - rx0 - (ping?.sent ?? 0); // the generator's requests only
    return {
      responder: who.name,
      load,
      offered: arrived / res.seconds,
      replies: res.replies / res.seconds,
      ratio: arrived ? res.replies / arrived : 0,
      gen: res.latency,
      lost: res.lost,
      ping: ping ?? null,
    };
  });
}

interface Plan {
  asked: number[];
  load: Load;
}

/** The loads to run: fractions of the peak, paced up to the generator's top, beyond it one flood for all; and PACED_RATE. */
function plan(peak: number, pacedTop: number): Plan[] {
  const plans: Plan[] = [];
  for (const f of FRACTIONS) {
    const rate = Math.round(f * peak);
    const load: Load = rate <= pacedTop ? rate : 'live';
    const same = plans.find((p) => p.load === load);
    if (same) same.asked.push(f);
    else plans.push({ asked: [f], load });
  }
  if (!plans.some((p) => p.load === PACED_RATE)) plans.push({ asked: [PACED_RATE / peak], load: PACED_RATE });
  const order = (l: Load) => (typeof l === 'number' ? l : Infinity);
  return plans.sort((a, b) => order(a.load) - order(b.load));
}

async function findPeak(env: EnvState, sweep: number[], seconds: number) {
  const points: (Omit<Point, 'asked'> & { load: Load })[] = [];
  for (const load of sweep) {
    const p = await runPoint(env, pinned(DEFAULTS), load, seconds);
    points.push(p);
    console.log(
      `  paced ${load / 1000}k/s: offered ${(p.offered / 1e6).toFixed(3)} M/s, reply ratio ${p.ratio.toFixed(4)}`,
    );
  }
  let peak = lossFreePeak(points);
  const lossFree = peak > 0;
  if (!lossFree) {
    // A busy machine can lose even at the lowest load: scale from the best-answered point instead, and say so.
    peak = points.reduce((a, b) => (b.ratio > a.ratio ? b : a)).offered;
    console.log(
      `  no paced load was answered >= ${LOSS_FREE}: the loads are scaled from the best-answered point instead`,
    );
  }
  return { peak, lossFree, pacedTop: Math.max(...points.map((p) => p.offered)), points };
}

interface SwapRun {
  swaps: boolean;
  gen: Latency | null;
  ping: Ping | null;
  ratio: number;
  swapMs: number[];
  /** Each swap's pause in the data path, as the worker timed it (the ctl swap reply says it). */
  pauseMs: number[];
}

/** afxdp-wasm defaults at a paced 300 k/s, once without and once with 20 ctl swaps during the run. */
async function swapBlackout(env: EnvState, src: string, seconds: number): Promise<SwapRun[]> {
  const files = swapFiles();
  // Placed as a latency-minded user would place it: the worker alone on its core (--cpu).
  const who: Responder = { name: 'afxdp-wasm, --cpu 1 (spin)', args: ['--cpu', RESPONDER_CPU, '--handler', files[0]] };
  const out: SwapRun[] = [];
  for (const swaps of [false, true]) {
    const swapMs: number[] = [];
    const pauseMs: number[] = [];
    const during: During = async () => {
      await sleep(PROBE.startMs);
      for (let i = 0; swaps && i < SWAPS.count; i++) {
        const t0 = performance.now();
        const reply = await askControl(controlSocket(env.name), { cmd: 'swap', path: files[(i + 1) % 2]! });
        if (!reply.ok) throw new Error(`swap ${i} failed: ${reply.error}`);
        swapMs.push(performance.now() - t0);
        const paused = /the data path paused ([\d.]+) ms/.exec(String(reply.message));
        if (!paused) throw new Error(`swap ${i} said no pause: ${reply.message}`);
        pauseMs.push(Number(paused[1]));
        await sleep(SWAPS.gapMs);
      }
    };
    const p = await runPoint(env, who, SWAPS.rate, seconds, src, during);
    out.push({ swaps, gen: p.gen, ping: p.ping, ratio: p.ratio, swapMs, pauseMs });
  }
  return out;
}

const us = (v: number | null | undefined) =>
  v === undefined || v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(0);
const loadName = (p: Point, peak: number) =>
  `${p.asked.map((f) => (f < 1 ? `${(f * 100).toFixed(0)}%` : `${f}x`)).join(', ')} (${p.load === 'live' ? 'flat out' : 'paced'}, ` +
  `${(p.offered / 1e6).toFixed(3)} M/s = ${(p.offered / peak).toFixed(2)}x)`;

function table(points: Point[], peak: number): string {
  const lines = [
    '| responder | load: of the peak (how, offered = x peak) | replies/s | reply ratio | gen p50 / p99 / p99.9 / max (us) ' +
      '| ping p50 / p99 / max (us) | ping loss |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const p of points) {
    const g = p.gen ? `${us(p.gen.p50Us)} / ${us(p.gen.p99Us)} / ${us(p.gen.p999Us)} / ${us(p.gen.maxUs)}` : 'n/a';
    const q = p.ping ? `${us(p.ping.p50Us)} / ${us(p.ping.p99Us)} / ${us(p.ping.maxUs)}` : 'n/a';
    lines.push(
      `| ${p.responder} | ${loadName(p, peak)} | ${(p.replies / 1e6).toFixed(3)} M | ${p.ratio.toFixed(4)} | ${g} | ` +
        `${q} | ${p.ping ? `${(p.ping.loss * 100).toFixed(1)}%` : 'n/a'} |`,
    );
  }
  return lines.join('\n');
}

/** p99 and p50 against offered load, a colour per responder: the generator's where it stamps, else the probe's. */
export function latencySeries(points: Point[]): Series[] {
  const fromGen = points.some((p) => p.gen);
  const pick = (p: Point, q: 'p50Us' | 'p99Us') => (fromGen ? p.gen?.[q] : p.ping?.[q]) ?? NaN;
  return LATENCY_ROWS.flatMap((who, i) =>
    (['p99Us', 'p50Us'] as const).map((q) => ({
      name: `${who.name}: ${fromGen ? 'generator' : 'ping'} ${q.slice(0, 3)}`,
      color: i,
      dashed: q === 'p50Us',
      points: points.filter((p) => p.responder === who.name).map((p) => ({ x: p.offered, y: pick(p, q) })),
    })),
  );
}

const microseconds: Axes = {
  y: 'round-trip time',
  logY: true,
  formatY: (v) => (v >= 1000 ? `${v / 1000} ms` : `${v} us`),
};

function printSwaps(runs: SwapRun[]): void {
  console.log(
    `\nSwap blackout: afxdp-wasm --cpu 1 (spin) at a paced ${SWAPS.rate / 1000}k/s, ${SWAPS.count} ctl swaps ` +
      `(one every ${SWAPS.gapMs} ms) against the same run without; the data path's pause is the worker's own ` +
      'timing of each swap, from the flag seen to the next batch taken:\n',
  );
  console.log(
    '| run | gen p99.9 / max (us) | ping p99 / max (us), loss | reply ratio | swap latency median / max (ms) ' +
      '| data path paused median / max (ms) |',
  );
  console.log('|---|---|---|---|---|---|');
  const spread = (v: number[], digits: number) =>
    v.length ? `${quantile(v, 0.5).toFixed(digits)} / ${quantile(v, 1).toFixed(digits)}` : '-';
  for (const r of runs) {
    console.log(
      `| ${r.swaps ? `${SWAPS.count} swaps` : 'no swaps'} | ${r.gen ? `${us(r.gen.p999Us)} / ${us(r.gen.maxUs)}` : 'n/a'} | ` +
        `${r.ping ? `${us(r.ping.p99Us)} / ${us(r.ping.maxUs)}, ${(r.ping.loss * 100).toFixed(1)}%` : 'n/a'} | ` +
        `${r.ratio.toFixed(4)} | ${spread(r.swapMs, 1)} | ${spread(r.pauseMs, 2)} |`,
    );
  }
}

/** Only the swap blackout, in rounds (each one run without swaps, then one with): bench --blackout. */
export async function blackoutBench(env: EnvState, seconds: number, rounds: number): Promise<SwapRun[]> {
  const src = addProbeSource(env);
  const runs: SwapRun[] = [];
  for (let r = 0; r < rounds; r++) runs.push(...(await swapBlackout(env, src, seconds)));
  printSwaps(runs);
  return runs;
}

/** bench --overload: the flood rows only, in interleaved rounds, --fair at several target delays. */
export const OVERLOAD_ROWS: Responder[] = [
  { name: 'afxdp-wasm, --no-fair --cpu 1 (spin)', args: ['--no-fair', '--cpu', RESPONDER_CPU] },
  ...[1000, 500, 250].map((us) => ({
    name: `afxdp-wasm, --target-delay ${us} --cpu 1 (spin)`,
    args: ['--target-delay', String(us), '--cpu', RESPONDER_CPU],
  })),
  pinned(C_SPIN),
];

export interface OverloadRow {
  responder: string;
  /** Per round: flood replies/s over those of the first row (--no-fair --cpu 1) in the same round. */
  replyRatios: number[];
  points: Omit<Point, 'asked'>[];
}

/**
 * The overload targets of the latency issue, each round running every row flat out with the probe
 * beside it: flood replies against --cpu 1's in the same round, and the probe's p50 / p99 / loss.
 */
export async function overloadBench(env: EnvState, seconds: number, rounds: number): Promise<OverloadRow[]> {
  const src = addProbeSource(env);
  const rows: OverloadRow[] = OVERLOAD_ROWS.map((who) => ({ responder: who.name, replyRatios: [], points: [] }));
  for (let round = 0; round < rounds; round++) {
    const points: Omit<Point, 'asked'>[] = [];
    for (const who of OVERLOAD_ROWS) points.push(await runPoint(env, who, 'live', seconds, src));
    points.forEach((p, i) => {
      rows[i]!.points.push(p);
      rows[i]!.replyRatios.push(p.replies / points[0]!.replies);
    });
  }
  console.log(
    `\nOverload: every row flooded flat out (live frames, generator on CPU ${GEN_CPU}), ${rounds} interleaved rounds of ` +
      `${seconds} s, a ping every 10 ms from another /64 beside it; per row the median of the rounds (min - max):\n`,
  );
  console.log('| responder | replies/s | x --no-fair | ping p50 (us) | ping p99 (us) | ping max (us) | ping loss |');
  console.log('|---|---|---|---|---|---|---|');
  const spread = (v: number[], f: (x: number) => string) =>
    `${f(quantile(v, 0.5))} (${f(Math.min(...v))} - ${f(Math.max(...v))})`;
  for (const row of rows) {
    const pings = row.points.map((p) => p.ping!);
    console.log(
      `| ${row.responder} | ${spread(
        row.points.map((p) => p.replies / 1e6),
        (x) => `${x.toFixed(3)} M`,
      )} | ${spread(row.replyRatios, (x) => x.toFixed(2))} | ${spread(
        pings.map((p) => p.p50Us),
        us,
      )} | ${spread(
        pings.map((p) => p.p99Us),
        us,
      )} | ${spread(
        pings.map((p) => p.maxUs),
        us,
      )} | ${spread(
        pings.map((p) => p.loss * 100),
        (x) => `${x.toFixed(1)}%`,
      )} |`,
    );
  }
  return rows;
}

const OURS = 'afxdp-wasm, --cpu 1 (spin)';
const OURS_NO_FAIR = 'afxdp-wasm, --no-fair --cpu 1 (spin)';

/** Issue #12's targets, from this run's points (ours pinned with --cpu 1, as the README tells users). */
function latencyTargets(points: Point[], swaps: SwapRun[]): Target[] {
  const at = (name: string, load: Load) => points.find((p) => p.responder === name && p.load === load);
  const paced = at(OURS, PACED_RATE)?.ping;
  const cPaced = at(pinned(C_SPIN).name, PACED_RATE)?.ping;
  const flood = at(OURS, 'live');
  const floodNoFair = at(OURS_NO_FAIR, 'live');
  const pauses = swaps.flatMap((r) => r.pauseMs);
  const [withSwaps, without] = [swaps.find((r) => r.swaps), swaps.find((r) => !r.swaps)];
  const ms = (v: number | null | undefined) => (v === undefined || v === null ? 'n/a' : `${(v / 1000).toFixed(2)} ms`);
  const k = PACED_RATE / 1000;
  return [
    {
      target: `at ${k} k/s paced, ping p99 <= 1.5x the C responder's`,
      met: !!paced && !!cPaced && paced.p99Us <= 1.5 * cPaced.p99Us,
      result: `${ms(paced?.p99Us)} against ${ms(cPaced?.p99Us)} (${OURS})`,
    },
    {
      target: `at ${k} k/s paced, ping max <= 2 ms`,
      met: !!paced && paced.maxUs <= 2000,
      result: `${ms(paced?.maxUs)} (the C responder ${ms(cPaced?.maxUs)})`,
    },
    {
      target: 'flooded, a ping from another source: p99 <= 2 ms, loss <= 5%',
      met: !!flood?.ping && flood.ping.p99Us <= 2000 && flood.ping.loss <= 0.05,
      result:
        `p99 ${ms(flood?.ping?.p99Us)}, loss ${((flood?.ping?.loss ?? 1) * 100).toFixed(1)}% ` +
        `(--no-fair: ${ms(floodNoFair?.ping?.p99Us)}, ${((floodNoFair?.ping?.loss ?? 1) * 100).toFixed(1)}%)`,
    },
    {
      target: 'flooded, replies >= 0.9x those without admission control (--no-fair)',
      met: !!flood && !!floodNoFair && flood.replies >= 0.9 * floodNoFair.replies,
      result: flood && floodNoFair ? `${(flood.replies / floodNoFair.replies).toFixed(2)}x` : 'n/a',
    },
    {
      target: `swap blackout <= 1 ms at ${SWAPS.rate / 1000} k/s (the data path's pause, every swap)`,
      met: pauses.length > 0 && Math.max(...pauses) <= 1,
      result:
        `median ${quantile(pauses, 0.5).toFixed(2)} ms, max ${Math.max(...pauses).toFixed(2)} ms of ${pauses.length}; ` +
        `generator's max round trip ${ms(withSwaps?.gen?.maxUs)} with swaps, ${ms(without?.gen?.maxUs)} without`,
    },
  ];
}

export interface LatencyResult {
  peak: number;
  lossFree: boolean;
  pacedTop: number;
  sweep: unknown[];
  points: Point[];
  swaps: SwapRun[];
  targets: Target[];
}

export async function latencyBench(
  env: EnvState,
  o: { seconds: number; sweepSeconds: number; sweep: number[] },
): Promise<{ result: LatencyResult; svg: string }> {
  if (o.seconds * 1000 < PROBE_MS + 500)
    throw new Error(
      `BENCH_LATENCY_SECONDS must be at least ${(PROBE_MS + 500) / 1000}: the probe runs inside the load`,
    );
  const src = addProbeSource(env);
  console.log(
    `\nLoss-free peak of afxdp-wasm defaults (paced sweep, ${o.sweepSeconds} s a point, reply ratio >= ${LOSS_FREE}):`,
  );
  const { peak, lossFree, pacedTop, points: sweep } = await findPeak(env, o.sweep, o.sweepSeconds);
  const plans = plan(peak, pacedTop);
  console.log(
    `  ${lossFree ? 'loss-free peak' : 'scaled from'} ${(peak / 1e6).toFixed(3)} M/s; the paced generator's top in this run ${(pacedTop / 1e6).toFixed(3)} M/s`,
  );
  const points: Point[] = [];
  for (const { asked, load } of plans) {
    for (const who of LATENCY_ROWS) {
      const p = { asked, ...(await runPoint(env, who, load, o.seconds, src)) };
      points.push(p);
      console.log(
        `  ${who.name} at ${loadName(p, peak)}: ratio ${p.ratio.toFixed(4)}, ping p99 ${us(p.ping?.p99Us)} us`,
      );
    }
  }
  const swaps = await swapBlackout(env, src, o.seconds);
  console.log(
    `\nRound trips under load (${o.seconds} s a point; generator and ping on CPU ${GEN_CPU}, responder processes ` +
      `on CPU ${RESPONDER_CPU}; ping -i ${PROBE.intervalS} from ${src}, ${PROBE.count} requests beside the load):\n`,
  );
  const order = LATENCY_ROWS.map((r) => r.name);
  console.log(
    table(
      [...points].sort((a, b) => order.indexOf(a.responder) - order.indexOf(b.responder)),
      peak,
    ),
  );
  printSwaps(swaps);
  const targets = latencyTargets(points, swaps);
  console.log(`\nIssue #12's targets, from this run:\n\n${targetTable(targets)}`);
  const svg = svgPlot(
    'Round-trip time against offered load (veth, copy mode, 2 cores; log scale)',
    latencySeries(points),
    microseconds,
  );
  return { result: { peak, lossFree, pacedTop, sweep, points, swaps, targets }, svg };
}
