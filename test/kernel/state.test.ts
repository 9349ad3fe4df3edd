// State hand-over across a swap, live (asm/CONTRACT.md, *Swaps*): the rate
// limiter's buckets survive ctl swap, SIGHUP and --watch into a build with
// another rate; a handler without state_restore starts fresh; a trapping
// state_restore refuses the swap and the old handler serves on, state intact.
// The test builds give each source 5 replies at once, then one per 20 s or
// 50 s: a spent bucket stays spent for the length of a test.
import { copyFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type EnvState, outerAddr4 } from '../../host/testenv/state.js';
import { type Running, runCtl as ctl, serving as servingOn, waitFor } from '../helpers/afxdp.js';
import { ROOT, pingFromInside, withEnv } from '../helpers/testenv.js';
import { ping6 } from '../helpers/traffic.js';

const TEST_ASM = join(ROOT, 'build', 'test-asm');
const SLOW = join(TEST_ASM, 'rate_limit_slow.wasm');
const SLOWER = join(TEST_ASM, 'rate_limit_slower.wasm');
const AMNESIC = join(TEST_ASM, 'rate_limit_amnesic.wasm');
const RESTORE_TRAP = join(TEST_ASM, 'restore_trap.wasm');
const STATEFUL_TRAP_V4 = join(TEST_ASM, 'stateful_trap_v4.wasm');
const ECHO = join(ROOT, 'build', 'asm', 'echo.wasm');
const scratch = mkdtempSync(join(tmpdir(), 'afxdp-state-'));

const serving = (env: EnvState, args: string[], fn: (r: Running) => Promise<void>) =>
  servingOn(env.name, ['-p', ...args], fn);

/** Replies to n pings from the inside's IPv6 address: one source, one bucket. */
const v6 = (env: EnvState, n: number) => ping6(env, n, 0.05).received;
/** Replies to n pings from the inside's IPv4 address: another source. */
function v4(env: EnvState, n: number): number {
  const out = pingFromInside(env, outerAddr4(env), ['-c', String(n), '-i', '0.05', '-W', '1']).stdout;
  return Number(/(\d+) received/.exec(out)?.[1] ?? -1);
}

function replaceFile(path: string, from: string): void {
  writeFileSync(`${path}.tmp`, readFileSync(from));
  renameSync(`${path}.tmp`, path);
}

/** The rate limiter's blob: a 16-byte header and 4096 buckets of 32 bytes (asm/lib/source_buckets.ts). */
const HANDED_OVER = /; state handed over \(131088 bytes\); the data path paused \d+\.\d\d ms\.$/m;

test('ctl swap into a build with another rate keeps the buckets; into one without state_restore, fresh', async () => {
  await withEnv({ legacyIp: true }, async (env) => {
    const run = await serving(env, ['--handler', SLOW], async () => {
      assert.is(v6(env, 8), 5, 'a burst of 5, then limited');
      const kept = ctl('swap', SLOWER, '-d', env.name);
      assert.is(kept.code, 0, kept.err);
      assert.match(kept.out, /^Swapped in .*rate_limit_slower\.wasm .*\(ctl swap\) in [\d.]+ ms/);
      assert.match(kept.out, HANDED_OVER);
      assert.is(v6(env, 5), 0, 'the spent bucket came over spent');
      assert.is(v4(env, 5), 5, 'another source, its own full bucket');
      const fresh = ctl('swap', AMNESIC, '-d', env.name);
      assert.is(fresh.code, 0, fresh.err);
      assert.match(
        fresh.out,
        /; started fresh: the new one .*rate_limit_amnesic\.wasm \(\w+\) exports no state_restore; the data path paused [\d.]+ ms\.$/m,
      );
      assert.is(v6(env, 8), 5, 'fresh buckets');
    });
    assert.is(run.exit!.reasons.rate_limited, 3 + 5 + 3, JSON.stringify(run.exit!.reasons));
    assert.is(run.exit!.counters.handlerErrors, 0);
  });
});

test('--watch and SIGHUP hand the state over too', async () => {
  await withEnv({}, async (env) => {
    const file = join(scratch, 'limiter.wasm');
    copyFileSync(SLOW, file);
    await serving(env, ['--handler', file, '--watch'], async (r) => {
      assert.is(v6(env, 8), 5);
      replaceFile(file, SLOWER);
      await waitFor('the watch swap', () => /\(file changed\) in .*; state handed over/.test(r.stderr));
      assert.match(r.stderr, HANDED_OVER);
      assert.is(v6(env, 3), 0, 'still spent after --watch');
      r.child.kill('SIGHUP');
      await waitFor('the SIGHUP swap', () => /\(SIGHUP\) in .*; state handed over \(131088 bytes\)/.test(r.stderr));
      assert.is(v6(env, 3), 0, 'still spent after SIGHUP');
      replaceFile(file, AMNESIC);
      await waitFor('the fresh swap', () => /\(file changed\) in .*; started fresh: /.test(r.stderr));
      assert.is(v6(env, 8), 5, 'the same steps without state_restore start fresh');
    });
  });
});

test('a trap in state_restore refuses the swap; the old handler serves on with its buckets', async () => {
  await withEnv({ legacyIp: true }, async (env) => {
    const run = await serving(env, ['--handler', SLOW], async () => {
      assert.is(v6(env, 8), 5);
      const refused = ctl('swap', RESTORE_TRAP, '-d', env.name);
      assert.is(refused.code, 1, refused.out);
      assert.match(
        refused.err,
        /queues 0 kept .*rate_limit_slow\.wasm: the new handler .*restore_trap\.wasm \(\w+\) trapped in state_restore \(.*unreachable/,
      );
      assert.match(ctl('status', '-d', env.name).out, /queue 0: .*rate_limit_slow\.wasm/);
      assert.is(v6(env, 3), 0, 'its spent bucket is as it was');
      assert.is(v4(env, 5), 5, 'and it answers');
      // The refusal left nothing behind: the next swap hands the same state over.
      assert.match(ctl('swap', SLOWER, '-d', env.name).out, HANDED_OVER);
      assert.is(v6(env, 3), 0);
    });
    assert.is(run.exit!.counters.handlerErrors, 0);
    assert.is(run.exit!.reasons.rate_limited, 3 + 3 + 3, JSON.stringify(run.exit!.reasons));
  });
});

test('a refused swap leaves the last good handler as it was: a later fallback still finds it', async () => {
  await withEnv({ legacyIp: true }, async (env) => {
    await serving(env, ['--handler', ECHO], async (r) => {
      assert.is(v6(env, 3), 3, 'echo proves good');
      assert.is(ctl('swap', STATEFUL_TRAP_V4, '-d', env.name).code, 0);
      assert.is(v6(env, 3), 3, 'the stateful handler proves good too; echo is the last good one before it');
      assert.is(ctl('swap', RESTORE_TRAP, '-d', env.name).code, 1, 'refused: the stateful handler serves on');
      v4(env, 8); // each IPv4 request is a trapped batch
      await waitFor('the fallback', () => /fell back to/.test(r.stderr));
      assert.match(
        r.stderr,
        /stateful_trap_v4\.wasm \(\w+\) trapped in 5 batches in a row .*; queues 0 fell back to .*echo\.wasm/,
      );
      assert.is(v6(env, 3), 3);
    });
  });
});

test.run();
