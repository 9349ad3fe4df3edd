// npm run bench: echo replies per second under a trafgen flood, ours against
// the kernel's own answering, taken in one run on one test environment (the
// machine is shared and noisy: only ratios within a run mean anything).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Running, sleep, startAfxdp } from './helpers/afxdp.js';
import { ROOT, uniqueName, withEnv } from './helpers/testenv.js';
import { flood } from './helpers/traffic.js';
import { type EnvState, INNER_IF } from '../host/testenv/state.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const TICK_NS = 1e9 / 100; // USER_HZ

interface Sample { sent: number; replies: number; seconds: number; responderCpuNs: number | undefined; machineCpuNs: number }

function innerCounters(env: EnvState): { rx: number; tx: number } {
  const read = (what: string) => Number(spawnSync('ip', ['netns', 'exec', env.name, 'cat', `/sys/class/net/${INNER_IF}/statistics/${what}`], { encoding: 'utf8' }).stdout);
  return { rx: read('rx_packets'), tx: read('tx_packets') };
}

function processCpuNs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_NS; // utime + stime
}

function machineBusyNs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const idle = cpu[3]! + cpu[4]!;
  return (cpu.reduce((a, b) => a + b, 0) - idle) * TICK_NS;
}

async function measure(env: EnvState, responder: Running | undefined): Promise<Sample> {
  const pid = responder?.child.pid;
  const before = innerCounters(env);
  const cpu0 = pid ? processCpuNs(pid) : 0;
  const busy0 = machineBusyNs();
  const t0 = performance.now();
  const gen = flood(env);
  await sleep(SECONDS * 1000);
  gen.kill('SIGKILL');
  await new Promise((resolve) => gen.once('exit', resolve));
  await sleep(100); // let the last replies land
  const seconds = (performance.now() - t0) / 1000;
  const after = innerCounters(env);
  return {
    sent: after.tx - before.tx,
    replies: after.rx - before.rx,
    seconds,
    responderCpuNs: pid ? processCpuNs(pid) - cpu0 : undefined,
    machineCpuNs: machineBusyNs() - busy0,
  };
}

async function withResponder<T>(env: EnvState, args: string[], fn: (r: Running) => Promise<T>): Promise<T> {
  const r = startAfxdp(['-d', env.name, '-q', ...args]);
  try {
    await r.ready();
    return await fn(r);
  } finally {
    await r.kill();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmtRate = (x: number) => `${(x / 1e6).toFixed(3)} M`;

interface Row { responder: string; offered: number[]; replies: number[]; ratio: number[]; responderNsPerReply: number[]; machineNsPerReply: number[] }

async function main(): Promise<void> {
  const rows: Row[] = [
    { responder: 'kernel (no XDP)', offered: [], replies: [], ratio: [], responderNsPerReply: [], machineNsPerReply: [] },
    { responder: 'afxdp-wasm echo (spin)', offered: [], replies: [], ratio: [], responderNsPerReply: [], machineNsPerReply: [] },
    { responder: 'afxdp-wasm echo (-p poll)', offered: [], replies: [], ratio: [], responderNsPerReply: [], machineNsPerReply: [] },
  ];
  const add = (row: Row, s: Sample) => {
    row.offered.push(s.sent / s.seconds);
    row.replies.push(s.replies / s.seconds);
    row.ratio.push(s.sent ? s.replies / s.sent : 0);
    if (s.responderCpuNs !== undefined) row.responderNsPerReply.push(s.responderCpuNs / Math.max(1, s.replies));
    row.machineNsPerReply.push(s.machineCpuNs / Math.max(1, s.replies));
  };
  await withEnv({ name: uniqueName('bench') }, async (env) => {
    for (let run = 0; run < RUNS; run++) {
      // Interleaved, so drift of the machine hits every responder alike.
      add(rows[0]!, await measure(env, undefined));
      add(rows[1]!, await withResponder(env, [], (r) => measure(env, r)));
      add(rows[2]!, await withResponder(env, ['-p'], (r) => measure(env, r)));
    }
  });
  const kernel = median(rows[0]!.replies);
  const range = (xs: number[], f: (x: number) => string) => xs.length ? `${f(median(xs))} (${f(Math.min(...xs))} – ${f(Math.max(...xs))})` : 'n/a';
  console.log(`\nEcho replies under a trafgen flood, ${RUNS} runs of ${SECONDS} s, median (min – max):\n`);
  console.log('| responder | offered/s | replies/s | reply ratio | vs kernel | responder CPU ns/reply | machine CPU ns/reply |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) {
    console.log(`| ${row.responder} | ${range(row.offered, fmtRate)} | ${range(row.replies, fmtRate)} | ${range(row.ratio, (x) => x.toFixed(3))} | ` +
      `${(median(row.replies) / kernel).toFixed(2)}x | ${range(row.responderNsPerReply, (x) => x.toFixed(0))} | ${range(row.machineNsPerReply, (x) => x.toFixed(0))} |`);
  }
  const dir = join(ROOT, 'build', 'bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bench.json'), JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, runs: RUNS, rows }, null, 2) + '\n');
  console.log(`\nRaw figures: ${join(dir, 'bench.json')}`);
}

await main();
