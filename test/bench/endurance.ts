// Long runs that short tests cannot show:
//   soak  10,000 ctl swaps under a paced load: the responder's memory (RSS and
//         memory mappings) after warm-up and at the end, and the swap latency
//   hold  60 s paced at 80% of the defaults' flood figure: what was lost, and
//         where (the kernel's XDP_STATISTICS say whether FILL ran dry)
import { readFileSync } from 'node:fs';
import type { EnvState } from '../../host/testenv/state.js';
import { startAfxdp } from '../helpers/afxdp.js';
import { type GenJson, genAsync } from '../helpers/traffic.js';
import { median, quantile } from './common.js';
import { DEFAULTS, measure } from './online.js';
import { controlSocket } from '../../host/lib/paths.js';
import { askControl } from '../helpers/afxdp.js';
import { swapFiles } from './swaps.js';

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
  asked: number;
  offered: number;
  replyRatio: number;
  lost: number;
  xdp: Record<string, number> | null;
}

/** 60 s at `rate` against afxdp-wasm with args: how much is lost, and the kernel's word on where. */
export async function holdBench(env: EnvState, rate: number, seconds = 60, args: string[] = []): Promise<HoldResult> {
  const r = startAfxdp(['-d', env.name, '-q', '--json', '--interval', '3600', ...args]);
  try {
    await r.ready();
    const g = await genAsync(
      env,
      ['taskset', '-c', '0'],
      '--rate',
      String(Math.round(rate)),
      '--seconds',
      String(seconds),
    );
    await r.stop('SIGTERM');
    const xdp = r.exit?.xdp ?? null;
    const out = { args, asked: rate, offered: g.rate, replyRatio: g.sent ? g.replies / g.sent : 0, lost: g.lost, xdp };
    console.log(
      `\nHold: ${seconds} s paced at ${(rate / 1e6).toFixed(3)} M/s asked, ${(g.rate / 1e6).toFixed(3)} M/s sent ` +
        `(${args.join(' ') || 'defaults'}): reply ratio ${out.replyRatio.toFixed(5)}, ${g.lost} lost; kernel: ` +
        `rx_fill_ring_empty_descs ${xdp?.rx_fill_ring_empty_descs ?? '?'}, rx_dropped ${xdp?.rx_dropped ?? '?'}, ` +
        `rx_ring_full ${xdp?.rx_ring_full ?? '?'}`,
    );
    return out;
  } finally {
    await r.kill();
  }
}

/** The defaults' flood figure (median of 3), then the soak and the holds at 80% of it, with and without --cpu. */
export async function enduranceBench(env: EnvState, seconds: number, holdSeconds = 60) {
  const floods: number[] = [];
  for (let i = 0; i < 3; i++) floods.push((await measure(env, DEFAULTS, seconds, 'live')).replies);
  const flood = median(floods);
  console.log(
    `\nThe defaults' flood figure: ${(flood / 1e6).toFixed(3)} M/s (median of ${floods.map((f) => (f / 1e6).toFixed(3)).join(', ')})`,
  );
  const soak = await soakBench(env);
  const holds: HoldResult[] = [];
  for (const args of [[], ['--cpu', '1']]) holds.push(await holdBench(env, 0.8 * flood, holdSeconds, args));
  return { flood, soak, holds };
}
