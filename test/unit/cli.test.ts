// The commands where they need neither root nor a kernel: usage, and a missing tool named.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { requireCommands } from '../../host/lib/exec.js';
import { ROOT } from '../helpers/cli.js';

test('--help of the subcommands: usage on stdout, exit 0, no root work done', () => {
  for (const [sub, usage] of [
    ['gen', /^Usage: afxdp-wasm gen \[options\]/],
    ['ctl', /^usage: afxdp-wasm ctl <swap \[--check\] FILE\.wasm \| status \| stats \| capture FILE\|->/],
  ] as const) {
    const res = spawnSync(process.execPath, [join(ROOT, 'dist', 'afxdp-wasm.js'), sub, '--help'], { encoding: 'utf8' });
    assert.is(res.status, 0, res.stderr);
    assert.match(res.stdout, usage);
  }
});

test('a missing tool is named, with the fix', () => {
  assert.throws(
    () => requireCommands('ip', 'no-such-tool-here'),
    /missing tool: no-such-tool-here \(run 'npm run setup' as root/,
  );
});

test('the bundle copied away from its checkout says so in one line, exit 1, rather than searching upwards forever', () => {
  const away = mkdtempSync(join(tmpdir(), 'afxdp-lonely-'));
  try {
    cpSync(join(ROOT, 'dist'), join(away, 'dist'), { recursive: true }); // dist/chunks/ with it
    for (const [bundle, args, prog] of [
      ['afxdp-wasm.js', ['--help'], 'afxdp-wasm'],
      ['afxdp-wasm.js', [], 'afxdp-wasm'],
      ['afxdp-wasm.js', ['fuzz', '--runs', '1'], 'afxdp-wasm'],
      ['replay.js', ['--help'], 'replay'],
      ['testenv.js', ['--help'], 'testenv'],
    ] as const) {
      const res = spawnSync(process.execPath, [join(away, 'dist', bundle), ...args], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      const what = `${bundle} ${args.join(' ')}: ${res.stderr}`;
      assert.is(res.status, 1, what);
      assert.match(
        res.stderr,
        new RegExp(`^${prog}: no package\\.json above \\S+: afxdp-wasm runs from its checkout [^\\n]+\\n$`),
        what,
      );
      assert.is(res.stdout, '', what);
    }
  } finally {
    rmSync(away, { recursive: true, force: true });
  }
});

test.run();
