// --metrics on a real responder: a real HTTP scrape after pings, read by an
// independent parser (Python's prometheus_client, from Debian), checked
// against the pings, ctl status and a ctl swap; a port in use stops the start
// with one line and leaves nothing attached.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EnvState } from '../../host/testenv/state.js';
import { type Running, runAfxdp, runCtl, serving, sleep } from '../helpers/afxdp.js';
import { ROOT, withEnv } from '../helpers/testenv.js';
import { attachedProgram, burst, ping6 } from '../helpers/traffic.js';

const DROP = join(ROOT, 'build', 'asm', 'drop.wasm');
const PINGS = 6;

interface Scraped {
  types: Record<string, string>;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

// Debian's python3-prometheus-client: a reader of the format that is not ours.
const PARSE = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {"types": {}, "samples": []}
for family in text_string_to_metric_families(sys.stdin.read()):
    out["types"][family.name] = family.type
    for s in family.samples:
        out["samples"].append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
`;

async function scrape(url: string): Promise<Scraped & { text: string }> {
  const res = await fetch(url);
  assert.is(res.status, 200);
  assert.is(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  const parsed = spawnSync('/usr/bin/python3', ['-c', PARSE], { input: text, encoding: 'utf8' });
  if (parsed.status !== 0) throw new Error(`prometheus_client refused the text: ${parsed.stderr}\n${text}`);
  return { ...(JSON.parse(parsed.stdout) as Scraped), text };
}

/** The one sample of name with these labels (more labels may be on it). */
function value(s: Scraped, name: string, labels: Record<string, string> = { queue: '0' }): number {
  const found = s.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.is(found.length, 1, `${name}${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]!.value;
}

function metricsUrl(r: Running): string {
  const url = /^Metrics: (http:\S+)$/m.exec(r.stderr)?.[1];
  if (!url) throw new Error(`no Metrics: line in ${r.stderr}`);
  return url;
}

const statusHash = (env: EnvState) =>
  /queue 0: .* \(sha256 ([0-9a-f]{12})\)/.exec(runCtl('status', '-d', env.name).out)?.[1];

test('a scrape after pings: packets and bytes, frames, kernel statistics, the info metric; a ctl swap is counted', async () => {
  await withEnv({}, async (env) => {
    await serving(env.name, ['-p', '--no-fair', '--metrics', '0'], async (r) => {
      const url = metricsUrl(r);
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const before = await scrape(url);
      assert.is(ping6(env, PINGS, 0.05).received, PINGS);
      const after = await scrape(url);
      const grew = (name: string) => value(after, name) - value(before, name);
      assert.ok(grew('afxdp_rx_packets_total') >= PINGS, `rx ${grew('afxdp_rx_packets_total')}`);
      assert.ok(grew('afxdp_tx_packets_total') >= PINGS, `tx ${grew('afxdp_tx_packets_total')}`);
      // An echo request from ping -6 is 14 + 40 + 8 + 56 bytes, and its reply as long.
      assert.ok(grew('afxdp_rx_bytes_total') >= PINGS * 118 && grew('afxdp_tx_bytes_total') >= PINGS * 118);
      assert.is(after.types.afxdp_rx_packets, 'counter');
      assert.is(after.types.afxdp_batch_size, 'histogram');
      assert.is(value(after, 'afxdp_batch_size_count'), value(after, 'afxdp_batch_size_bucket', { le: '+Inf' }));
      assert.is(value(after, 'afxdp_batch_size_sum'), value(after, 'afxdp_rx_packets_total'));
      assert.ok(value(after, 'afxdp_batch_size_count') >= PINGS, 'each ping came in a batch of its own');
      const frames = ['free', 'fill_rx', 'batch', 'tx'].map((where) => value(after, 'afxdp_frames', { where }));
      assert.is(
        frames.reduce((a, b) => a + b),
        value(after, 'afxdp_umem_frames'),
      );
      assert.is(value(after, 'afxdp_xdp_rx_dropped_total'), 0);
      assert.is(value(after, 'afxdp_xdp_rx_invalid_descs_total'), 0);
      assert.is(value(after, 'afxdp_handler_errors_total'), 0);
      assert.is(after.samples.filter((x) => x.name.startsWith('afxdp_admission')).length, 0, '--no-fair');

      const echoHash = statusHash(env);
      assert.match(echoHash ?? '', /^[0-9a-f]{12}$/);
      assert.is(value(after, 'afxdp_handler_info', { queue: '0', sha256: echoHash! }), 1);
      assert.is(value(after, 'afxdp_swaps_total', {}), 0);
      assert.is(after.samples.filter((x) => x.name === 'afxdp_last_swap_duration_seconds').length, 0);

      assert.is(runCtl('swap', DROP, '-d', env.name).code, 0);
      const swapped = await scrape(url);
      const dropHash = statusHash(env)!;
      assert.is.not(dropHash, echoHash);
      assert.is(value(swapped, 'afxdp_handler_info', { queue: '0', sha256: dropHash, file: DROP }), 1);
      assert.is(swapped.samples.filter((x) => x.name === 'afxdp_handler_info').length, 1, 'one info per queue');
      assert.is(value(swapped, 'afxdp_swaps_total', {}), 1);
      const took = value(swapped, 'afxdp_last_swap_duration_seconds', {});
      assert.ok(took > 0 && took < 5, `last swap ${took} s`);
      assert.is(runCtl('swap', '/nonexistent.wasm', '-d', env.name).code, 1);
      assert.is(value(await scrape(url), 'afxdp_swaps_refused_total', {}), 1);

      assert.is((await fetch(url.replace('/metrics', '/'))).status, 404);
    });
  });
});

test("the batch size histogram under a burst: its buckets bound the packets taken, as the shim's bucketing must", async () => {
  await withEnv({}, async (env) => {
    await serving(env.name, ['-p', '--metrics', '0'], async (r) => {
      burst(env, 3000);
      await sleep(200);
      const s = await scrape(metricsUrl(r));
      const buckets = s.samples
        .filter((x) => x.name === 'afxdp_batch_size_bucket' && x.labels.le !== '+Inf')
        .map((x) => ({ le: Number(x.labels.le), seen: x.value }));
      // Batches in (le/2, le] carry more than le/2 and at most le packets each.
      let low = 0;
      let high = 0;
      buckets.forEach(({ le, seen }, i) => {
        const batches = seen - (buckets[i - 1]?.seen ?? 0);
        low += batches * (le === 1 ? 1 : le / 2 + 1);
        high += batches * le;
      });
      const packets = value(s, 'afxdp_rx_packets_total');
      assert.ok(packets >= 3000, `the burst arrived: ${packets}`);
      assert.ok(low <= packets && packets <= high, `${low} <= ${packets} <= ${high}: ${JSON.stringify(buckets)}`);
      assert.ok(buckets[0]!.seen < value(s, 'afxdp_batch_size_count'), 'some batches held more than one packet');
    });
  });
});

test('admission control (the default) adds its counters', async () => {
  await withEnv({}, async (env) => {
    await serving(env.name, ['-p', '--metrics', '0'], async (r) => {
      assert.is(ping6(env, 2, 0.05).received, 2);
      const s = await scrape(metricsUrl(r));
      assert.is(value(s, 'afxdp_admission_dropped_total'), 0);
      assert.is(value(s, 'afxdp_admission_sparse_lane_packets_total'), 0, 'no lane while not congested');
      assert.is(value(s, 'afxdp_admission_congested'), 0);
    });
  });
});

test('a --metrics port in use: one line, exit 1, no XDP program left attached', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as { port: number };
  try {
    await withEnv({}, async (env) => {
      const res = await runAfxdp(['-d', env.name, '--metrics', `127.0.0.1:${port}`]);
      assert.is(res.code, 1);
      assert.is(
        res.stderr.trim(),
        `afxdp-wasm: --metrics 127.0.0.1:${port}: the port is in use (by another exporter?); ` +
          'choose another, or 0 for any free port',
      );
      assert.is(attachedProgram(env.name), undefined);
    });
  } finally {
    taken.close();
  }
});

test.run();
