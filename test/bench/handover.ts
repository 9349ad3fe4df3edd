// What a state hand-over adds to a swap, for the largest blob (1 MiB, STATE_MAX_LEN): ctl swaps
// alternate between two builds of one handler (test/handlers/state_mib*.ts), one that takes the
// state over and one that does not, so every other swap hands 1 MiB over and the rest start
// fresh, in the same run, with the same module sizes and the same light load.
import { join } from 'node:path';
import { type Handler, instantiate, loadHandler } from '../../host/dataplane/handler.js';
import { type Seat, handOver, offeredState, shimKeeper } from '../../host/dataplane/handover.js';
import { newMemory } from '../../host/dataplane/layout.js';
import { loadShim } from '../../host/dataplane/shim.js';
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
  /** The worker's own steps, in this process on one memory: what the data path pauses for. */
  stepsWithMedianMs: number;
  stepsWithoutMedianMs: number;
  swaps: number;
  withMedianMs: number;
  withoutMedianMs: number;
  addedMs: number;
  withP90Ms: number;
  withoutP90Ms: number;
}

/**
 * The steps a worker takes between two batches, timed here without sockets or threads: a fresh
 * start (set the region aside, instantiate, let the old region go) against a hand-over of 1 MiB (copy the blob out, set the
 * region aside, instantiate, state_restore, let the old region go).
 */
function timeSteps(rounds: number): { with: number; without: number } {
  const keeper = shimKeeper(loadShim());
  const [withState, withoutState] = [loadHandler(WITH), loadHandler(WITHOUT)];
  const memory = newMemory();
  const seat: Seat = { memory, instance: instantiate(withoutState, memory) };
  const fresh = (next: Handler) => {
    const instances = handOver([seat], next, undefined, keeper);
    if (typeof instances === 'string') throw new Error(instances);
    seat.instance = instances[0]!;
  };
  const handed = (old: Handler, next: Handler) => {
    const blobs = offeredState([seat], old, next);
    if (typeof blobs === 'string') throw new Error(`no hand-over: ${blobs}`);
    const instances = handOver([seat], next, blobs, keeper);
    if (typeof instances === 'string') throw new Error(instances);
    seat.instance = instances[0]!;
  };
  const times = { with: [] as number[], without: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    handed(withoutState, withState);
    times.with.push(performance.now() - t0);
    t0 = performance.now();
    fresh(withoutState);
    times.without.push(performance.now() - t0);
  }
  return { with: median(times.with), without: median(times.without) };
}

export async function handoverBench(env: EnvState, rounds = 100): Promise<HandoverFigures> {
  const steps = timeSteps(2 * rounds);
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
    stepsWithMedianMs: steps.with,
    stepsWithoutMedianMs: steps.without,
    swaps: 2 * rounds,
    withMedianMs: median(times.with),
    withoutMedianMs: median(times.without),
    addedMs: median(times.with) - median(times.without),
    withP90Ms: quantile(times.with, 0.9),
    withoutP90Ms: quantile(times.without, 0.9),
  };
  console.log(
    `\nState hand-over of 1 MiB, the worker's steps between two batches (median of ${2 * rounds}, in one process): ` +
      `${out.stepsWithMedianMs.toFixed(3)} ms with it, ${out.stepsWithoutMedianMs.toFixed(3)} ms for a fresh start; ` +
      `it adds ${(out.stepsWithMedianMs - out.stepsWithoutMedianMs).toFixed(3)} ms to the pause in the data path`,
  );
  console.log(
    `State hand-over: ${out.swaps} ctl swaps under a light flood, alternating with and without 1 MiB of state:`,
  );
  console.log(
    `  swap latency, request to new handler running: with the hand-over median ${out.withMedianMs.toFixed(2)} ms ` +
      `(p90 ${out.withP90Ms.toFixed(2)}), without ${out.withoutMedianMs.toFixed(2)} ms (p90 ${out.withoutP90Ms.toFixed(2)}); ` +
      `the hand-over adds ${out.addedMs.toFixed(2)} ms`,
  );
  return out;
}
