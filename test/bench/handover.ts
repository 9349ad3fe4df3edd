// What a state hand-over adds to a swap, for the largest blob (1 MiB, STATE_MAX_LEN): ctl swaps
// alternate between two builds of one handler (test/handlers/state_mib*.ts), one that takes the
// state over and one that does not, so every other swap hands 1 MiB over and the rest start
// fresh, in the same run, with the same module sizes and the same light load.
import { join } from 'node:path';
import { controlSocket } from '../../host/lib/paths.js';
import type { EnvState } from '../../host/testenv/state.js';
import { askControl, sleep, startAfxdp } from '../helpers/afxdp.js';
import { ROOT } from '../helpers/testenv.js';
import { flood } from '../helpers/traffic.js';
import { median, quantile } from './common.js';

const TEST_ASM = join(ROOT, 'build', 'test-asm');
const WITH = join(TEST_ASM, 'state_mib.wasm');
const WITHOUT = join(TEST_ASM, 'state_mib_fresh.wasm');

export interface HandoverFigures {
  swaps: number;
  withMedianMs: number;
  withoutMedianMs: number;
  addedMs: number;
  withP90Ms: number;
  withoutP90Ms: number;
}

export async function handoverBench(env: EnvState, rounds = 100): Promise<HandoverFigures> {
  const r = startAfxdp(['-d', env.name, '--json', '--interval', '60', '--handler', WITHOUT]);
  const times: Record<'with' | 'without', number[]> = { with: [], without: [] };
  try {
    await r.ready();
    const sock = controlSocket(env.name);
    const gen = flood(env, 100);
    try {
      await sleep(300);
      for (let i = 0; i < 2 * rounds; i++) {
        const kind = i % 2 === 0 ? 'with' : 'without';
        const t0 = performance.now();
        const reply = await askControl(sock, { cmd: 'swap', path: kind === 'with' ? WITH : WITHOUT });
        const ms = performance.now() - t0;
        if (!reply.ok) throw new Error(`swap ${i} failed: ${reply.error}`);
        const handed = /state handed over \(1048576 bytes\)/.test(String(reply.message));
        if (handed !== (kind === 'with')) throw new Error(`swap ${i} (${kind}) said: ${reply.message}`);
        times[kind].push(ms);
      }
    } finally {
      await gen.stop();
    }
    await r.stop('SIGTERM');
  } finally {
    await r.kill();
  }
  const out: HandoverFigures = {
    swaps: 2 * rounds,
    withMedianMs: median(times.with),
    withoutMedianMs: median(times.without),
    addedMs: median(times.with) - median(times.without),
    withP90Ms: quantile(times.with, 0.9),
    withoutP90Ms: quantile(times.without, 0.9),
  };
  console.log(
    `\nState hand-over: ${out.swaps} ctl swaps under a light flood, alternating with and without 1 MiB of state:`,
  );
  console.log(
    `  swap latency, request to new handler running: with the hand-over median ${out.withMedianMs.toFixed(2)} ms ` +
      `(p90 ${out.withP90Ms.toFixed(2)}), without ${out.withoutMedianMs.toFixed(2)} ms (p90 ${out.withoutP90Ms.toFixed(2)}); ` +
      `the hand-over adds ${out.addedMs.toFixed(2)} ms`,
  );
  return out;
}
