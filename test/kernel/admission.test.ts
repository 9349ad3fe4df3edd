// Admission control under overload (--fair), live: its options, and a ping
// from another source that keeps going through a flood, on the sparse lane,
// while the flood is cut back. (The controller's arithmetic on a model: test/unit.)
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type EnvState, INNER_IF, outerAddr } from '../../host/testenv/state.js';
import { runAfxdp, serving } from '../helpers/afxdp.js';
import { withEnv } from '../helpers/testenv.js';
import { attachedProgram, gen } from '../helpers/traffic.js';

test('options: a bad --target-delay, or --fair with another program, gets one line and attaches nothing', async () => {
  await withEnv({ noPing: true }, async (env) => {
    const cases: [string[], RegExp][] = [
      [['--target-delay', 'soon'], /^afxdp-wasm: --target-delay must be a whole number from 10 to 1000000, not 'soon'/],
      [['--target-delay', '5'], /^afxdp-wasm: --target-delay must be a whole number from 10 to 1000000, not '5'$/],
      [['--fair', '--steer', 'echo'], /^afxdp-wasm: --fair drops in its own XDP program .*cannot go with --steer echo/],
      [['--target-delay', '800', '--no-fair'], /^afxdp-wasm: choose --fair \(or --target-delay\) or --no-fair/],
    ];
    for (const [args, message] of cases) {
      const res = await runAfxdp(['-d', env.name, ...args]);
      assert.is(res.code, 1, `${args.join(' ')}: ${res.stderr}`);
      assert.is(res.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr.trim(), message);
      assert.is(attachedProgram(env.name), undefined);
    }
  });
});

/** A source in another /64 inside the namespace: another flow for xsk_fair. */
const SPARSE_SRC = 'fd00:fa1::3';

interface PingResult {
  sent: number;
  received: number;
  rtts: number[];
}

/** ping -i 0.01 from SPARSE_SRC to the outer address, started before and running during fn. */
async function pingDuring(env: EnvState, count: number, fn: () => void): Promise<PingResult> {
  const args = ['-6', '-n', '-i', '0.01', '-c', String(count), '-W', '1', '-I', SPARSE_SRC, outerAddr(env)];
  const child = spawn('ip', ['netns', 'exec', env.name, 'ping', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const done = new Promise((resolve) => child.once('exit', resolve));
  try {
    fn();
  } finally {
    await done;
  }
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  const rtts = [...out.matchAll(/time=([\d.]+)/g)].map((r) => Number(r[1])).sort((a, b) => a - b);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), rtts };
}

const loss = (p: PingResult) => (p.sent - p.received) / Math.max(1, p.sent);
const p99 = (p: PingResult) => p.rtts[Math.floor(p.rtts.length * 0.99)] ?? Infinity;

test('live: a ping from another source gets through a flood with --fair, and fares worse without', async () => {
  await withEnv({}, async (env) => {
    spawnSync('ip', ['-n', env.name, 'addr', 'add', `${SPARSE_SRC}/64`, 'dev', INNER_IF, 'nodad']);
    const results: Record<string, { ping: PingResult; sent: number }> = {};
    for (const [name, args] of [
      ['fair', ['--fair']],
      ['off', ['--steer', 'fair', '--no-fair']],
    ] as const) {
      let sent = 0;
      const run = await serving(env.name, ['-p', ...args], async () => {
        const ping = await pingDuring(env, 250, () => {
          sent = gen(env, '--seconds', '3').sent;
        });
        results[name] = { ping, sent };
      });
      const { counters: c, frames } = run.exit!;
      assert.ok(frames.balanced, JSON.stringify(frames));
      assert.is(c.rxPackets, c.txPackets + c.dropped + c.invalid + c.txRingFull);
      const dropped = c.admissionDropped;
      if (name === 'fair') {
        assert.ok(dropped > sent / 10, `admission dropped ${dropped} of ${sent}`);
        // The ping, a sparse flow, rode the lane; the flood, far above FAIR_SPARSE a window, did not.
        const pings = results[name]!.ping.received;
        assert.ok(c.sparseLanePackets > 0, `sparse lane ${c.sparseLanePackets}, pings answered ${pings}`);
        assert.ok(c.sparseLanePackets < c.rxPackets / 10, `sparse lane ${c.sparseLanePackets} of ${c.rxPackets}`);
      } else assert.equal([dropped, c.sparseLanePackets], [0, 0]);
    }
    const { fair, off } = results as Record<'fair' | 'off', { ping: PingResult }>;
    const say =
      `fair: loss ${(loss(fair.ping) * 100).toFixed(1)}% p99 ${p99(fair.ping)} ms; ` +
      `off: loss ${(loss(off.ping) * 100).toFixed(1)}% p99 ${p99(off.ping)} ms`;
    assert.ok(loss(fair.ping) <= 0.05, say);
    assert.ok(p99(fair.ping) < 1000, say);
    // Without admission the full ring either drops the ping or holds it for tens of ms, by the machine's mood.
    assert.ok(loss(off.ping) > loss(fair.ping) + 0.05 || p99(off.ping) > 4 * p99(fair.ping), say);
  });
});

test.run();
