// Admission control (--fair): the controller's arithmetic, shim/admission.c,
// against a fluid model of one queue (live: test/kernel).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { ROOT } from '../helpers/cli.js';
import { testWith } from '../helpers/tools.js';

const scratch = mkdtempSync(join(tmpdir(), 'afxdp-admission-'));
// The model is C: it compiles the shim's own controller.
const test = testWith('clang');

interface Sim {
  meanDelayUs: number;
  p99DelayUs: number;
  maxDelayUs: number;
  servedRatio: number;
  everCongested: boolean;
  drops: number;
  clearedAfterMs: number;
}

/** test/admission/sim.c: the controller against a fluid model of one queue. */
function simulate(
  offeredPps: number,
  servicePps: number,
  targetUs: number,
  seconds: number,
  stopAtS: number,
  stall: [everyMs: number, forMs: number] = [0, 0],
  pause: [everyMs: number, forMs: number] | [] = [],
): Sim {
  const exe = join(scratch, 'sim');
  const sources = [join(ROOT, 'test', 'admission', 'sim.c'), join(ROOT, 'shim', 'admission.c')];
  const cc = spawnSync('clang', ['-O2', '-Wall', '-Werror', '-o', exe, ...sources], { encoding: 'utf8' });
  assert.is(cc.status, 0, cc.stderr);
  const res = spawnSync(exe, [offeredPps, servicePps, targetUs, seconds, stopAtS, ...stall, ...pause].map(String), {
    encoding: 'utf8',
  });
  assert.is(res.status, 0, res.stderr);
  return JSON.parse(res.stdout) as Sim;
}

test('controller: a flood at 3x the service rate is held near the target, served in full, let go after it ends', () => {
  for (const target of [500, 2000]) {
    const s = simulate(2_400_000, 800_000, target, 3, 2);
    assert.ok(s.everCongested && s.drops > 0, JSON.stringify(s));
    assert.ok(s.meanDelayUs <= target * 1.5 && s.maxDelayUs <= target * 3, `target ${target}: ${JSON.stringify(s)}`);
    assert.ok(s.servedRatio >= 0.95, `target ${target}: ${JSON.stringify(s)}`);
    assert.ok(s.clearedAfterMs >= 0 && s.clearedAfterMs <= 150, `target ${target}: ${JSON.stringify(s)}`);
  }
});

test('controller: flooded at 3x, a port taken off its core now and then still serves nearly all it can', () => {
  // A stall leaves a backlog above the target that no admission caused; cutting again at every tick
  // until the ring shows the first cut starved the port afterwards (0.91 of its rate, and 0.73 with
  // a stall every 20 ms).
  const stalls: [everyMs: number, forMs: number][] = [
    [50, 2],
    [20, 2],
  ];
  for (const stall of stalls) {
    const s = simulate(1_500_000, 450_000, 1000, 4, 4, stall);
    assert.ok(s.servedRatio >= 0.93, `stalls ${stall}: ${JSON.stringify(s)}`);
    assert.ok(s.p99DelayUs <= 1000 + stall[1] * 1000 * 2, `stalls ${stall}: ${JSON.stringify(s)}`);
  }
});

test('controller: a load the port keeps up with is never marked congested', () => {
  const s = simulate(700_000, 800_000, 500, 2, 2);
  assert.not.ok(s.everCongested, JSON.stringify(s));
  assert.is(s.drops, 0);
});

test('controller: at 80% and 90% load, a sender that stalls and then catches up at once is never cut', () => {
  // Its catch-up leaves a backlog of up to 27 ms that drains by itself: bursts the buffer holds, not
  // an overload. Cut after 10 ms above the target, 10 ms stalls a second lost 1,600-2,800 requests a
  // burst; cut after 100 ms above it, 30 ms stalls every 50 ms lost 58% of them.
  const pauses: [everyMs: number, forMs: number][] = [
    [1000, 10],
    [50, 30],
  ];
  for (const load of [0.8, 0.9])
    for (const pause of pauses) {
      const s = simulate(350_000 * load, 350_000, 1000, 10, 10, [0, 0], pause);
      const say = `load ${load}, pauses ${pause}: ${JSON.stringify(s)}`;
      assert.ok(s.maxDelayUs > 4 * 1000, `the bursts must pass the target: ${say}`);
      assert.is(s.drops, 0, say);
    }
});

test('controller: 10% over what the port serves is found overloaded and cut, long before the ring fills', () => {
  const s = simulate(385_000, 350_000, 1000, 3, 3);
  assert.ok(s.everCongested && s.drops > 0, JSON.stringify(s));
  assert.ok(s.p99DelayUs <= 1500 && s.servedRatio >= 0.98, JSON.stringify(s));
});

test('controller: at half load, a port taken off its core now and then is not starved of packets afterwards', () => {
  // Each stall leaves a backlog above the target, so the queue may be marked congested for a moment;
  // the quantum must come back at once when the ring runs dry, not stay at what the stall suggested.
  const s = simulate(400_000, 800_000, 1000, 2, 2, [50, 3]);
  assert.ok(s.drops <= 400_000 * 2 * 0.02, `dropped ${s.drops} of ${400_000 * 2}: ${JSON.stringify(s)}`);
});

test.run();
