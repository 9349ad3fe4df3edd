import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../helpers/cli.js';

const setUp = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'scripts', 'setup.mjs'), ...args], { encoding: 'utf8' });

// npm test ran at least the offline set-up just before the unit tier, so all it brings is present now.
test('set-up with everything present plans no apt, npm or build step and prints nothing', () => {
  const t0 = performance.now();
  const res = setUp('--for', 'offline', '--dry-run');
  const ms = performance.now() - t0;
  assert.is(res.status, 0, res.stderr);
  assert.is(res.stdout, '');
  assert.is(res.stderr, '');
  console.log(`    (set-up check took ${ms.toFixed(0)} ms)`);
});

test('--dry-run does report work when an output is stale', () => {
  const res = setUp('--dry-run', '--rebuild');
  assert.is(res.status, 0, res.stderr);
  assert.match(res.stdout, /would run: .*asc\.js .*asm\/drop\.ts/);
  assert.match(res.stdout, /would run: clang .*-target bpf/);
  assert.match(res.stdout, /would run: .*node-gyp.* rebuild/);
  assert.match(res.stdout, /would bundle: host\/afxdp-wasm\.ts/);
});

test('--for offline brings no Debian package, bpffs, XDP program or addon: only npm, the handlers and the bundles', () => {
  const res = setUp('--for', 'offline', '--dry-run', '--rebuild');
  assert.is(res.status, 0, res.stderr);
  assert.match(res.stdout, /would run: .*asc\.js .*asm\/echo\.ts/);
  assert.match(res.stdout, /would bundle: host\/afxdp-wasm\.ts/);
  assert.match(res.stdout, /would bundle: .*test\/unit\/echo\.test\.ts/);
  assert.not.match(res.stdout, /apt-get|mount|-target bpf|node-gyp/);
  // clang only where it is installed, and only for the handlers written in C (wasm32).
  for (const line of res.stdout.split('\n').filter((l) => /would run: clang/.test(l))) {
    assert.match(line, /^would run: clang --target=wasm32 .* \S+\/asm\/c\/\w+\.c -o \S+\/build\/asm\/\w+_c\.wasm$/);
  }
});

test('--for takes only what it knows', () => {
  const res = setUp('--for', 'everything', '--dry-run');
  assert.is(res.status, 1);
  assert.is(res.stderr, "setup: --for takes offline or all, not 'everything'\n");
});

test.run();
