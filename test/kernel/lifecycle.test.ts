// The data plane's life around its threads and its interface: an interface
// that vanishes under it, a sleeping worker woken for a swap, and worker
// threads placed on the cores they are given.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { askControl, runAfxdp, runFiles, serving, sleep, startAfxdp } from '../helpers/afxdp.js';
import { ROOT, withEnv } from '../helpers/testenv.js';
import { attachedProgram, ping6 } from '../helpers/traffic.js';

const ECHO = join(ROOT, 'build', 'asm', 'echo.wasm');

for (const how of ['ip link del', 'ip netns del'] as const) {
  for (const mode of [[], ['-p']]) {
    test(`the served interface vanishes (${how}, ${mode.length ? '-p' : 'spin'}, -Q all on 2 queues): one line, exit 1, files removed`, async () => {
      await withEnv({ queues: 2, noPing: true }, async (env) => {
        const run = startAfxdp(['-d', env.name, '-Q', 'all', '-q', ...mode]);
        try {
          await run.ready();
          const files = runFiles(env.name);
          assert.ok(
            existsSync(files.socket) && existsSync(files.owner),
            'control socket and ownership record while it runs',
          );
          const del = how === 'ip link del' ? ['ip', 'link', 'del', env.name] : ['ip', 'netns', 'del', env.name];
          assert.is(spawnSync(del[0]!, del.slice(1)).status, 0);
          const code = await Promise.race([run.exited, sleep(3000).then(() => 'still running')]);
          // Noticed at all within 3 s (the watchdog looks every 250 ms); how soon is a figure of npm run bench.
          assert.is(code, 1, `exit code; stderr: ${run.stderr}`);
          const said = run.stderr
            .trim()
            .split('\n')
            .filter((l) => l.includes(env.name) && /went away|ENETDOWN/.test(l));
          assert.is(said.length, 1, run.stderr);
          assert.match(
            said[0]!,
            new RegExp(`interface ${env.name} went away: its AF_XDP socket \\(queue \\d\\) reports ENETDOWN`),
          );
          assert.not.ok(existsSync(files.socket), 'control socket removed');
          assert.not.ok(existsSync(files.owner), 'ownership record removed');
        } finally {
          await run.kill();
        }
      });
    });
  }
}

test('an idle -p worker takes a swap at once: every one of 10 swaps answered in well under its poll timeout', async () => {
  await withEnv({ noPing: true }, async (env) => {
    const dir = mkdtempSync(join(tmpdir(), 'afxdp-life-'));
    const files = ['a', 'b'].map((n) => join(dir, `${n}.wasm`));
    for (const f of files) copyFileSync(ECHO, f);
    await serving(env.name, ['-p', '--handler', files[0]!], async () => {
      const sock = runFiles(env.name).socket;
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        await sleep(30); // asleep in poll() again
        const t0 = performance.now();
        const reply = await askControl(sock, { cmd: 'swap', path: files[(i + 1) % 2]! });
        assert.ok(reply.ok, String(reply.error));
        times.push(performance.now() - t0);
      }
      // Without a wake-up each swap waits for the poll timeout (250 ms), on average half of it: all ten
      // within one timeout would be chance once in 10! (the sum of ten uniform waits). Each swap's time is
      // a figure of npm run bench.
      const total = times.reduce((a, b) => a + b, 0);
      assert.ok(total < 250, `swap times ${times.map((t) => t.toFixed(1)).join(' ')} ms`);
    });
  });
});

const affinity = (pid: number, tid: string) =>
  /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1];

test('--cpu 1: the worker runs alone on CPU 1, every other thread off it; pings answered; bad lists refused', async () => {
  await withEnv({}, async (env) => {
    await serving(env.name, ['-p', '--cpu', '1'], (r) => {
      const pid = r.child.pid!;
      const placed = readdirSync(`/proc/${pid}/task`).map((tid) => affinity(pid, tid));
      assert.is(placed.filter((a) => a === '1').length, 1, `affinities: ${placed.join(' ')}`);
      assert.ok(
        placed.every((a) => a === '1' || (a !== undefined && !a.split(/[,-]/).includes('1'))),
        placed.join(' '),
      );
      assert.is(ping6(env, 5, 0.05).received, 5);
    });
    for (const [cpu, why] of [
      ['9', /^afxdp-wasm: --cpu 9: no such CPU online/],
      ['one', /^afxdp-wasm: --cpu 'one' is not a CPU list/],
      ['1,1', /^afxdp-wasm: --cpu '1,1' names a CPU twice/],
    ] as const) {
      const res = await runAfxdp(['-d', env.name, '--cpu', cpu]);
      assert.is(res.code, 1);
      assert.is(res.stderr.trim().split('\n').length, 1, res.stderr);
      assert.match(res.stderr, why);
    }
    assert.is(attachedProgram(env.name), undefined);
  });
});

test.run();
