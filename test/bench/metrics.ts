// npm run bench -- --metrics: the flood figure with --metrics scraped every
// second against the same setting without it, interleaved round by round (this
// machine drifts), each scraped run paired with the unscraped run next to it.
import type { EnvState } from '../../host/testenv/state.js';
import { median } from './common.js';
import { DEFAULTS, POLL, type Responder, SCRAPED, measure } from './online.js';

const PAIRS: [Responder, Responder][] = [
  [DEFAULTS, SCRAPED],
  [POLL, { ...POLL, name: `${POLL.name}, --metrics scraped every second`, scraped: true }],
];

export interface MetricsRow {
  responder: string;
  repliesPerSecond: number[];
  /** Scraped against unscraped, round by round. */
  ratios: number[];
  scrapes: number[];
}

export async function metricsBench(env: EnvState, rounds: number, seconds: number): Promise<MetricsRow[]> {
  const rows: MetricsRow[] = PAIRS.flat().map((who) => ({
    responder: who.name,
    repliesPerSecond: [],
    ratios: [],
    scrapes: [],
  }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, [plain, scraped]] of PAIRS.entries()) {
      // Which goes first alternates, so an order effect falls on both alike.
      const first = round % 2 === 0 ? plain : scraped;
      const a = await measure(env, first, seconds, 'live');
      const b = await measure(env, first === plain ? scraped : plain, seconds, 'live');
      const [without, withMetrics] = first === plain ? [a, b] : [b, a];
      rows[2 * i]!.repliesPerSecond.push(without.replies);
      rows[2 * i + 1]!.repliesPerSecond.push(withMetrics.replies);
      rows[2 * i + 1]!.ratios.push(withMetrics.replies / without.replies);
      rows[2 * i + 1]!.scrapes.push(withMetrics.scrapes!);
    }
  }
  return rows;
}

const mega = (x: number) => `${(x / 1e6).toFixed(3)} M`;
const spread = (xs: number[], f: (x: number) => string) =>
  xs.length ? `${f(median(xs))} (${f(Math.min(...xs))} – ${f(Math.max(...xs))})` : '';

export function metricsTable(rows: MetricsRow[]): string {
  return [
    '| responder | replies/s under the flood, median (min – max) | scraped / unscraped, paired by round | scrapes a run |',
    '|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.responder} | ${spread(r.repliesPerSecond, mega)} | ${spread(r.ratios, (x) => x.toFixed(3))} | ` +
        `${spread(r.scrapes, String)} |`,
    ),
  ].join('\n');
}
