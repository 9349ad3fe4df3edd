// serve --user: set up as root, then serve as another user with only the
// capabilities it still needs, on every thread; ctl works as that user; exit
// and SIGKILL recovery still leave no XDP program behind.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KEPT } from '../../host/dataplane/privileges.js';
import { controlSocket, distFile, runDir } from '../../host/lib/paths.js';
import { runAfxdp, serving, startAfxdp } from '../helpers/afxdp.js';
import { withRunDir } from '../helpers/control.js';
import { ROOT, withEnv } from '../helpers/testenv.js';
import { attachedProgram, ping6 } from '../helpers/traffic.js';

const USER = 'nobody';
const GROUP = 'nogroup';
const uidOf = (name: string) => Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
const DROP = join(ROOT, 'build', 'asm', 'drop.wasm');

// linux/capability.h
const CAP = { DAC_OVERRIDE: 1, SYS_PTRACE: 19, SYS_ADMIN: 21 } as const;
const KEPT_MASK = Object.values(KEPT).reduce((m, bit) => m | (1n << BigInt(bit)), 0n);

interface Task {
  tid: string;
  uids: number[];
  gids: number[];
  prm: bigint;
  eff: bigint;
  bnd: bigint;
  noNewPrivs: boolean;
}

function tasks(pid: number): Task[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    const caps = (name: string) => BigInt(`0x${field(name)}`);
    return {
      tid,
      uids: field('Uid').split(/\s+/).map(Number),
      gids: field('Gid').split(/\s+/).map(Number),
      prm: caps('CapPrm'),
      eff: caps('CapEff'),
      bnd: caps('CapBnd'),
      noNewPrivs: field('NoNewPrivs') === '1',
    };
  });
}

/** afxdp-wasm ctl run as USER, with this process's environment (its run dir). */
function ctlAs(...args: string[]) {
  const argv = [`--reuid=${USER}`, `--regid=${GROUP}`, '--clear-groups', process.execPath, distFile('afxdp-wasm.js')];
  const res = spawnSync('setpriv', [...argv, 'ctl', ...args], { encoding: 'utf8', timeout: 8000 });
  return { code: res.status, out: res.stdout.trim(), err: res.stderr.trim() };
}

/** A run dir of its own: the test hands its ctl/ to USER, which must not touch the machine's. */
async function inRunDir(fn: () => Promise<void>): Promise<void> {
  await withRunDir(async () => {
    const dir = runDir();
    try {
      await fn();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// libxdp's own program, and one of ours loaded through the shim (the default: its admission map
// and sparse lanes too).
for (const [args, program] of [
  [['--no-fair'], 'xsk_def_prog'],
  [[], 'xsk_fair'],
] as const) {
  const how = args.length ? args.join(' ') : 'default program';
  test(`--user ${USER} (${how}): every thread runs as ${USER} without root's capabilities; pings answered; ctl as ${USER}; exit detaches`, async () => {
    await inRunDir(() =>
      withEnv({}, async (env) => {
        const uid = uidOf(USER);
        await serving(env.name, [...args, '--user', USER], (run) => {
          assert.match(run.stderr, `Running as ${USER} (uid ${uid})`);
          const all = tasks(run.child.pid!);
          assert.ok(all.length > 5, `Node's threads and the worker: ${all.length}`);
          for (const t of all) {
            const where = `task ${t.tid}`;
            assert.equal(t.uids, [uid, uid, uid, uid], `${where} Uid`);
            assert.ok(!t.gids.includes(0), `${where} Gid ${t.gids}`);
            for (const [name, bit] of Object.entries(CAP)) {
              assert.is((t.eff >> BigInt(bit)) & 1n, 0n, `${where} CapEff has CAP_${name}`);
              assert.is((t.prm >> BigInt(bit)) & 1n, 0n, `${where} CapPrm has CAP_${name}`);
            }
            assert.is(t.eff & ~KEPT_MASK, 0n, `${where} CapEff ${t.eff.toString(16)}: more than the kept`);
            assert.ok(t.noNewPrivs, `${where} NoNewPrivs`);
          }
          const main = all.find((t) => t.tid === String(run.child.pid))!;
          assert.is(main.eff, KEPT_MASK, 'the main thread keeps what it detaches with');
          assert.is(main.bnd, KEPT_MASK, 'and its bounding set holds nothing else');

          assert.is(ping6(env, 3).received, 3, 'pings answered as nobody');
          assert.is(statSync(controlSocket(env.name)).uid, uid, 'the control socket is the user');
          const status = ctlAs('status', '-d', env.name);
          assert.is(status.code, 0, status.err);
          assert.match(status.out, /echo\.wasm/);
          const swap = ctlAs('swap', '-d', env.name, DROP);
          assert.is(swap.code, 0, swap.err);
          assert.match(ctlAs('status').out, /drop\.wasm/, 'ctl without -d finds it too');
          assert.is(ping6(env, 2).received, 0, 'the swap took: drop answers nothing');
          assert.is(attachedProgram(env.name), program);
        });
        assert.is(attachedProgram(env.name), undefined, 'its exit detached the XDP program');
      }),
    );
  });
}

test(`--user ${USER} killed with SIGKILL: the next start, as root, removes the program it left`, async () => {
  await inRunDir(() =>
    withEnv({}, async (env) => {
      const victim = startAfxdp(['-d', env.name, '--user', USER]);
      try {
        await victim.ready();
      } finally {
        await victim.stop('SIGKILL');
      }
      assert.is(attachedProgram(env.name), 'xsk_fair', 'SIGKILL left its program');
      const next = await serving(env.name, [], () => {
        assert.is(ping6(env, 2).received, 2);
      });
      assert.match(next.stderr, `that a killed afxdp-wasm (pid ${victim.child.pid}) left on ${env.name}`);
      assert.is(attachedProgram(env.name), undefined);
    }),
  );
});

test('--user refused in one line: an unknown user; when not started as root', async () => {
  const unknown = await runAfxdp(['-d', 'lo', '--user', 'no-such-user-afxdp']);
  assert.is(unknown.code, 1);
  assert.equal(unknown.stderr.trim().split('\n'), [
    "afxdp-wasm: --user: no user named 'no-such-user-afxdp' (getent passwd lists them)",
  ]);
  const argv = [`--reuid=${USER}`, `--regid=${GROUP}`, '--clear-groups', process.execPath, distFile('afxdp-wasm.js')];
  const notRoot = spawnSync('setpriv', [...argv, '-d', 'lo', '--user', USER], { encoding: 'utf8', timeout: 8000 });
  assert.is(notRoot.status, 1, notRoot.stderr);
  assert.equal(notRoot.stderr.trim().split('\n'), [
    `afxdp-wasm: --user ${USER} drops root after set-up, so it needs to start as root: run it with sudo`,
  ]);
});

test.run();
