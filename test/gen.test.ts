// The load generator: live frames flat out, paced, and trafgen, replies counted
// by its XDP sink, and nothing left attached in the namespace afterwards.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EnvState } from '../host/testenv/state.js';
import { startAfxdp } from './helpers/afxdp.js';
import { ROOT, withEnv } from './helpers/testenv.js';
import { type GenJson, gen } from './helpers/traffic.js';

const innerXdp = (env: EnvState) => spawnSync('ip', ['-n', env.name, 'link', 'show', 'veth0'], { encoding: 'utf8' }).stdout.includes('prog/xdp');

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
    assert.ok(result.replies <= r.exit!.counters.txPackets, `the sink counts no more than we sent: ${result.replies} vs ${r.exit!.counters.txPackets}`);
    assert.ok(result.starvedSeconds !== null);
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
      paced = gen(env, '--seconds', '1', '--rate', '20000');
      viaTrafgen = gen(env, '--seconds', '0.2', '--trafgen');
      assert.is(await r.stop(), 0);
    } finally {
      await r.kill();
    }
    assert.ok(paced.sent >= 19_000 && paced.sent <= 20_000, `paced: ${paced.sent} sent for 20 000 asked`);
    assert.is(paced.replies, paced.sent);
    assert.is(viaTrafgen.replies, viaTrafgen.sent);
    assert.is(paced.starvedSeconds, null);
    // Every request answered once: a frame delivered twice would be answered twice. (The rest of
    // what arrived is the inner side's own ND/MLD traffic, sent when the sink is attached.)
    assert.is(r.exit!.counters.txPackets, paced.sent + viaTrafgen.sent, 'no frame delivered twice');
    assert.ok(r.exit!.counters.rxPackets - r.exit!.counters.txPackets < 100, `other frames: ${r.exit!.counters.rxPackets - r.exit!.counters.txPackets}`);
    assert.not.ok(innerXdp(env));
  });
});

test('--napi-thread: replies received in a NAPI thread are all counted, and the setting is undone', async () => {
  await withEnv({}, async (env) => {
    const threaded = () => spawnSync('ip', ['netns', 'exec', env.name, 'cat', '/sys/class/net/veth0/threaded'], { encoding: 'utf8' }).stdout.trim();
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

test('--help of the subcommands: usage on stdout, exit 0, no root work done', () => {
  for (const [sub, usage] of [['gen', /^Usage: afxdp-wasm gen \[options\]/], ['ctl', /^usage: afxdp-wasm ctl <swap FILE\.wasm \| status \| stats>/]] as const) {
    const res = spawnSync(process.execPath, [join(ROOT, 'dist', 'afxdp-wasm.js'), sub, '--help'], { encoding: 'utf8' });
    assert.is(res.status, 0, res.stderr);
    assert.match(res.stdout, usage);
  }
});

test.run();
