// The handler's own cost, offline: echo.wasm against the same logic in C, and the UDP echo built from
// AssemblyScript against the one built from C (both wasm), one run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadHandler } from '../../host/dataplane/handler.js';
import { BATCH_OFFSET, FRAME_SIZES, XDP_HEADROOM } from '../../host/dataplane/layout.js';
import { runCheck } from '../../host/offline/check/run.js';
import { OfflineRunner } from '../../host/offline/runner.js';
import { mixedEchoBatch, udp4Frame, udp6Frame } from '../helpers/packets.js';
import { ROOT } from '../helpers/testenv.js';
import { buildC } from './common.js';

export function offlineBench(): Record<string, number> {
  const dir = join(ROOT, 'build', 'bench');
  mkdirSync(dir, { recursive: true });
  const exe = buildC('echo.c', 'echo-bench');
  const frames = mixedEchoBatch();
  writeFileSync(
    join(dir, 'frames.bin'),
    Buffer.concat(frames.flatMap((f) => [Buffer.from([f.length >> 8, f.length & 0xff]), Buffer.from(f)])),
  );
  const ITER = 50_000; // batches of 64
  const c = JSON.parse(spawnSync(exe, [join(dir, 'frames.bin'), String(ITER)], { encoding: 'utf8' }).stdout) as {
    packets: number;
    replies: number;
    ns: number;
    copyNs: number;
  };

  const runner = new OfflineRunner(loadHandler(join(ROOT, 'build', 'asm', 'echo.wasm')), {
    mac: [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee],
    hopLimit: 64,
  });
  const bytes = new Uint8Array(runner.memory.buffer);
  const heapBase = Number((runner.instance.exports.heap_base as () => number)());
  bytes.fill(0x5a, heapBase, heapBase + (1 << 20));
  const place = () =>
    frames.forEach((f, i) => {
      const addr = runner.frameStart(i) + XDP_HEADROOM;
      bytes.set(f, addr);
      runner.batch.lay(i, addr, f.length);
    });
  for (let i = 0; i < 2000; i++) {
    place();
    runner.instance.process(BATCH_OFFSET, 64);
  } // warm up the JIT
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
  const out = {
    wasmNsPerPacket: wasmNs / packets,
    cNsPerPacket: (c.ns - c.copyNs) / c.packets,
    cReplies: c.replies,
    packets,
    heapGrowthBytes: heapTouched ? -1 : 0,
  };
  console.log(
    `\nOffline, echo on warm batches of 64 frames (${packets} packets; the cost of laying the frames in is measured apart and left out):`,
  );
  console.log(`  wasm (build/asm/echo.wasm): ${out.wasmNsPerPacket.toFixed(1)} ns/packet`);
  console.log(
    `  C -O2 (test/bench/echo.c):  ${out.cNsPerPacket.toFixed(1)} ns/packet   (${c.replies} of ${c.packets} answered)`,
  );
  console.log(`  wasm / C: ${(out.wasmNsPerPacket / out.cNsPerPacket).toFixed(2)}x (target <= 1.5x)`);
  console.log(`  handler heap growth over ${packets} packets: ${heapTouched ? 'SOME (heap written)' : '0 bytes'}`);
  return { ...out, ...checkBench(), ...udpEchoBench(ITER) };
}

/** ns/packet of process() alone on warm batches, the cost of laying the frames in measured apart and left out. */
function handlerNsPerPacket(file: string, frames: Uint8Array[], iterations: number): number {
  const runner = new OfflineRunner(loadHandler(file), { mac: [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee], hopLimit: 64 });
  const bytes = new Uint8Array(runner.memory.buffer);
  const place = () =>
    frames.forEach((f, i) => {
      const addr = runner.frameStart(i) + XDP_HEADROOM;
      bytes.set(f, addr);
      runner.batch.lay(i, addr, f.length);
    });
  const turns = (n: number) => {
    for (let i = 0; i < n; i++) {
      place();
      runner.instance.process(BATCH_OFFSET, frames.length);
    }
  };
  turns(2000); // warm up the JIT
  const t0 = process.hrtime.bigint();
  turns(iterations);
  const bothNs = Number(process.hrtime.bigint() - t0);
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) place();
  return (bothNs - Number(process.hrtime.bigint() - t1)) / (iterations * frames.length);
}

/** The UDP echo's two builds on the same batch: IPv6 and IPv4 datagrams to port 7, 32 bytes of payload. */
function udpEchoBench(iterations: number): Record<string, number> {
  const data = Array.from({ length: 32 }, (_, i) => i);
  const frames = Array.from({ length: 64 }, (_, i) =>
    Uint8Array.from(i % 2 ? udp4Frame({ sport: 1000 + i, data }) : udp6Frame({ sport: 1000 + i, data })),
  );
  const asFile = join(ROOT, 'build', 'asm', 'udp_echo.wasm');
  const cFile = join(ROOT, 'build', 'asm', 'udp_echo_c.wasm');
  // This machine's load comes and goes: rounds of each in turn, and the median of each side's rounds.
  const ROUNDS = 7;
  const asRounds: number[] = [];
  const cRounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    asRounds.push(handlerNsPerPacket(asFile, frames, iterations / ROUNDS));
    cRounds.push(handlerNsPerPacket(cFile, frames, iterations / ROUNDS));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  const [asNs, cNs] = [median(asRounds), median(cRounds)];
  console.log(
    `\nOffline, the UDP echo on warm batches of 64 datagrams (half IPv6, half IPv4), ns/packet, ` +
      `median of ${ROUNDS} rounds taken in turn:`,
  );
  console.log(`  AssemblyScript (build/asm/udp_echo.wasm): ${asNs.toFixed(1)} ns/packet`);
  console.log(
    `  C, clang -O2    (build/asm/udp_echo_c.wasm): ${cNs.toFixed(1)} ns/packet   (C / AS: ${(cNs / asNs).toFixed(2)}x)`,
  );
  return { udpEchoAsNsPerPacket: asNs, udpEchoCNsPerPacket: cNs };
}

/** afxdp-wasm check's own speed on echo.wasm: generation, the run, and every property's checks. */
function checkBench(): Record<string, number> {
  const handler = loadHandler(join(ROOT, 'build', 'asm', 'echo.wasm'));
  runCheck({ handler, runs: 200, seed: 1, frameSizes: FRAME_SIZES }); // warm up the JIT
  const cpu = process.cpuUsage();
  const r = runCheck({ handler, runs: 4000, seed: 20261126, frameSizes: FRAME_SIZES });
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const checkFramesPerSecond = r.frames / r.seconds;
  console.log(
    `  afxdp-wasm check echo.wasm: ${Math.round(checkFramesPerSecond)} frames/s (${r.frames} frames in ${r.batches} batches; ` +
      `${Math.round(r.frames / cpuSeconds)} per CPU second; target >= 30000)${r.failure ? `: FAILED ${r.failure.property}` : ''}`,
  );
  return { checkFramesPerSecond };
}
