// --metrics: its value's forms and one-line errors, the text format's escaping,
// and the batch size histogram built from the shim's per-bucket counters.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { metricFamilies } from '../../host/cli/metrics-families.js';
import { SERVE_OPTIONS, optionsFrom } from '../../host/cli/options.js';
import { parseCommandLine } from '../../host/cli/table.js';
import type { Counters, QueueReading } from '../../host/dataplane/dataplane.js';
import { COUNTER } from '../../host/dataplane/layout.js';
import { UserError } from '../../host/lib/errors.js';
import { exposition } from '../../host/lib/prometheus.js';

const metricsOf = (...argv: string[]) => optionsFrom(parseCommandLine(SERVE_OPTIONS, argv).values).metrics;

function refused(value: string): string {
  try {
    metricsOf(`--metrics=${value}`);
  } catch (err) {
    assert.instance(err, UserError);
    const message = (err as Error).message;
    assert.not.match(message, '\n');
    return message;
  }
  throw new Error(`--metrics '${value}' was taken`);
}

test('--metrics: off unless given; PORT on loopback, IPV4:PORT, [IPV6]:PORT, 0 for any free port', () => {
  assert.is(metricsOf(), undefined);
  assert.equal(metricsOf('--metrics', '9100'), { host: '127.0.0.1', port: 9100 });
  assert.equal(metricsOf('--metrics', '0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
  assert.equal(metricsOf('--metrics=[::1]:9101'), { host: '::1', port: 9101 });
  assert.equal(metricsOf('--metrics', '[fe80::1%eth0]:80'), { host: 'fe80::1%eth0', port: 80 });
  assert.equal(metricsOf('--metrics', '0'), { host: '127.0.0.1', port: 0 });
});

test('--metrics: bad values are one line naming the fix', () => {
  assert.match(refused('::1:9100'), '--metrics ::1:9100: an IPv6 address goes in brackets, as in --metrics [::1]:9100');
  assert.match(refused('[::1]9100'), 'an IPv6 address goes in brackets');
  assert.match(refused('localhost:9100'), "'localhost' is not an IPv4 address (give an address, not a name)");
  assert.match(refused('[10.0.0.1]:9100'), "'10.0.0.1' in brackets is not an IPv6 address");
  for (const port of ['65536', 'http', '-1', '9100.5', '127.0.0.1:', '[::1]:']) {
    assert.match(
      refused(port),
      'the port must be a whole number from 0 to 65535 (0: any free port); e.g. --metrics 9100',
    );
  }
  assert.match(refused(''), '--metrics needs a port, e.g. --metrics 9100');
});

test('the text format escapes label values and help, and writes +Inf and NaN as Prometheus does', () => {
  const text = exposition([
    {
      name: 'x_total',
      type: 'counter',
      help: 'a \\ b\nc',
      samples: [{ labels: { file: '/tmp/a "b"\\c\nd', queue: 3 }, value: 7 }],
    },
    { name: 'y', type: 'gauge', help: 'y', samples: [{ labels: { le: Infinity }, value: NaN }] },
  ]);
  assert.is(
    text,
    '# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\n' +
      'x_total{file="/tmp/a \\"b\\"\\\\c\\nd",queue="3"} 7\n' +
      '# HELP y y\n# TYPE y gauge\ny{le="+Inf"} NaN\n',
  );
  assert.throws(() => exposition([{ name: 'bad-name', type: 'gauge', help: '', samples: [] }]), /not a Prometheus/);
});

function reading(set: Partial<Counters>): QueueReading {
  const counters = Object.fromEntries(Object.keys(COUNTER).map((k) => [k, 0])) as Counters;
  return {
    queue: 1,
    counters: { ...counters, ...set },
    reasons: { not_echo: 4 },
    handler: {
      path: '/x/echo.wasm',
      hash: 'abcdef012345',
      module: {} as WebAssembly.Module,
      keepsState: false,
      restoresState: false,
    },
    since: new Date(0),
    xdp: undefined,
  };
}

test('the batch size histogram: cumulative buckets from per-bucket counters, _count = +Inf, _sum = packets', () => {
  // 2 batches of 1, 3 of 3-4, 1 of 129-256: 2 + 10 + 200 packets.
  const r = reading({ batchUpTo1: 2, batchUpTo4: 3, batchUpTo256: 1, rxPackets: 212 });
  const text = exposition(
    metricFamilies({ queues: [r], swaps: { done: 0, refused: 0, lastMs: undefined }, fair: false }),
  );
  const line = (sample: string) => new RegExp(`^${sample.replace(/[{}+"]/g, '\\$&')}$`, 'm');
  assert.match(text, line('afxdp_batch_size_bucket{queue="1",le="1"} 2'));
  assert.match(text, line('afxdp_batch_size_bucket{queue="1",le="2"} 2'));
  assert.match(text, line('afxdp_batch_size_bucket{queue="1",le="4"} 5'));
  assert.match(text, line('afxdp_batch_size_bucket{queue="1",le="128"} 5'));
  assert.match(text, line('afxdp_batch_size_bucket{queue="1",le="256"} 6'));
  assert.match(text, line('afxdp_batch_size_bucket{queue="1",le="2048"} 6'));
  assert.match(text, line('afxdp_batch_size_bucket{queue="1",le="+Inf"} 6'));
  assert.match(text, line('afxdp_batch_size_count{queue="1"} 6'));
  assert.match(text, line('afxdp_batch_size_sum{queue="1"} 212'));
  assert.match(text, line('afxdp_handler_info{queue="1",file="/x/echo.wasm",sha256="abcdef012345"} 1'));
  assert.match(text, line('afxdp_handler_reason_total{queue="1",reason="not_echo"} 4'));
  // No swap yet: the family is there, without a sample; no --fair, no admission families.
  assert.match(text, /^# TYPE afxdp_last_swap_duration_seconds gauge$/m);
  assert.not.match(text, /^afxdp_last_swap_duration_seconds /m);
  assert.not.match(text, 'afxdp_admission');
});

test.run();
