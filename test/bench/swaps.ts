// Swaps under a flood: latency of ctl swap, and packets lost to it.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlSocket } from '../../host/lib/paths.js';
import type { EnvState } from '../../host/testenv/state.js';
import { askControl, sleep, startAfxdp } from '../helpers/afxdp.js';
import { ROOT } from '../helpers/testenv.js';
import { flood } from '../helpers/traffic.js';

/** Two files of echo.wasm to swap between, so every swap loads a file anew. */
export function swapFiles(): [string, string] {
  const dir = join(ROOT, 'build', 'bench');
  const files: [string, string] = [join(dir, 'echo-a.wasm'), join(dir, 'echo-b.wasm')];
  for (const f of files) copyFileSync(join(ROOT, 'build', 'asm', 'echo.wasm'), f);
  return files;
}

export async function swapBench(env: EnvState, swaps = 100): Promise<Record<string, number>> {
  const files = swapFiles();
  const r = startAfxdp(['-d', env.name, '--json', '--interval', '60', '--handler', files[0]!]);
  const latencies: number[] = [];
  try {
    await r.ready();
    const sock = controlSocket(env.name);
    const gen = flood(env, 20);
    try {
      await sleep(300);
      for (let i = 0; i < swaps; i++) {
        const t0 = performance.now();
        const reply = await askControl(sock, { cmd: 'swap', path: files[(i + 1) % 2]! });
        if (!reply.ok) throw new Error(`swap ${i} failed: ${reply.error}`);
        latencies.push(performance.now() - t0);
      }
      await sleep(300);
    } finally {
      await gen.stop();
    }
    await sleep(200);
    await r.stop('SIGTERM');
  } finally {
    await r.kill();
  }
  const c = r.exit!.counters;
  const sorted = [...latencies].sort((a, b) => a - b);
  const out = {
    swaps,
    medianMs: sorted[Math.floor(sorted.length / 2)]!,
    maxMs: sorted.at(-1)!,
    rx: c.rxPackets,
    tx: c.txPackets,
    unexplained: c.rxPackets - (c.txPackets + c.dropped + c.invalid + c.txRingFull),
    handlerErrors: c.handlerErrors,
    kernelRxDropped: r.exit!.xdp?.rx_dropped ?? 0,
    kernelRingFull: r.exit!.xdp?.rx_ring_full ?? 0,
  };
  console.log(`\n${swaps} swaps under a flood (ctl swap, between two files of echo.wasm):`);
  console.log(
    `  swap latency, request to new handler running: median ${out.medianMs.toFixed(1)} ms, max ${out.maxMs.toFixed(1)} ms`,
  );
  console.log(
    `  received ${out.rx}, replied ${out.tx}; lost to the swaps (RX - TX - dropped - refused - TX ring full): ${out.unexplained}; ` +
      `handler errors ${out.handlerErrors}; kernel XDP_STATISTICS rx_dropped ${out.kernelRxDropped}, rx_ring_full ${out.kernelRingFull}`,
  );
  return out;
}
