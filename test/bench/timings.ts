// The times npm test only bounds loosely, measured: a ping's round trip beside a paced load, the stats
// period under a flood, a swap taken by an idle -p worker, and how soon a vanished interface is noticed.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { EnvState } from '../../host/testenv/state.js';
import { askControl, runFiles, serving, sleep, startAfxdp } from '../helpers/afxdp.js';
import { ROOT, uniqueName, withEnv } from '../helpers/testenv.js';
import { flood, gen, ping6 } from '../helpers/traffic.js';
import { median } from './common.js';

export interface Timings {
  pingAvgMs: Record<string, number>;
  floodPeriodS: { interval: number; median: number; max: number };
  idleSwapMs: { median: number; max: number };
  vanishedNoticedMs: Record<string, number>;
}

/** Average ping rtt while gen paces 20 k/s, under -p and --coalesce 3000 (a lone ping is never held back). */
async function pingBesideLoad(env: EnvState): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const args of [['-p'], ['--coalesce', '3000']]) {
    await serving(env.name, args, async () => {
      gen(env, '--rate', '20000', '--seconds', '0.5');
      await sleep(50);
      out[args.join(' ')] = Number(/= [\d.]+\/([\d.]+)\//.exec(ping6(env, 10, 0.05).out)?.[1]);
    });
  }
  return out;
}

/** Stats periods (--interval 0.2) while trafgen floods: the main thread's rhythm. */
async function periodsUnderFlood(env: EnvState): Promise<Timings['floodPeriodS']> {
  let periods: number[] = [];
  await serving(env.name, [], async (r) => {
    const load = flood(env);
    try {
      await sleep(2500);
    } finally {
      await load.stop();
    }
    periods = r.stats.filter((s) => s.counters.rxPackets > 0).map((s) => s.period);
  });
  return { interval: 0.2, median: median(periods), max: Math.max(...periods) };
}

/** Ten ctl swaps to a -p worker asleep in poll(): request to answer. */
async function idleSwaps(env: EnvState): Promise<Timings['idleSwapMs']> {
  const dir = join(ROOT, 'build', 'bench');
  mkdirSync(dir, { recursive: true });
  const files = ['a', 'b'].map((n) => join(dir, `idle-${n}.wasm`));
  for (const f of files) copyFileSync(join(ROOT, 'build', 'asm', 'echo.wasm'), f);
  const times: number[] = [];
  await serving(env.name, ['-p', '--handler', files[0]!], async () => {
    for (let i = 0; i < 10; i++) {
      await sleep(30);
      const t0 = performance.now();
      await askControl(runFiles(env.name).socket, { cmd: 'swap', path: files[(i + 1) % 2]! });
      times.push(performance.now() - t0);
    }
  });
  return { median: median(times), max: Math.max(...times) };
}

/** From ip link del of the served interface to afxdp-wasm's exit, spinning and under -p. */
async function vanished(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const mode of [[], ['-p']]) {
    await withEnv({ name: uniqueName('bgone'), noPing: true }, async (env) => {
      const run = startAfxdp(['-d', env.name, '-q', ...mode]);
      try {
        await run.ready();
        const t0 = performance.now();
        spawnSync('ip', ['link', 'del', env.name]);
        await Promise.race([run.exited, sleep(5000)]);
        out[mode.length ? '-p' : 'spin'] = performance.now() - t0;
      } finally {
        await run.kill();
      }
    });
  }
  return out;
}

export async function timingBench(env: EnvState): Promise<Timings> {
  const t: Timings = {
    pingAvgMs: await pingBesideLoad(env),
    floodPeriodS: await periodsUnderFlood(env),
    idleSwapMs: await idleSwaps(env),
    vanishedNoticedMs: await vanished(),
  };
  const ms = (r: Record<string, number>) =>
    Object.entries(r)
      .map(([k, v]) => `${k} ${v.toFixed(2)} ms`)
      .join(', ');
  console.log('\nTimes (npm test only bounds them loosely):');
  console.log(`  ping rtt avg beside a paced 20 k/s load: ${ms(t.pingAvgMs)}`);
  console.log(
    `  stats period under a flood (--interval 0.2): median ${t.floodPeriodS.median.toFixed(3)} s, ` +
      `max ${t.floodPeriodS.max.toFixed(3)} s`,
  );
  console.log(
    `  swap by an idle -p worker: median ${t.idleSwapMs.median.toFixed(1)} ms, max ${t.idleSwapMs.max.toFixed(1)} ms`,
  );
  console.log(`  a deleted interface noticed, to exit: ${ms(t.vanishedNoticedMs)}`);
  return t;
}
