// A start that fails once its first worker runs, on a 2-queue interface under a ping flood:
// that worker is stepping its port while start() unwinds, so this sees whether the ports
// close only after it stopped. The failure is injected by the AFXDP_TEST_FAIL hook of
// host/dataplane/dataplane.ts. Also: the addon's stages are the ones the error table knows.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { STAGES, loadShim } from '../../host/dataplane/shim.js';
import { outerAddr } from '../../host/testenv/state.js';
import { sleep, startAfxdp } from '../helpers/afxdp.js';
import { withEnv } from '../helpers/testenv.js';
import { attachedProgram } from '../helpers/traffic.js';

const ATTEMPTS = 5;
/** A start that leaves a worker running never exits: this long, and it has failed. */
const EXIT_WITHIN_MS = 20_000;

/** Runs afxdp-wasm until it exits on its own; kills it and fails if it does not within EXIT_WITHIN_MS. */
async function runToExit(args: string[]) {
  const run = startAfxdp(args);
  try {
    const code = await Promise.race([run.exited, sleep(EXIT_WITHIN_MS).then(() => 'still running' as const)]);
    assert.is.not(code, 'still running', `afxdp-wasm ${args.join(' ')} did not exit: ${run.stderr}`);
    return { code, stderr: run.stderr };
  } finally {
    await run.kill();
  }
}

test('a start that fails after its first worker: one line, exit 1, nothing attached, no crash', async () => {
  assert.ok(availableParallelism() >= 2, 'needs 2 cores, so that the 2 queues get a worker each');
  await withEnv({ queues: 2, noPing: true }, async (env) => {
    const flood = spawn('ip', ['netns', 'exec', env.name, 'ping', '-6', '-f', '-q', outerAddr(env)], {
      stdio: 'ignore',
    });
    process.env.AFXDP_TEST_FAIL = 'after-first-worker';
    try {
      await sleep(200);
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        // Spin mode: the first worker steps its port all the time while start() unwinds.
        const res = await runToExit(['-d', env.name, '-Q', 'all']);
        // libxdp's dispatcher note may come first; nothing else may.
        const lines = res.stderr
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('Note: '));
        assert.is(res.code, 1, `attempt ${attempt}: ${res.stderr}`);
        assert.equal(
          lines,
          ['afxdp-wasm: start failed on purpose at after-first-worker (AFXDP_TEST_FAIL)'],
          res.stderr,
        );
        assert.is(attachedProgram(env.name), undefined, `attempt ${attempt} left a program`);
      }
    } finally {
      delete process.env.AFXDP_TEST_FAIL;
      flood.kill('SIGKILL');
    }
  });
});

test('AFXDP_TEST_FAIL with an unknown point: one line saying which points there are', async () => {
  await withEnv({ noPing: true }, async (env) => {
    process.env.AFXDP_TEST_FAIL = 'sometime';
    try {
      const res = await runToExit(['-d', env.name]);
      assert.is(res.code, 1, res.stderr);
      assert.match(
        res.stderr,
        /^(Note: .*\n)?afxdp-wasm: AFXDP_TEST_FAIL=sometime is not a failure point; use one of: after-first-worker/,
      );
      assert.is(attachedProgram(env.name), undefined);
    } finally {
      delete process.env.AFXDP_TEST_FAIL;
    }
  });
});

test("the addon's stages are the ones the error table has messages for", () => {
  assert.equal(Object.keys(loadShim().stages).sort(), [...STAGES].sort());
});

test.run();
