// The load generator: live frames flat out, trafgen paced, replies counted by
// its XDP sink, and nothing left attached in the namespace afterwards.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EnvState } from '../host/testenv/state.js';
import { startAfxdp } from './helpers/afxdp.js';
import { ROOT, withEnv } from './helpers/testenv.js';

interface GenJson { sent: number; seconds: number; rate: number; replies: number; starvedSeconds: number | null }

function gen(env: EnvState, ...args: string[]): GenJson {
  const res = spawnSync(process.execPath, [join(ROOT, 'dist', 'afxdp-wasm.js'), 'gen', '--name', env.name, '--json', ...args], { encoding: 'utf8' });
  assert.is(res.status, 0, res.stderr);
  return JSON.parse(res.stdout.trim()) as GenJson;
}

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
    assert.is(r.exit!.counters.rxPackets, paced.sent + viaTrafgen.sent, 'no frame delivered twice');
    assert.not.ok(innerXdp(env));
  });
});

test.run();
