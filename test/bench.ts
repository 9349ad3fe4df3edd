// npm run bench: echo replies per second under a trafgen flood, ours against
// the kernel's own answering, taken in one run on one test environment (the
// machine is shared and noisy: only ratios within a run mean anything).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type Running, sleep, startAfxdp } from './helpers/afxdp.js';
import { ROOT, uniqueName, withEnv } from './helpers/testenv.js';
import { flood } from './helpers/traffic.js';
import { type EnvState, INNER_IF } from '../host/testenv/state.js';
import { loadHandler } from '../host/dataplane/handler.js';
import { BATCH_OFFSET, DESC_SIZE } from '../host/dataplane/layout.js';
import { OfflineRunner, XDP_HEADROOM } from '../host/offline/runner.js';
import { echo4Frame, echo6Frame } from './helpers/packets.js';

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

// --- offline: the handler's own cost, wasm against the same logic in C -------

function offlineBench(): Record<string, number> {
  const dir = join(ROOT, 'build', 'bench');
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, 'echo-bench');
  const cc = spawnSync('clang', ['-O2', '-o', exe, join(ROOT, 'test', 'bench', 'echo.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`clang failed: ${cc.stderr}`);
  const frames = Array.from({ length: 64 }, (_, i) =>
    Uint8Array.from(i % 4 === 3 ? echo4Frame({ seq: i }) : i % 4 === 2 ? echo6Frame({ ext: [{ type: 0 }], seq: i }) : echo6Frame({ seq: i })));
  writeFileSync(join(dir, 'frames.bin'), Buffer.concat(frames.flatMap((f) => [Buffer.from([f.length >> 8, f.length & 0xff]), Buffer.from(f)])));
  const ITER = 50_000; // batches of 64
  const c = JSON.parse(spawnSync(exe, [join(dir, 'frames.bin'), String(ITER)], { encoding: 'utf8' }).stdout) as
    { packets: number; replies: number; ns: number; copyNs: number };

  const runner = new OfflineRunner(loadHandler(join(ROOT, 'build', 'asm', 'echo.wasm')), { mac: [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee], hopLimit: 64 });
  const bytes = new Uint8Array(runner.memory.buffer);
  const words = new Uint32Array(runner.memory.buffer);
  const heapBase = Number((runner.instance.exports['heap_base'] as () => number)());
  bytes.fill(0x5a, heapBase, heapBase + (1 << 20));
  const place = () => frames.forEach((f, i) => {
    const addr = runner.frameStart(i) + XDP_HEADROOM;
    bytes.set(f, addr);
    const d = (BATCH_OFFSET + i * DESC_SIZE) / 4;
    words[d] = addr;
    words[d + 1] = f.length;
  });
  for (let i = 0; i < 2000; i++) { place(); runner.instance.process(BATCH_OFFSET, 64); } // warm up the JIT
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITER; i++) {
    place();
    runner.instance.process(BATCH_OFFSET, 64);
  }
  const bothNs = Number(process.hrtime.bigint() - t0);
  // Laying frames in from JS costs more than C's memcpy: measure it alone and take it out on both sides.
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < ITER; i++) place();
  const wasmNs = bothNs - Number(process.hrtime.bigint() - t1);
  const heapTouched = bytes.subarray(heapBase, heapBase + (1 << 20)).some((b) => b !== 0x5a);
  const packets = ITER * 64;
  const out = { wasmNsPerPacket: wasmNs / packets, cNsPerPacket: (c.ns - c.copyNs) / c.packets, cReplies: c.replies, packets, heapGrowthBytes: heapTouched ? -1 : 0 };
  console.log(`\nOffline, echo on warm batches of 64 frames (${packets} packets; the cost of laying the frames in is measured apart and left out):`);
  console.log(`  wasm (build/asm/echo.wasm): ${out.wasmNsPerPacket.toFixed(1)} ns/packet`);
  console.log(`  C -O2 (test/bench/echo.c):  ${out.cNsPerPacket.toFixed(1)} ns/packet   (${c.replies} of ${c.packets} answered)`);
  console.log(`  wasm / C: ${(out.wasmNsPerPacket / out.cNsPerPacket).toFixed(2)}x (target <= 1.5x)`);
  console.log(`  handler heap growth over ${packets} packets: ${heapTouched ? 'SOME (heap written)' : '0 bytes'}`);
  return out;
}

// --- swaps under a flood ------------------------------------------------------

function askControl(sock: string, req: object): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const conn = connect(sock, () => conn.write(JSON.stringify(req) + '\n'));
    conn.setEncoding('utf8');
    conn.on('data', (d: string) => (data += d));
    conn.on('end', () => resolve(JSON.parse(data) as { ok: boolean; error?: string }));
    conn.on('error', reject);
  });
}

async function swapBench(env: EnvState, swaps = 100): Promise<Record<string, number>> {
  const dir = join(ROOT, 'build', 'bench');
  const files = ['a', 'b'].map((n) => join(dir, `echo-${n}.wasm`));
  for (const f of files) copyFileSync(join(ROOT, 'build', 'asm', 'echo.wasm'), f);
  const r = startAfxdp(['-d', env.name, '--json', '--interval', '60', '--handler', files[0]!]);
  const latencies: number[] = [];
  try {
    await r.ready();
    const sock = `/run/afxdp-wasm/ctl/${env.name}.sock`;
    const gen = flood(env, 20);
    try {
      await sleep(300);
      for (let i = 0; i < swaps; i++) {
        const t0 = performance.now();
        const reply = await askControl(sock, { cmd: 'swap', path: files[(i + 1) % 2] });
        if (!reply.ok) throw new Error(`swap ${i} failed: ${reply.error}`);
        latencies.push(performance.now() - t0);
      }
      await sleep(300);
    } finally {
      gen.kill('SIGKILL');
      await new Promise((resolve) => gen.once('exit', resolve));
    }
    await sleep(200);
    await r.stop('SIGTERM');
  } finally {
    await r.kill();
  }
  const c = r.exit!.counters;
  const sorted = [...latencies].sort((a, b) => a - b);
  const out = {
    swaps, medianMs: sorted[Math.floor(sorted.length / 2)]!, maxMs: sorted.at(-1)!,
    rx: c.rxPackets, tx: c.txPackets,
    unexplained: c.rxPackets - (c.txPackets + c.dropped + c.invalid + c.txRingFull),
    handlerErrors: c.handlerErrors, kernelRxDropped: r.exit!.xdp?.['rx_dropped'] ?? 0, kernelRingFull: r.exit!.xdp?.['rx_ring_full'] ?? 0,
  };
  console.log(`\n${swaps} swaps under a flood (ctl swap, between two files of echo.wasm):`);
  console.log(`  swap latency, request to new handler running: median ${out.medianMs.toFixed(1)} ms, max ${out.maxMs.toFixed(1)} ms`);
  console.log(`  received ${out.rx}, replied ${out.tx}; lost to the swaps (RX - TX - dropped - refused - TX ring full): ${out.unexplained}; ` +
    `handler errors ${out.handlerErrors}; kernel XDP_STATISTICS rx_dropped ${out.kernelRxDropped}, rx_ring_full ${out.kernelRingFull}`);
  return out;
}

async function main(): Promise<void> {
  const offline = offlineBench();
  if (process.argv.includes('--offline')) return;
  const swaps = process.argv.includes('--no-swaps') ? undefined : await withEnv({ name: uniqueName('bswap') }, (env) => swapBench(env));
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
  writeFileSync(join(dir, 'bench.json'), JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, runs: RUNS, offline, swaps, rows }, null, 2) + '\n');
  console.log(`\nRaw figures: ${join(dir, 'bench.json')}`);
}

await main();
