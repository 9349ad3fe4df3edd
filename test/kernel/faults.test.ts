// What a hostile user found, live: handler files that never end, control
// sockets left by killed instances. (Requests that never finish and captures
// cut short need no kernel: test/unit.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { controlDir } from '../../host/lib/paths.js';
import { serving, sleep, startAfxdp } from '../helpers/afxdp.js';
import { ctl, staleSockets, withRunDir } from '../helpers/control.js';
import { ROOT, withEnv } from '../helpers/testenv.js';
import { attachedProgram, ping6 } from '../helpers/traffic.js';

const scratch = mkdtempSync(join(tmpdir(), 'afxdp-faults-'));
const oneLine = (text: string) => text.trim().split('\n').length === 1;

/** Runs afxdp-wasm to its end, or kills it after ms (then code is 'hung'). */
async function runBounded(args: string[], ms: number): Promise<{ code: number | null | 'hung'; stderr: string }> {
  const r = startAfxdp(args);
  try {
    const code = await Promise.race([r.exited, sleep(ms).then(() => 'hung' as const)]);
    return { code, stderr: r.stderr };
  } finally {
    await r.kill();
  }
}

test('a handler that is not a regular file, or too big, gets one line and exit 1 at once', async () => {
  const fifo = join(scratch, 'handler.fifo');
  assert.is(spawnSync('mkfifo', [fifo]).status, 0);
  const big = join(scratch, 'big.wasm');
  writeFileSync(big, '');
  truncateSync(big, 17 * 2 ** 20);
  const cases: [string, RegExp][] = [
    [
      '/dev/zero',
      /^afxdp-wasm: handler \/dev\/zero is a character device, not a regular file; give --handler a \.wasm/,
    ],
    [fifo, /^afxdp-wasm: handler \S+ is a FIFO, not a regular file; give --handler a \.wasm file/],
    [scratch, /^afxdp-wasm: handler \S+ is a directory, not a regular file; give --handler a \.wasm file/],
    [big, /^afxdp-wasm: handler \S+ is 17\.0 MiB, over the 16 MiB limit for a handler; give --handler a \.wasm file/],
  ];
  await withEnv({ noPing: true }, async (env) => {
    for (const [file, message] of cases) {
      const res = await runBounded(['-d', env.name, '--handler', file], 5000);
      assert.is(res.code, 1, `${file}: ${res.stderr}`);
      assert.match(res.stderr, message);
      assert.ok(oneLine(res.stderr), res.stderr);
    }
  });
});

test('a handler whose init never returns gets one line and exit 1 in 5 s, with nothing attached', async () => {
  const looping = join(ROOT, 'build', 'test-asm', 'init_loop.wasm');
  await withEnv({ noPing: true }, async (env) => {
    const res = await runBounded(['-d', env.name, '--handler', looping], 15_000);
    assert.is(res.code, 1, res.stderr);
    assert.match(
      res.stderr,
      /^afxdp-wasm: handler \S+init_loop\.wasm did not return from _start or init within 5 s \(an endless loop\?\)/,
    );
    assert.ok(oneLine(res.stderr), res.stderr);
    assert.is(attachedProgram(env.name), undefined);
  });
});

test('ctl swap of a FIFO is refused at once; the control socket and SIGTERM still work', async () => {
  const fifo = join(scratch, 'swap.fifo');
  assert.is(spawnSync('mkfifo', [fifo]).status, 0);
  await withRunDir(() =>
    withEnv({ noPing: true }, async (env) => {
      await serving(env.name, [], () => {
        const swap = ctl('swap', fifo, '-d', env.name);
        assert.is(swap.code, 1, swap.err);
        assert.match(swap.err, /is a FIFO, not a regular file; .*still running .*echo\.wasm/);
        assert.ok(oneLine(swap.err), swap.err);
        const status = ctl('status', '-d', env.name);
        assert.is(status.code, 0, status.err);
        assert.match(status.out, /^queue 0: .*echo\.wasm/);
      }); // serving() stops it with SIGTERM and wants exit code 0
    }),
  );
});

test('ctl swap of a handler whose init never returns is refused in 5 s; the control socket and ping still work', async () => {
  const looping = join(ROOT, 'build', 'test-asm', 'init_loop.wasm');
  await withRunDir(() =>
    withEnv({}, async (env) => {
      await serving(env.name, [], async () => {
        const t0 = performance.now();
        const res = spawnSync(
          process.execPath,
          [join(ROOT, 'dist', 'afxdp-wasm.js'), 'ctl', 'swap', looping, '-d', env.name],
          {
            encoding: 'utf8',
            timeout: 20_000,
          },
        );
        const swap = { code: res.status, err: res.stderr.trim() };
        assert.is(swap.code, 1, swap.err);
        assert.match(
          swap.err,
          /init_loop\.wasm did not return from _start or init within 5 s .*still running .*echo\.wasm/,
        );
        assert.ok(oneLine(swap.err), swap.err);
        assert.ok(performance.now() - t0 < 15_000);
        const status = ctl('status', '-d', env.name);
        assert.is(status.code, 0, status.err);
        assert.match(status.out, /^queue 0: .*echo\.wasm/);
        assert.is(ping6(env, 3, 0.05).received, 3);
        // The probe thread was replaced: the next swap is probed as usual.
        assert.is(ctl('swap', join(ROOT, 'build', 'asm', 'drop.wasm'), '-d', env.name).code, 0);
      }); // serving() stops it with SIGTERM and wants exit code 0
    }),
  );
});

test('ctl without -d finds the one live instance beside stale sockets and one killed with SIGKILL', async () => {
  await withRunDir(() =>
    withEnv({ noPing: true }, async (killed) => {
      const victim = startAfxdp(['-d', killed.name]);
      try {
        await victim.ready();
      } finally {
        await victim.stop('SIGKILL');
      }
      assert.ok(existsSync(join(controlDir(), `${killed.name}.sock`)), 'SIGKILL left its socket');
      staleSockets('gone1');
      await withEnv({ noPing: true }, (live) =>
        serving(live.name, [], () => {
          const res = ctl('status');
          assert.is(res.code, 0, res.err);
          assert.match(res.out, /^queue 0: .*echo\.wasm/);
          assert.equal(readdirSync(controlDir()), [`${live.name}.sock`]);
        }),
      );
    }),
  );
});

test.run();
