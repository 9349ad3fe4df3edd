// The systemd unit we ship (contrib/systemd/afxdp-wasm@.service) works as
// written: its ExecStart, run under its CapabilityBoundingSet (setpriv does
// what systemd would; the test VM has no systemd as init), with its user made
// for the test, serves, answers ctl as that user, reloads on ExecReload's
// SIGHUP, and detaches on systemd's SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { distFile, runDir } from '../../host/lib/paths.js';
import { Running, sleep } from '../helpers/afxdp.js';
import { withRunDir } from '../helpers/control.js';
import { ROOT, withEnv } from '../helpers/testenv.js';
import { attachedProgram, ping6 } from '../helpers/traffic.js';

const UNIT = join(ROOT, 'contrib', 'systemd', 'afxdp-wasm@.service');
/** Where the unit expects the project and Node; the test runs this checkout with this Node. */
const INSTALLED = '/opt/afxdp-wasm';
const NODE = '/usr/bin/node';

function directive(text: string, name: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${name}=`));
  assert.ok(line, `the unit has ${name}=`);
  return line!.slice(name.length + 1).trim();
}

/** The unit's ExecStart for instance ifname, as this checkout's argv. */
function execStart(text: string, ifname: string): string[] {
  return directive(text, 'ExecStart')
    .split(/\s+/)
    .map((word) => (word === NODE ? process.execPath : word.replaceAll(INSTALLED, ROOT).replaceAll('%i', ifname)));
}

/** CapabilityBoundingSet as setpriv's --bounding-set. */
function boundingSet(text: string): string {
  const caps = directive(text, 'CapabilityBoundingSet').split(/\s+/);
  return ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
}

/** Makes the unit's user unless it exists; removes it afterwards only if made here. */
async function withUser(name: string, fn: () => Promise<void>): Promise<void> {
  const exists = spawnSync('id', ['-u', name]).status === 0;
  if (!exists) {
    const made = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    assert.is(made.status, 0, String(made.stderr));
  }
  try {
    await fn();
  } finally {
    if (!exists) spawnSync('userdel', [name]);
  }
}

test("the shipped unit's ExecStart, under its CapabilityBoundingSet: serves as its user, ctl, reload, stop", async () => {
  const text = readFileSync(UNIT, 'utf8');
  const user = execStart(text, 'x')[execStart(text, 'x').indexOf('--user') + 1]!;
  assert.is(user, 'afxdp-wasm');
  await withUser(user, () =>
    withRunDir(async () => {
      const dir = runDir();
      try {
        await withEnv({}, async (env) => {
          const argv = ['--bounding-set', boundingSet(text), ...execStart(text, env.name)];
          const run = new Running(spawn('setpriv', argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
          try {
            await run.ready();
            assert.match(run.stderr, `Running as ${user}`);
            const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout);
            assert.match(readFileSync(`/proc/${run.child.pid}/status`, 'utf8'), new RegExp(`^Uid:\\s+${uid}\\s`, 'm'));
            assert.is(ping6(env, 3).received, 3);
            const ctlArgv = [`--reuid=${user}`, `--regid=${user}`, '--clear-groups', process.execPath];
            const status = spawnSync('setpriv', [...ctlArgv, distFile('afxdp-wasm.js'), 'ctl', 'status'], {
              encoding: 'utf8',
              timeout: 8000,
            });
            assert.is(status.status, 0, status.stderr);
            assert.match(status.stdout, /echo\.wasm/);
            assert.is(directive(text, 'ExecReload'), '/bin/kill -HUP $MAINPID');
            run.child.kill('SIGHUP');
            for (let i = 0; i < 50 && !run.stderr.includes('(SIGHUP)'); i++) await sleep(50);
            assert.match(run.stderr, /Swapped in .*echo\.wasm .*\(SIGHUP\)/);
            assert.is(await run.stop('SIGTERM'), 0, run.stderr);
            assert.is(attachedProgram(env.name), undefined, 'detached at stop');
          } finally {
            await run.kill();
          }
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );
});

test.run();
