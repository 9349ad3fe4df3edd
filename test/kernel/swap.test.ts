// Swapping handlers while packets flow: SIGHUP, --watch and ctl swap under a
// steady flood, handlers that trap, loop or lie, modules that are refused,
// and the control socket's manners.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EnvState } from '../../host/testenv/state.js';
import { ADDON_PATH, loadShim } from '../../host/dataplane/shim.js';
import { controlSocket } from '../../host/lib/paths.js';
import { type Running, runCtl, serving as servingOn, sleep, startAfxdp, waitFor } from '../helpers/afxdp.js';
import { NOBODY, runCli } from '../helpers/cli.js';
import { ROOT, withEnv } from '../helpers/testenv.js';
import { flood, ping6 } from '../helpers/traffic.js';

const ASM = join(ROOT, 'build', 'asm');
const TEST_ASM = join(ROOT, 'build', 'test-asm');
const ECHO = join(ASM, 'echo.wasm');
const DROP = join(ASM, 'drop.wasm');
const RATE_LIMIT = join(ASM, 'rate_limit.wasm');
const scratch = mkdtempSync(join(tmpdir(), 'afxdp-swap-'));

const ctl = runCtl;

/** Replaces a file the way an editor or a build does: write aside, rename over. */
function replaceFile(path: string, bytes: Buffer): void {
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}

const serving = (env: EnvState, args: string[], fn: (r: Running) => Promise<void>) =>
  servingOn(env.name, ['-p', ...args], fn);

const answered = (env: EnvState) => ping6(env, 5, 0.05).received;

/** After a drain every frame is accounted for and every packet has one fate. */
function assertBalanced(r: Running): void {
  const { counters: c, frames } = r.exit!;
  assert.ok(frames.balanced, JSON.stringify(frames));
  assert.is(c.rxPackets, c.txPackets + c.dropped + c.invalid + c.txRingFull, JSON.stringify(c));
}

test('ctl swap and SIGHUP under a steady flood: echo -> drop -> echo, replies stop and resume, nothing lost', async () => {
  await withEnv({}, async (env) => {
    const file = join(scratch, 'live.wasm');
    copyFileSync(ECHO, file);
    const run = await serving(env, ['--handler', file], async (r) => {
      const gen = flood(env, 200);
      try {
        assert.is(answered(env), 5);
        const swapped = ctl('swap', DROP, '-d', env.name);
        assert.is(swapped.code, 0, swapped.err);
        assert.match(swapped.out, /^Swapped in .*drop\.wasm \(sha256 [0-9a-f]{12}\) on queue 0 \(ctl swap\)/);
        assert.is(answered(env), 0);
        assert.match(ctl('status', '-d', env.name).out, /queue 0: .*drop\.wasm \(sha256 [0-9a-f]{12}\) since /);
        assert.is(ctl('swap', file, '-d', env.name).code, 0);
        assert.is(answered(env), 5);
        // SIGHUP reloads the running file from disk.
        replaceFile(file, readFileSync(DROP));
        assert.is(answered(env), 5, 'not reloaded before SIGHUP');
        r.child.kill('SIGHUP');
        await waitFor('the SIGHUP swap', () => /\(SIGHUP\)/.test(r.stderr));
        assert.is(answered(env), 0);
        replaceFile(file, readFileSync(ECHO));
        r.child.kill('SIGHUP');
        await waitFor('the second SIGHUP swap', () => (r.stderr.match(/\(SIGHUP\)/g) ?? []).length === 2);
        assert.is(answered(env), 5);
      } finally {
        await gen.stop();
      }
      await sleep(300);
    });
    assertBalanced(run);
    assert.is(run.exit!.counters.handlerErrors, 0);
    assert.ok(run.exit!.counters.rxPackets > 1000, `flood reached us: ${run.exit!.counters.rxPackets}`);
  });
});

test('--watch swaps when the file changes, and ignores a half-written file', async () => {
  await withEnv({}, async (env) => {
    const file = join(scratch, 'watched.wasm');
    copyFileSync(ECHO, file);
    const run = await serving(env, ['--handler', file, '--watch'], async (r) => {
      const gen = flood(env, 500);
      try {
        assert.is(answered(env), 5);
        replaceFile(file, readFileSync(DROP));
        await waitFor(
          'the watch swap',
          () => /drop|\(file changed\)/.test(r.stderr) && /\(file changed\)/.test(r.stderr),
        );
        assert.is(answered(env), 0);
        replaceFile(file, readFileSync(ECHO).subarray(0, 100)); // half a module
        await waitFor('the refusal', () =>
          /Not swapped \(file changed\): .*not a valid WebAssembly module/.test(r.stderr),
        );
        assert.is(answered(env), 0, 'the running handler stays');
        replaceFile(file, readFileSync(ECHO));
        await waitFor(
          'the second watch swap',
          () => (r.stderr.match(/Swapped in .*\(file changed\)/g) ?? []).length === 2,
        );
        assert.is(answered(env), 5);
      } finally {
        await gen.stop();
      }
      await sleep(300);
    });
    assertBalanced(run);
  });
});

test('a trapping handler loses its batches, then the last good handler comes back', async () => {
  await withEnv({}, async (env) => {
    const run = await serving(env, [], async (r) => {
      assert.is(answered(env), 5);
      assert.is(ctl('swap', join(TEST_ASM, 'trap.wasm'), '-d', env.name).code, 0);
      const res = ping6(env, 12, 0.05);
      assert.ok(res.received >= 5 && res.received <= 7, `5 trapped batches, then echo again: ${res.received} of 12`);
      await waitFor('the fallback', () => /fell back/.test(r.stderr));
      assert.match(
        r.stderr,
        /Handler .*trap\.wasm \(\w+\) trapped in 5 batches in a row \(.*unreachable.*\); queues 0 fell back to .*echo\.wasm/,
      );
      assert.match(ctl('status', '-d', env.name).out, /queue 0: .*echo\.wasm/);
    });
    assert.is(run.exit!.counters.handlerErrors, 5);
    assertBalanced(run);
  });
});

/**
 * Loaded into the responder (NODE_OPTIONS=--import): counts what its main thread receives from
 * workers, and how many of those messages carry a WebAssembly.Module, and says so at exit.
 */
const COUNT_MODULES = join(scratch, 'count-modules.mjs');
writeFileSync(
  COUNT_MODULES,
  `import { Worker, isMainThread } from 'node:worker_threads';
if (isMainThread) {
  let messages = 0;
  let modules = 0;
  const carries = (v, depth) => v instanceof WebAssembly.Module ||
    (depth > 0 && v !== null && typeof v === 'object' && Object.values(v).some((x) => carries(x, depth - 1)));
  const emit = Worker.prototype.emit;
  Worker.prototype.emit = function (name, ...args) {
    if (name === 'message') {
      messages++;
      if (carries(args[0], 3)) modules++;
    }
    return emit.call(this, name, ...args);
  };
  process.on('exit', () => process.stderr.write(\`from workers: \${messages} messages, \${modules} with a module\\n\`));
}
`,
);

test('a handler whose init traps in the worker is refused, and the running one keeps answering', async () => {
  await withEnv({}, async (env) => {
    const run = await serving(env, [], async () => {
      assert.is(answered(env), 5);
      const refused = ctl('swap', join(TEST_ASM, 'init_trap.wasm'), '-d', env.name);
      assert.is(refused.code, 1, refused.out);
      assert.match(
        refused.err,
        /queues 0 kept .*echo\.wasm: the new handler .*init_trap\.wasm \(\w+\) failed to start \(.*unreachable/,
      );
      assert.is(answered(env), 5);
      assert.match(ctl('status', '-d', env.name).out, /queue 0: .*echo\.wasm/);
    });
    assert.is(run.exit!.counters.handlerErrors, 0);
  });
});

test('swaps and a fallback: the worker sends the host no module back (each one would be a new copy on its heap)', async () => {
  await withEnv({}, async (env) => {
    const r = startAfxdp(
      ['-d', env.name, '-p', '--json', '--interval', '0.2'],
      ['env', `NODE_OPTIONS=--import=${COUNT_MODULES}`],
    );
    try {
      await r.ready();
      for (const file of [DROP, ECHO, DROP, ECHO]) assert.is(ctl('swap', file, '-d', env.name).code, 0);
      assert.is(answered(env), 5); // echo proves good: a 'good' message
      assert.is(ctl('swap', join(TEST_ASM, 'trap.wasm'), '-d', env.name).code, 0);
      ping6(env, 12, 0.05);
      await waitFor('the fallback', () => /fell back to .*echo\.wasm/.test(r.stderr));
      assert.match(ctl('status', '-d', env.name).out, /queue 0: .*echo\.wasm/);
      assert.is(await r.stop('SIGTERM'), 0);
    } finally {
      await r.kill();
    }
    const m = /from workers: (\d+) messages, (\d+) with a module/.exec(r.stderr);
    assert.ok(m, r.stderr.slice(-500));
    assert.ok(Number(m[1]) >= 7, `ready, 5 swaps, a good and a fallback at least: ${m[0]}`);
    assert.is(Number(m[2]), 0, m[0]);
  });
});

test('a handler in an endless loop is cut by the watchdog; the worker restarts on the same sockets', async () => {
  await withEnv({}, async (env) => {
    const run = await serving(env, [], async (r) => {
      assert.is(answered(env), 5);
      assert.is(ctl('swap', join(TEST_ASM, 'loop.wasm'), '-d', env.name).code, 0);
      ping6(env, 1, 0.05); // sends it into the loop
      await waitFor(
        'the watchdog',
        () =>
          /loop\.wasm \(\w+\) ran for over 1000 ms in one batch; the worker of queues 0 was restarted with .*echo\.wasm/.test(
            r.stderr,
          ),
        6000,
      );
      assert.is(answered(env), 5);
      // A main thread stuck with the loop would show a period of over the watchdog's 1000 ms.
      assert.ok(r.stats.at(-1)!.period < 1, 'the main thread kept its rhythm');
    });
    assertBalanced(run);
    assert.ok(run.exit!.counters.handlerErrors >= 1);
  });
});

test('a new handler stuck in its init in the worker is blamed, and the one it was to replace serves on', async () => {
  await withEnv({}, async (env) => {
    await serving(env, [], async (r) => {
      assert.is(answered(env), 5); // echo proves good
      const swap = ctl('swap', join(TEST_ASM, 'init_loop_live.wasm'), '-d', env.name);
      assert.is(swap.code, 1, swap.out);
      assert.match(swap.err, /the worker was restarted/);
      await waitFor('the restart', () =>
        /init_loop_live\.wasm \(\w+\) ran for over 1000 ms as it was swapped in; the worker of queues 0 was restarted with .*echo\.wasm/.test(
          r.stderr,
        ),
      );
      assert.is(answered(env), 5);
      assert.match(ctl('status', '-d', env.name).out, /queue 0: .*echo\.wasm/);
    });
  });
});

test('what a worker set aside and never dropped goes back once it is gone (dropAsidesOf its tid), once', async () => {
  // As a packet worker terminated inside a swap leaves it: the old region set aside, then a new
  // handler's init that never returns.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const shim = require(workerData);
    const memory = new WebAssembly.Memory({ initial: 2 });
    new Uint8Array(memory.buffer).fill(1, 65536);
    shim.setAside(new Uint8Array(memory.buffer), 65536, 65536);
    parentPort.postMessage(shim.gettid());
    setInterval(() => {}, 1000);`;
  // Loaded here first, as the serving process does: an addon only a worker loaded is unloaded with it.
  const shim = loadShim();
  const worker = new Worker(code, { eval: true, workerData: ADDON_PATH });
  const [tid] = (await once(worker, 'message')) as [number];
  await worker.terminate();
  assert.is(shim.dropAsidesOf(tid + 1), 0, 'another thread left nothing');
  assert.is(shim.dropAsidesOf(tid), 1);
  assert.is(shim.dropAsidesOf(tid), 0);
});
test('a lying handler never gets its lies sent: every verdict refused and counted', async () => {
  await withEnv({}, async (env) => {
    const run = await serving(env, [], async () => {
      assert.is(ctl('swap', join(TEST_ASM, 'liar.wasm'), '-d', env.name).code, 0);
      assert.is(ping6(env, 8, 0.05).received, 0);
      assert.is(ctl('swap', ECHO, '-d', env.name).code, 0);
      assert.is(answered(env), 5);
    });
    assert.ok(run.exit!.counters.invalid >= 8, `refused: ${run.exit!.counters.invalid}`);
    assert.is(run.exit!.counters.txPackets, 5, "only echo's replies went out");
    assertBalanced(run);
  });
});

test('invalid modules are refused with a reason, and the running handler keeps answering', async () => {
  await withEnv({}, async (env) => {
    await serving(env, [], async () => {
      const cases: [string, RegExp][] = [
        [join(ROOT, 'package.json'), /is not a valid WebAssembly module/],
        [join(TEST_ASM, 'wrong_abi.wasm'), /speaks ABI 99, this host speaks 1/],
        [join(TEST_ASM, 'no_process.wasm'), /does not export process\(batch, count\)/],
        [join(scratch, 'missing.wasm'), /no such file/],
      ];
      for (const [file, why] of cases) {
        const res = ctl('swap', file, '-d', env.name);
        assert.is(res.code, 1, file);
        assert.match(res.err, why);
        assert.match(res.err, /still running .*echo\.wasm/);
        assert.is(answered(env), 5);
      }
    });
  });
});

test('ctl swap --check and --watch --check refuse a handler that fails check, naming the property; echo keeps answering', async () => {
  await withEnv({}, async (env) => {
    const file = join(scratch, 'checked.wasm');
    copyFileSync(ECHO, file);
    await serving(env, ['--handler', file, '--watch', '--check'], async (r) => {
      assert.is(answered(env), 5);
      // Traps on any VLAN-tagged frame: it would pass a ping, so only the check can refuse it.
      const planted = join(TEST_ASM, 'check_trap_vlan.wasm');
      const refused = ctl('swap', '--check', planted, '-d', env.name);
      assert.is(refused.code, 1);
      assert.match(
        refused.err,
        /refused .*check_trap_vlan\.wasm: it fails check's no-trap property: trapped: unreachable/,
      );
      assert.match(refused.err, /still running .*checked\.wasm/);
      assert.is(answered(env), 5, 'the old handler keeps answering');
      assert.match(ctl('status', '-d', env.name).out, /queue 0: .*checked\.wasm/);
      replaceFile(file, readFileSync(join(TEST_ASM, 'check_alloc_udp.wasm')));
      await waitFor('the refusal', () =>
        /Not swapped \(file changed\): refused .*no-allocation property/.test(r.stderr),
      );
      assert.is(answered(env), 5, 'still the old echo');
      const good = ctl('swap', '--check', DROP, '-d', env.name);
      assert.is(good.code, 0, good.err);
      assert.match(good.out, /\(ctl swap, checked\) in \d+\.\d ms/);
      assert.is(answered(env), 0);
    });
  });
});

test('every queue swaps: on a 4-queue veth, ctl status names the new handler on each', async () => {
  await withEnv({ queues: 4, noPing: true }, async (env) => {
    await serving(env, ['-Q', 'all'], async () => {
      assert.is(ctl('swap', DROP, '-d', env.name).code, 0);
      const status = ctl('status', '-d', env.name).out.split('\n');
      assert.is(status.length, 4, status.join('\n'));
      status.forEach((line, q) => {
        assert.match(line, new RegExp(`^queue ${q}: .*drop\\.wasm \\(sha256 [0-9a-f]{12}\\) since `));
      });
      // Two queues a worker: each swap holds both old regions aside at once.
      assert.is(ctl('swap', RATE_LIMIT, '-d', env.name).code, 0);
      const handed = ctl('swap', join(TEST_ASM, 'rate_limit_slow.wasm'), '-d', env.name);
      assert.is(handed.code, 0, handed.err);
      assert.match(handed.out, /; state handed over \(\d+ bytes\); the data path paused \d+\.\d\d ms\.$/m);
    });
  });
});

test('the control socket: owner-only, clear errors, gone at exit', async () => {
  await withEnv({ noPing: true }, async (env) => {
    const sock = controlSocket(env.name);
    await serving(env, [], async (r) => {
      assert.match(r.stderr, new RegExp(`Control socket: ${sock}`));
      assert.is(statSync(sock).mode & 0o777, 0o600);
      const nobody = runCli('afxdp-wasm', ['ctl', 'status', '--socket', sock], { uid: NOBODY });
      assert.is(nobody.status, 1);
      assert.match(
        nobody.stderr,
        /^afxdp-wasm: permission denied on .*: only the user who started afxdp-wasm may control it/,
      );
      assert.match(
        ctl('frobnicate', '-d', env.name).err,
        /^afxdp-wasm: unknown command 'frobnicate'; usage: afxdp-wasm ctl/,
      );
      assert.match(ctl('swap', '-d', env.name).err, /swap needs a handler file/);
      const raw = spawnSync(
        process.execPath,
        [
          '-e',
          `const c=require('net').connect('${sock}',()=>c.write('{"cmd":"reboot"}\\n'));c.on('data',d=>process.stdout.write(d))`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(JSON.parse(raw.stdout), {
        ok: false,
        error: "unknown command 'reboot'; one of: swap, status, stats, capture",
      });
      const stats = JSON.parse(ctl('stats', '-d', env.name).out) as { counters: { framesTotal: number } };
      assert.is(stats.counters.framesTotal, 16384);
    });
    assert.not.ok(spawnSync('test', ['-e', sock]).status === 0, 'socket removed at exit');
    assert.match(ctl('status', '-d', env.name).err, /no afxdp-wasm is listening/);
  });
});

test.run();
