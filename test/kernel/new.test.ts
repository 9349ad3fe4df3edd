// A handler project of one's own, live: made in a temporary folder outside the repository (afxdp-wasm
// new, npm install offline, npm run build), then served on a test environment of our own, where a ping
// from inside is answered through AF_XDP. (Offline: test/unit/new.test.ts.)
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outerAddr4 } from '../../host/testenv/state.js';
import { serving } from '../helpers/afxdp.js';
import { withProject } from '../helpers/project.js';
import { pingFromInside, withEnv } from '../helpers/testenv.js';
import { ping6 } from '../helpers/traffic.js';

test('new -> build -> serve: the scaffolded handler answers pings over IPv6 and IPv4', async () => {
  await withProject(async ({ dir, npm }) => {
    const build = npm('run', 'build');
    assert.is(build.status, 0, build.out);
    await withEnv({ legacyIp: true }, async (env) => {
      const run = await serving(env.name, ['-p', '--handler', join(dir, 'handler.wasm')], () => {
        const res = ping6(env, 5);
        assert.is(res.received, 5, res.out);
        assert.match(pingFromInside(env, outerAddr4(env), ['-c', '3', '-i', '0.05', '-W', '1']).stdout, '3 received');
      });
      assert.ok((run.exit!.reasons.replied ?? 0) >= 8, JSON.stringify(run.exit!.reasons));
    });
  });
});

test.run();
