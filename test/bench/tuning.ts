// npm run bench -- --tuning: what each data-path setting does, against the
// defaults with -p in the same run. Every round measures every setting at
// three loads, interleaved; each figure is a ratio to the baseline of the
// same round (this machine drifts up to 2x over minutes), median over rounds.
//   flood   replies/s under the live-frames flood (higher is better), each
//           against a baseline flood measured just before it
//   300k    responder CPU ns per reply at 300 k/s paced (lower is better)
//   700k    reply ratio at 700 k/s paced, near the generator's limit
import type { EnvState } from '../../host/testenv/state.js';
import { median } from './common.js';
import { type Sample, measure } from './online.js';

const SETTINGS: { name: string; args: string[] }[] = [
  { name: 'baseline: defaults with -p (16384 x 2048 B frames, rings 16384, batch 256, need_wakeup)', args: ['-p'] },
  { name: 'spin (no -p)', args: [] },
  { name: '--coalesce 25', args: ['--coalesce', '25'] },
  { name: '--coalesce 100', args: ['--coalesce', '100'] },
  { name: '--coalesce 400', args: ['--coalesce', '400'] },
  { name: '--batch 16', args: ['-p', '--batch', '16'] },
  { name: '--batch 64', args: ['-p', '--batch', '64'] },
  { name: '--batch 1024', args: ['-p', '--batch', '1024'] },
  { name: '--ring-size 512', args: ['-p', '--ring-size', '512'] },
  { name: '--ring-size 4096 (the default before)', args: ['-p', '--ring-size', '4096'] },
  { name: '--ring-size 32768 --frames 65536', args: ['-p', '--ring-size', '32768', '--frames', '65536'] },
  { name: '--frames 65536 (4x the UMEM)', args: ['-p', '--frames', '65536'] },
  { name: '--frames 4096 (a quarter of the UMEM)', args: ['-p', '--frames', '4096'] },
  { name: '--frame-size 4096 (same UMEM bytes)', args: ['-p', '--frame-size', '4096', '--frames', '8192'] },
  { name: '--busy-poll 50', args: ['-p', '--busy-poll', '50'] },
  { name: '--no-need-wakeup', args: ['-p', '--no-need-wakeup'] },
];

interface Point {
  floodVsBase: number;
  flood: Sample;
  paced300k: Sample;
  paced700k: Sample;
}

export interface TuningRow {
  setting: string;
  args: string[];
  floodVsBase: number;
  cpu300kVsBase: number;
  ratio700k: number;
  floodMps: number;
  cpu300kNs: number;
}

export async function tuningBench(env: EnvState, rounds: number, seconds: number): Promise<TuningRow[]> {
  const points: Point[][] = SETTINGS.map(() => []);
  const baseline = SETTINGS[0]!;
  for (let round = 0; round < rounds; round++) {
    for (const [i, who] of SETTINGS.entries()) {
      // Floods swing most: each is paired with a baseline flood just before it.
      const base = i === 0 ? undefined : await measure(env, baseline, seconds, 'live');
      const flood = await measure(env, who, seconds, 'live');
      points[i]!.push({
        floodVsBase: base ? flood.replies / base.replies : 1,
        flood,
        paced300k: await measure(env, who, seconds, 300_000),
        paced700k: await measure(env, who, seconds, 700_000),
      });
    }
  }
  const base = points[0]!;
  const rows = SETTINGS.map((s, i) => {
    const p = points[i]!;
    return {
      setting: s.name,
      args: s.args,
      floodVsBase: median(p.map((x) => x.floodVsBase)),
      cpu300kVsBase: median(
        p.map((x, r) => x.paced300k.responderNsPerReply! / base[r]!.paced300k.responderNsPerReply!),
      ),
      ratio700k: median(p.map((x) => x.paced700k.ratio)),
      floodMps: median(p.map((x) => x.flood.replies)) / 1e6,
      cpu300kNs: median(p.map((x) => x.paced300k.responderNsPerReply!)),
    };
  });
  console.log(
    `\nData-path settings against the baseline, ${rounds} rounds of ${seconds} s per load, median of per-round ratios ` +
      `(flood: each against a baseline flood just before it):\n`,
  );
  console.log(
    '| setting | flood replies/s vs baseline | CPU/reply at 300k/s vs baseline | reply ratio at 700k/s | flood M/s | CPU ns/reply at 300k/s |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.setting} | ${r.floodVsBase.toFixed(2)}x | ${r.cpu300kVsBase.toFixed(2)}x | ${r.ratio700k.toFixed(4)} | ${r.floodMps.toFixed(3)} | ${r.cpu300kNs.toFixed(0)} |`,
    );
  }
  return rows;
}
