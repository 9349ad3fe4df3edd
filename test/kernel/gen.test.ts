// The load generator: live frames flat out, paced, and trafgen, replies counted
// by its XDP sink, round trips measured from the stamps in the requests, and
// nothing left attached in the namespace afterwards.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EnvState } from '../../host/testenv/state.js';
import { serving, sleep, startAfxdp, waitFor } from '../helpers/afxdp.js';
import { ROOT, withEnv } from '../helpers/testenv.js';
import { type GenJson, type Latency, gen, genAsync, generatorPid } from '../helpers/traffic.js';

const innerXdp = (env: EnvState) =>
  spawnSync('ip', ['-n', env.name, 'link', 'show', 'veth0'], { encoding: 'utf8' }).stdout.includes('prog/xdp');

test('flat out, against our echo responder: frames go out by the million, replies come back, the sink counts them', async () => {
  await withEnv({}, async (env) => {
    const r = startAfxdp(['-d', env.name, '-q', '-p', '--json', '--interval', '60']);
    let result: GenJson;
    try {
      await r.ready();
      result = gen(env, '--seconds', '1');
      assert.is(await r.stop(), 0);
    } finally {
      await r.kill();
    }
    assert.ok(result.sent >= 100_000, `sent ${result.sent}`);
    assert.ok(result.replies > 1000, `replies ${result.replies}`);
    assert.ok(
      result.replies <= r.exit!.counters.txPackets,
      `the sink counts no more than we sent: ${result.replies} vs ${r.exit!.counters.txPackets}`,
    );
    assert.ok(result.starvedSeconds !== null);
    assert.ok(
      result.latency && result.latency.samples > 0 && result.latency.samples <= result.replies,
      `stamped replies: ${JSON.stringify(result.latency)} of ${result.replies}`,
    );
    assert.not.ok(innerXdp(env), 'the sink is detached');
  });
});

test('paced (AF_XDP) and through trafgen: every frame reaches the responder exactly once, every reply is counted', async () => {
  await withEnv({}, async (env) => {
    const r = startAfxdp(['-d', env.name, '-q', '-p', '--json', '--interval', '60']);
    let paced: GenJson;
    let viaTrafgen: GenJson;
    try {
      await r.ready();
      // Every frame due is sent, even after a stall: this counts frames, not the pacing.
      paced = gen(env, '--seconds', '1', '--rate', '20000', '--catch-up', '0');
      viaTrafgen = gen(env, '--seconds', '0.2', '--trafgen');
      assert.is(await r.stop(), 0);
    } finally {
      await r.kill();
    }
    assert.ok(paced.sent >= 19_000 && paced.sent <= 20_000, `paced: ${paced.sent} sent for 20 000 asked`);
    assert.is(paced.replies, paced.sent);
    assert.is(paced.lost, 0);
    assert.is(r.exit!.reasons.bad_checksum ?? 0, 0, 'every stamped request passed the checksum check');
    plausible(paced.latency, paced.replies);
    assert.is(viaTrafgen.replies, viaTrafgen.sent);
    assert.is(viaTrafgen.latency, null, 'trafgen sends no stamps');
    assert.is(paced.starvedSeconds, null);
    // Every request answered once: a frame delivered twice would be answered twice. (The rest of
    // what arrived is the inner side's own ND/MLD traffic, sent when the sink is attached.)
    assert.is(r.exit!.counters.txPackets, paced.sent + viaTrafgen.sent, 'no frame delivered twice');
    assert.ok(
      r.exit!.counters.rxPackets - r.exit!.counters.txPackets < 100,
      `other frames: ${r.exit!.counters.rxPackets - r.exit!.counters.txPackets}`,
    );
    assert.not.ok(innerXdp(env));
  });
});

/** Every reply stamped and measured; percentiles in order, and under a second. Returns p50. */
function plausible(l: Latency | null, replies: number): number {
  assert.ok(l, 'latency measured');
  assert.is(l.samples, replies, 'one sample per reply');
  const [p50, p99, max] = [l.p50Us ?? NaN, l.p99Us ?? NaN, l.maxUs ?? NaN];
  assert.ok(p50 > 0 && p50 <= p99 && p99 <= max && max < 1e6, `p50 ${p50} p99 ${p99} max ${max} us`);
  return p50;
}

/** gen with these arguments while afxdp-wasm serves the environment with args. */
async function genAgainst(env: EnvState, args: string[], genArgs: string[]): Promise<GenJson> {
  let result: GenJson | undefined;
  await serving(env.name, ['-q', ...args], () => {
    result = gen(env, ...genArgs);
  });
  return result!;
}

test('the stamps measure the round trip: a responder that holds packets back shows it, one that drops shows none', async () => {
  await withEnv({}, async (env) => {
    const paced = ['--seconds', '0.5', '--rate', '5000'];
    const prompt = await genAgainst(env, ['-p'], paced);
    // Napping 2 ms whenever the arrival rate gathers 4 packets in that time: each request waits about 1 ms.
    const held = await genAgainst(env, ['--coalesce', '2000'], paced);
    const dropped = await genAgainst(env, ['--handler', join(ROOT, 'build', 'asm', 'drop.wasm')], paced);
    const [promptP50, heldP50] = [plausible(prompt.latency, prompt.replies), plausible(held.latency, held.replies)];
    assert.ok(heldP50 >= 400 && heldP50 > 2 * promptP50, `held back: p50 ${heldP50} us; prompt: ${promptP50} us`);
    assert.is(dropped.replies, 0);
    assert.is(dropped.lost, dropped.sent);
    assert.equal(dropped.latency, { samples: 0, p50Us: null, p90Us: null, p99Us: null, p999Us: null, maxUs: null });
    assert.not.ok(innerXdp(env));
  });
});

test('--napi-thread: replies received in a NAPI thread are all counted, and the setting is undone', async () => {
  await withEnv({}, async (env) => {
    const threaded = () =>
      spawnSync('ip', ['netns', 'exec', env.name, 'cat', '/sys/class/net/veth0/threaded'], {
        encoding: 'utf8',
      }).stdout.trim();
    const r = startAfxdp(['-d', env.name, '-q', '-p', '--json', '--interval', '60']);
    let result: GenJson;
    try {
      await r.ready();
      result = gen(env, '--seconds', '0.3', '--rate', '20000', '--napi-thread');
      assert.is(await r.stop(), 0);
    } finally {
      await r.kill();
    }
    assert.ok(result.sent >= 5000, `sent ${result.sent}`);
    assert.is(result.replies, result.sent);
    assert.is(threaded(), '0');
    assert.not.ok(innerXdp(env));
  });
});

/** gen paced at 20k/s for 1.5 s, its sender stopped (SIGSTOP) for STOPPED_MS once it is well under way. */
const STOPPED_MS = 400;
async function stalledGen(env: EnvState, genArgs: string[]): Promise<GenJson> {
  const result = genAsync(env, [], '--seconds', '1.5', '--rate', '20000', ...genArgs);
  const arrived = () => Number(readFileSync(`/sys/class/net/${env.name}/statistics/rx_packets`, 'utf8'));
  const before = arrived();
  await waitFor('the sender under way', () => generatorPid(env.name) !== undefined && arrived() > before + 1000);
  const pid = generatorPid(env.name)!;
  await sleep(200);
  process.kill(pid, 'SIGSTOP');
  await sleep(STOPPED_MS);
  process.kill(pid, 'SIGCONT');
  return result;
}

test('paced, after a stall the sender gives up what fell due (--catch-up) instead of bursting it, and says so', async () => {
  await withEnv({}, async (env) => {
    let bounded: GenJson | undefined;
    let unbounded: GenJson | undefined;
    await serving(env.name, ['-q', '-p'], async () => {
      bounded = await stalledGen(env, []);
      unbounded = await stalledGen(env, ['--catch-up', '0']);
    });
    const stalled = (STOPPED_MS / 1000) * 20_000;
    const [b, u] = [bounded!, unbounded!];
    assert.ok(b.pace && u.pace, 'pace reported');
    assert.ok(b.pace.worstLagMs >= STOPPED_MS * 0.8, `worst lag ${b.pace.worstLagMs} ms`);
    assert.ok(b.pace.stalls >= 1, `stalls ${b.pace.stalls}`);
    assert.ok(b.pace.skipped >= stalled * 0.8, `given up ${b.pace.skipped} of the ~${stalled} due while stopped`);
    assert.ok(b.sent + b.pace.skipped >= 29_000 && b.sent + b.pace.skipped <= 30_000, `${b.sent} + ${b.pace.skipped}`);
    assert.is(b.lost, 0, 'nothing the responder had to drop');
    // --catch-up 0: the old pacing, everything due sent after the stall.
    assert.is(u.pace.skipped, 0);
    assert.ok(u.sent >= 29_000 && u.sent <= 30_000, `unbounded: ${u.sent} sent`);
    assert.ok(u.pace.worstLagMs >= STOPPED_MS * 0.8, `unbounded worst lag ${u.pace.worstLagMs} ms`);
  });
});

test.run();
