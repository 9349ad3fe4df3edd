import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../helpers/testenv.js';

// The suite itself ran the set-up just before (npm's pretest), so all is present now.
test('set-up with everything present plans no apt, npm or build step and prints nothing', () => {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, [join(ROOT, 'scripts', 'setup.mjs'), '--dry-run'], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  assert.is(res.status, 0, res.stderr);
  assert.is(res.stdout, '');
  assert.is(res.stderr, '');
  console.log(`    (set-up check took ${ms.toFixed(0)} ms)`);
});

test('--dry-run does report work when an output is stale', () => {
  const res = spawnSync(process.execPath, [join(ROOT, 'scripts', 'setup.mjs'), '--dry-run', '--rebuild'], { encoding: 'utf8' });
  assert.is(res.status, 0, res.stderr);
  assert.match(res.stdout, /would run: .*asc\.js .*asm\/drop\.ts/);
  assert.match(res.stdout, /would run: clang .*-target bpf/);
  assert.match(res.stdout, /would run: .*node-gyp.* rebuild/);
  assert.match(res.stdout, /would bundle: host\/afxdp-wasm\.ts/);
});

test.run();
