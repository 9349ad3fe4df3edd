// npm run bench: figures, never pass/fail. One run, one machine: only the
// ratios within it mean anything (this machine is shared and noisy).
//   offline   echo.wasm against the same logic in C, heap growth, the UDP echo: AssemblyScript vs C
//   swaps     100 ctl swaps under a flood: latency, packets lost; then what a 1 MiB state hand-over adds
//   times     what npm test bounds only loosely: ping rtt, stats periods, idle swaps, a vanished interface
//   online    every responder flooded by the same generator, several runs;
//             then paced loads (the generator's AF_XDP socket), plotted
// --offline stops after the first part; --tuning measures only the data-path
// settings against each other (test/bench/tuning.ts); --latency only round
// trips under load (test/bench/latency.ts); --endurance only the 10,000-swap
// soak and the 60 s holds (test/bench/endurance.ts); --soak only that soak; --metrics only the flood with
// and without --metrics scraped every second (test/bench/metrics.ts); --handover only the state
// hand-over's cost (test/bench/handover.ts); --blackout only the swap blackout, --overload only the flood
// rows with --fair at several target delays, in interleaved rounds (test/bench/latency.ts);
// --hold only the 60 s holds, settings interleaved round by round (BENCH_HOLD_SETTINGS, see endurance.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, uniqueName, withEnv } from './helpers/testenv.js';
import { offlineBench } from './bench/offline.js';
import { type Load, RESPONDERS, type Row, type Sample, idleCpu, measure, table } from './bench/online.js';
import { targetTable, targets } from './bench/targets.js';
import { type Series, svgPlot } from './bench/plot.js';
import { median } from './bench/common.js';
import { swapBench } from './bench/swaps.js';
import { timingBench } from './bench/timings.js';
import { tuningBench } from './bench/tuning.js';
import { blackoutBench, latencyBench, overloadBench } from './bench/latency.js';
import { enduranceBench, holdRounds, soakBench } from './bench/endurance.js';
import { handoverBench } from './bench/handover.js';
import { metricsBench, metricsTable } from './bench/metrics.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const HOLD_SECONDS = Number(process.env.BENCH_HOLD_SECONDS ?? 60);
// Paced by the generator's AF_XDP socket; the flood point (live frames) is added from the runs above.
// The generator's AF_XDP socket tops out near 0.7-0.8 M/s here: the last points find where.
const SWEEP: Load[] = (process.env.BENCH_SWEEP ?? '100000,300000,500000,600000,700000,800000').split(',').map(Number);

async function main(): Promise<void> {
  const dir = join(ROOT, 'build', 'bench');
  mkdirSync(dir, { recursive: true });
  if (process.argv.includes('--tuning')) {
    const tuning = await withEnv({ name: uniqueName('btune') }, (env) => tuningBench(env, RUNS, SECONDS));
    writeFileSync(
      join(dir, 'tuning.json'),
      `${JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, rounds: RUNS, tuning }, null, 2)}\n`,
    );
    return;
  }
  if (process.argv.includes('--blackout')) {
    const seconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 5.5);
    const runs = await withEnv({ name: uniqueName('bblk') }, (env) => blackoutBench(env, seconds, RUNS));
    writeFileSync(join(dir, 'blackout.json'), `${JSON.stringify({ date: new Date().toISOString(), runs }, null, 2)}\n`);
    return;
  }
  if (process.argv.includes('--overload')) {
    const seconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 5.5);
    const rows = await withEnv({ name: uniqueName('bover') }, (env) => overloadBench(env, seconds, RUNS));
    writeFileSync(join(dir, 'overload.json'), `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`);
    return;
  }
  if (process.argv.includes('--latency')) {
    const sweep = (process.env.BENCH_LATENCY_SWEEP ?? '100000,200000,300000,400000,500000,600000,700000,800000')
      .split(',')
      .map(Number);
    const seconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 5.5);
    const { result, svg } = await withEnv({ name: uniqueName('blat') }, (env) =>
      latencyBench(env, { seconds, sweepSeconds: SECONDS, sweep }),
    );
    writeFileSync(
      join(dir, 'latency.json'),
      `${JSON.stringify({ date: new Date().toISOString(), seconds, ...result }, null, 2)}\n`,
    );
    writeFileSync(join(dir, 'latency.svg'), svg);
    console.log(`\nRaw figures: ${join(dir, 'latency.json')}; plot: ${join(dir, 'latency.svg')}`);
    return;
  }
  if (process.argv.includes('--metrics')) {
    const seconds = Number(process.env.BENCH_METRICS_SECONDS ?? 5);
    const rows = await withEnv({ name: uniqueName('bmet') }, (env) => metricsBench(env, RUNS, seconds));
    console.log(`\nFlood replies with and without --metrics scraped every second, ${RUNS} rounds of ${seconds} s:\n`);
    console.log(metricsTable(rows));
    writeFileSync(
      join(dir, 'metrics.json'),
      `${JSON.stringify({ date: new Date().toISOString(), seconds, rows }, null, 2)}\n`,
    );
    return;
  }
  if (process.argv.includes('--soak')) {
    const soak = await withEnv({ name: uniqueName('bsoak') }, (env) => soakBench(env));
    writeFileSync(join(dir, 'soak.json'), `${JSON.stringify({ date: new Date().toISOString(), soak }, null, 2)}\n`);
    return;
  }
  if (process.argv.includes('--hold')) {
    const hold = await withEnv({ name: uniqueName('bhold') }, (env) => holdRounds(env, SECONDS, HOLD_SECONDS, RUNS));
    writeFileSync(join(dir, 'hold.json'), `${JSON.stringify({ date: new Date().toISOString(), ...hold }, null, 2)}\n`);
    return;
  }
  if (process.argv.includes('--endurance')) {
    const endurance = await withEnv({ name: uniqueName('bend') }, (env) => enduranceBench(env, SECONDS, HOLD_SECONDS));
    writeFileSync(
      join(dir, 'endurance.json'),
      `${JSON.stringify({ date: new Date().toISOString(), ...endurance }, null, 2)}\n`,
    );
    return;
  }
  if (process.argv.includes('--handover')) {
    await withEnv({ name: uniqueName('bhand') }, (env) => handoverBench(env));
    return;
  }
  const offline = offlineBench();
  if (process.argv.includes('--offline')) return;
  const swaps = await withEnv({ name: uniqueName('bswap') }, (env) => swapBench(env));
  const handover = await withEnv({ name: uniqueName('bhand') }, (env) => handoverBench(env));
  const timings = await withEnv({ name: uniqueName('btime') }, (env) => timingBench(env));

  const rows: Row[] = RESPONDERS.map((r) => ({ responder: r.name, samples: [] }));
  const series: Series[] = RESPONDERS.map((r) => ({ name: r.name, points: [] }));
  const sweep: (Sample & { load: Load })[][] = RESPONDERS.map(() => []);
  const idle: Record<string, number> = {};
  const napiThread: { name: string; ns: number }[] = [];
  await withEnv({ name: uniqueName('bench') }, async (env) => {
    idle.spin = await idleCpu(env, []);
    idle['poll (-p)'] = await idleCpu(env, ['-p']);
    idle['--coalesce 100'] = await idleCpu(env, ['--coalesce', '100']);
    for (let run = 0; run < RUNS; run++) {
      for (const [i, who] of RESPONDERS.entries()) rows[i]!.samples.push(await measure(env, who, SECONDS, 'live'));
    }
    for (const load of SWEEP) {
      for (const [i, who] of RESPONDERS.entries()) {
        const s = await measure(env, who, SECONDS, load);
        series[i]!.points.push({ x: s.offered, y: s.replies });
        sweep[i]!.push({ load, ...s });
      }
    }
    // CPU per reply with the generator's receive billed to the generator (see gen --napi-thread).
    for (const who of RESPONDERS.filter((r) => r.args?.some((a) => a === '-p' || a === '--coalesce'))) {
      const ns: number[] = [];
      for (let run = 0; run < RUNS; run++)
        ns.push((await measure(env, who, SECONDS, 300_000, ['--napi-thread'])).responderNsPerReply!);
      napiThread.push({ name: who.name, ns: median(ns) });
    }
    rows.forEach((row, i) => {
      const flood = [...row.samples].sort((a, b) => a.replies - b.replies)[Math.floor(row.samples.length / 2)]; // the median run
      if (flood) series[i]!.points.push({ x: flood.offered, y: flood.replies });
    });
  });
  console.log(
    `\nEcho replies under a flat-out flood from afxdp-wasm gen (live frames), ${RUNS} runs of ${SECONDS} s, median (min – max):\n`,
  );
  console.log(table(rows));
  console.log(
    '\nPaced loads (one run each): reply ratio, and responder CPU ns per reply where the responder is a process:\n',
  );
  console.log(`| responder | ${SWEEP.map((l) => `${Number(l) / 1000}k/s`).join(' | ')} |`);
  console.log(`|---|${SWEEP.map(() => '---').join('|')}|`);
  RESPONDERS.forEach((who, i) => {
    console.log(
      `| ${who.name} | ${sweep[i]!.map(
        (s) =>
          `${s.ratio.toFixed(3)}${s.responderNsPerReply === null ? '' : `, ${s.responderNsPerReply.toFixed(0)} ns`}`,
      ).join(' | ')} |`,
    );
  });
  console.log(
    `\nIdle, no traffic: ${Object.entries(idle)
      .map(([k, v]) => `${k} ${(v * 100).toFixed(1)}% of a core`)
      .join(', ')}`,
  );
  const goals = targets(RESPONDERS, rows, sweep, idle['poll (-p)']!, napiThread);
  console.log(`\nThe performance targets, from this run:\n\n${targetTable(goals)}`);
  writeFileSync(
    join(dir, 'bench.json'),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        seconds: SECONDS,
        runs: RUNS,
        offline,
        swaps,
        handover,
        timings,
        idle,
        rows,
        sweep,
        napiThread,
        targets: goals,
        series,
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(
    join(dir, 'replies.svg'),
    svgPlot('Echo replies against offered load (veth, copy mode, 2 cores)', series),
  );
  console.log(`\nRaw figures: ${join(dir, 'bench.json')}; plot: ${join(dir, 'replies.svg')}`);
}

await main();
