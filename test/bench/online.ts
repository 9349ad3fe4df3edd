// Echo replies under load, every responder on the same test environment and
// the same generator (afxdp-wasm gen), interleaved run by run so the
// machine's drift hits them alike. Offered load is counted where it lands
// (the served interface's rx_packets), replies where they land (the
// generator's XDP sink, in every mode).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { EnvState } from '../../host/testenv/state.js';
import { Running, startAfxdp } from '../helpers/afxdp.js';
import { ROOT } from '../helpers/testenv.js';
import { type GenJson, gen } from '../helpers/traffic.js';
import { buildC, machineBusyNs, median, outerRx, processCpuNs } from './common.js';

export interface Responder {
  name: string;
  /** afxdp-wasm options, or a setup for a responder that is not ours. */
  args?: string[];
  kernel?: 'plain' | 'xdp_echo_tx';
  /** Options of the C AF_XDP responder, test/bench/xsk_echo.c. */
  c?: string[];
  /** A CPU list for taskset: where the responder's process runs (the kernel's answer in softirq cannot be pinned). */
  taskset?: string;
  /** afxdp-wasm with --metrics, scraped every second by another process while it is measured. */
  scraped?: boolean;
}

export const KERNEL: Responder = { name: 'kernel (no XDP, GRO on)', kernel: 'plain' };
const LESSON_SIZES = ['--frames', '4096', '--frame-size', '4096', '--ring-size', '2048', '--batch', '64'];
export const LESSON: Responder = {
  name: 'afxdp-wasm, lesson sizes (4096 x 4096 B frames, rings 2048, batch 64)',
  args: LESSON_SIZES,
};
export const DEFAULTS: Responder = {
  name: 'afxdp-wasm, defaults (16384 x 2048 B, rings 16384, batch 256; spin; admission control)',
  args: [],
};
export const NO_FAIR: Responder = {
  name: 'afxdp-wasm, defaults with --no-fair (no admission control: the default before)',
  args: ['--no-fair'],
};
export const SCRAPED: Responder = {
  name: 'afxdp-wasm, defaults, --metrics scraped every second',
  args: [],
  scraped: true,
};
export const POLL: Responder = { name: 'afxdp-wasm, defaults with -p (poll)', args: ['-p'] };
export const COALESCE: Responder = {
  name: 'afxdp-wasm, best: --coalesce 100 (poll, adaptive RX coalescing)',
  args: ['--coalesce', '100'],
};
export const C_SPIN: Responder = { name: 'C AF_XDP responder (xsk_echo.c, same sizes as the defaults; spin)', c: [] };
export const XDP_TX: Responder = { name: 'in-kernel XDP_TX echo (xdp_echo_tx.o, ceiling)', kernel: 'xdp_echo_tx' };

export const RESPONDERS: Responder[] = [
  KERNEL,
  LESSON,
  DEFAULTS,
  NO_FAIR,
  SCRAPED,
  POLL,
  { name: 'afxdp-wasm, defaults with 4096-slot rings (-p; the default before)', args: ['-p', '--ring-size', '4096'] },
  COALESCE,
  XDP_TX,
];

export interface Sample {
  offered: number; // frames/s that reached the responder's interface
  replies: number; // replies/s that reached the generator
  ratio: number;
  responderNsPerReply: number | null;
  machineNsPerReply: number;
  generatorStarved: number | null; // seconds
  /** Scrapes answered while it was measured (scraped responders only). */
  scrapes: number | null;
}

/** A load: packets/s paced by the generator's AF_XDP socket, 'trafgen' flat out, or 'live' (live frames, flat out). */
export type Load = number | 'trafgen' | 'live';

function generate(env: EnvState, seconds: number, load: Load, genArgs: string[]): GenJson {
  const how = load === 'live' ? [] : load === 'trafgen' ? ['--trafgen'] : ['--rate', String(load)];
  return gen(env, '--seconds', String(seconds), ...how, ...genArgs);
}

let xskEcho: string | undefined;

function startResponder(env: EnvState, who: Responder): Running {
  const pin = who.taskset === undefined ? [] : ['taskset', '-c', who.taskset];
  const metrics = who.scraped ? ['--metrics', '0'] : [];
  if (who.c === undefined) return startAfxdp(['-d', env.name, '-q', ...metrics, ...(who.args ?? [])], pin);
  xskEcho ??= buildC('xsk_echo.c', 'xsk_echo', ['-lxdp', '-lbpf']);
  const argv = [...pin, xskEcho, '-d', env.name, ...who.c];
  return new Running(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Runs fn with the responder serving env (undefined for the kernel's), and always stops it. */
export async function withResponder<T>(
  env: EnvState,
  who: Responder,
  fn: (r: Running | undefined) => Promise<T> | T,
): Promise<T> {
  if (who.kernel === 'plain') {
    spawnSync('ethtool', ['-K', env.name, 'gro', 'on']); // veth delivers to a peer without XDP only with GRO
    try {
      return await fn(undefined);
    } finally {
      spawnSync('ethtool', ['-K', env.name, 'gro', 'off']);
    }
  }
  if (who.kernel === 'xdp_echo_tx') {
    const load = spawnSync(
      'xdp-loader',
      ['load', '-m', 'native', env.name, join(ROOT, 'build', 'bpf', 'xdp_echo_tx.o')],
      { encoding: 'utf8' },
    );
    if (load.status !== 0) throw new Error(`xdp-loader: ${load.stderr}`);
    try {
      return await fn(undefined);
    } finally {
      spawnSync('xdp-loader', ['unload', env.name, '--all']);
    }
  }
  const r = startResponder(env, who);
  try {
    await r.ready();
    return await fn(r);
  } finally {
    await r.kill();
  }
}

interface Scraper {
  /** Stops it; resolves with the number of scrapes answered since it started, the first one not counted. */
  stop(): Promise<number>;
}

/**
 * A Prometheus stand-in in a process of its own (the measurement blocks this one): GET /metrics
 * at once, then every second, reading the whole answer, a line out for each. Resolves after the
 * first scrape: the process's own start is not measured.
 */
async function scrapeEverySecond(r: Running): Promise<Scraper> {
  const url = /^Metrics: (http:\S+)$/m.exec(r.stderr)?.[1];
  if (!url) throw new Error(`no Metrics: line from the responder: ${r.stderr}`);
  const code = `const scrape = () => fetch(process.argv[1]).then((res) => res.text()).then(() => console.log('scraped'), () => {});
    scrape();
    setInterval(scrape, 1000);`;
  const child = spawn(process.execPath, ['-e', code, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lines = 0;
  const first = new Promise<void>((resolve, reject) => {
    child.once('exit', () => reject(new Error(`the scraper ended before its first scrape of ${url}`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      lines += d.split('\n').length - 1;
      if (lines > 0) resolve();
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    return lines - 1;
  };
  await first.catch(async (err: Error) => {
    await stop();
    throw err;
  });
  return { stop };
}

/** genArgs: more for afxdp-wasm gen (--napi-thread). */
export async function measure(
  env: EnvState,
  who: Responder,
  seconds: number,
  load: Load,
  genArgs: string[] = [],
): Promise<Sample> {
  return withResponder(env, who, async (r) => {
    const pid = r?.child.pid;
    const scraper = who.scraped ? await scrapeEverySecond(r!) : undefined;
    try {
      const cpu0 = pid ? processCpuNs(pid) : 0;
      const busy0 = machineBusyNs();
      const rx0 = outerRx(env);
      const g = generate(env, seconds, load, genArgs);
      const arrived = outerRx(env) - rx0;
      const replies = Math.max(1, g.replies);
      const sample: Sample = {
        offered: arrived / g.seconds,
        replies: g.replies / g.seconds,
        ratio: arrived ? g.replies / arrived : 0,
        responderNsPerReply: pid ? (processCpuNs(pid) - cpu0) / replies : null,
        machineNsPerReply: (machineBusyNs() - busy0) / replies,
        generatorStarved: g.starvedSeconds,
        scrapes: scraper ? await scraper.stop() : null,
      };
      if (sample.scrapes === 0) throw new Error(`nothing was scraped from ${who.name}`);
      return sample;
    } finally {
      await scraper?.stop(); // when the measurement failed: never left running
    }
  });
}

export interface Row {
  responder: string;
  samples: Sample[];
}

const fmt = (xs: number[], f: (x: number) => string) =>
  xs.length ? `${f(median(xs))} (${f(Math.min(...xs))} – ${f(Math.max(...xs))})` : 'n/a';
const mega = (x: number) => `${(x / 1e6).toFixed(3)} M`;

export function table(rows: Row[]): string {
  const kernel = median(rows[0]!.samples.map((s) => s.replies));
  const lines = [
    '| responder | offered at the responder /s | replies/s | reply ratio | vs kernel | responder CPU ns/reply | machine CPU ns/reply | generator starved (s) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const { responder, samples } of rows) {
    const pick = (k: keyof Sample) => samples.map((s) => s[k]).filter((x): x is number => x !== null);
    lines.push(
      `| ${responder} | ${fmt(pick('offered'), mega)} | ${fmt(pick('replies'), mega)} | ${fmt(pick('ratio'), (x) => x.toFixed(3))} | ` +
        `${(median(pick('replies')) / kernel).toFixed(2)}x | ${fmt(pick('responderNsPerReply'), (x) => x.toFixed(0))} | ` +
        `${fmt(pick('machineNsPerReply'), (x) => x.toFixed(0))} | ${fmt(pick('generatorStarved'), (x) => x.toFixed(2))} |`,
    );
  }
  return lines.join('\n');
}

/** CPU a responder uses with no traffic at all, as a share of one core. */
export async function idleCpu(env: EnvState, args: string[], seconds = 6): Promise<number> {
  return withResponder(env, { name: 'idle', args }, async (r) => {
    const pid = r!.child.pid!;
    await new Promise((resolve) => setTimeout(resolve, 500)); // past start-up
    const cpu0 = processCpuNs(pid);
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    return (processCpuNs(pid) - cpu0) / ((performance.now() - t0) * 1e6);
  });
}
