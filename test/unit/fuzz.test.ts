// Bounded fuzzing of build/asm/echo.wasm on every npm test, as afxdp-wasm fuzz does it (check's
// differential mode with the echo reference model and frames made for echo) with a fixed seed, so
// a failure repeats; npm run fuzz runs as long as asked.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadHandler } from '../../host/dataplane/handler.js';
import { CheckHarness } from '../../host/offline/check/harness.js';
import { CONFIGS, runCheck } from '../../host/offline/check/run.js';
import { anyFrame } from '../../host/offline/echo-frames.js';
import { echoReference } from '../../host/offline/reference-echo.js';
import { OfflineRunner } from '../../host/offline/runner.js';
import { ROOT } from '../helpers/cli.js';
import { echo4Frame, echo6Frame, mixedEchoBatch } from '../helpers/packets.js';

const SEED = 20261125;
const echo = join(ROOT, 'build', 'asm', 'echo.wasm');
const planted = (name: string) => join(ROOT, 'build', 'test-asm', `${name}.wasm`);

/** What afxdp-wasm fuzz runs, for so many batches. */
const fuzz = (file: string, runs: number) =>
  runCheck({
    handler: loadHandler(file),
    runs,
    seed: SEED,
    frameSizes: [2048],
    reference: echoReference,
    frames: anyFrame,
    packetOnly: true,
  });

test('20k generated frames: no trap, nothing written outside the packet, replies exactly as the reference model', () => {
  const r = fuzz(echo, 1500);
  assert.is(r.failure, undefined, `${r.failure?.property}: ${r.failure?.message}`);
  assert.ok(r.frames >= 20_000, `${r.frames} frames`);
  assert.ok(r.sent > r.frames / 10, `${r.sent} of ${r.frames} answered: the reply path is reached`);
});

// Echo with one planted bug each (test/handlers/echo_*.ts): a frame that shows the bug, and what check
// must say about it. Each must also be found from generated frames alone.
const PLANTED: [string, number[], string, RegExp][] = [
  ['echo_bad_checksum', echo4Frame(), 'matches-reference', /^frame 0: reply differs from the reference at byte \d+/],
  [
    'echo_short_vlan',
    echo6Frame({ tags: [{ tpid: 0x8100, id: 5 }] }),
    'matches-reference',
    /^frame 0: sent \d+ bytes where the reference sends \d+$/,
  ],
  [
    'echo_scribble',
    echo6Frame({ data: Array(60).fill(7) }),
    'writes-inside',
    /^frame 0: wrote at 122, past its packet of 122 bytes$/,
  ],
];

for (const [name, frame, property, says] of PLANTED) {
  test(`fuzz catches a planted bug: ${name} (${property})`, () => {
    const judge = (file: string) =>
      new CheckHarness(loadHandler(file), CONFIGS.full!, 2048).check([Uint8Array.from(frame)], echoReference, true)
        .failure;
    assert.is(judge(echo), undefined, 'the real echo passes this frame');
    const failure = judge(planted(name));
    assert.is(failure?.property, property, failure?.message);
    assert.match(failure!.message, says);
    assert.is(fuzz(planted(name), 1500).failure?.property, property, 'found from generated frames alone');
  });
}

/**
 * afxdp-wasm fuzz as a user runs it after building this handler as their echo.wasm: from a project
 * of its own (this bundle, these node_modules, the handler in build/asm/), bounded so a fuzz that
 * hangs fails the test instead of hanging the run.
 */
function fuzzAsEcho(handler: string) {
  const project = mkdtempSync(join(tmpdir(), 'afxdp-fuzz-'));
  try {
    writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
    cpSync(join(ROOT, 'dist'), join(project, 'dist'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
    mkdirSync(join(project, 'build', 'asm'), { recursive: true });
    copyFileSync(handler, join(project, 'build', 'asm', 'echo.wasm'));
    const args = [join(project, 'dist', 'afxdp-wasm.js'), 'fuzz', '--runs', '300', '--seed', String(SEED)];
    const out = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    return { ...out, stderr: out.stderr.replaceAll(project, '<project>') };
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}

test('fuzz ends on an echo.wasm whose process() never returns: one line naming it, exit 1', () => {
  const out = fuzzAsEcho(planted('loop'));
  assert.is(out.status, 1, `${out.signal ?? ''} ${out.stderr}`);
  assert.match(
    out.stderr,
    /^FAILED returns after 0 batches \([\d.]+ s\): <project>\/build\/asm\/echo\.wasm: process\(\) had not returned after 5 s, on a batch of \d+ frames?; fix the loop, [^\n]+\n$/,
  );
});

test('fuzz ends on an echo.wasm whose init never returns: one line naming it, exit 1', () => {
  const out = fuzzAsEcho(planted('init_loop'));
  assert.is(out.status, 1, `${out.signal ?? ''} ${out.stderr}`);
  assert.match(
    out.stderr,
    /^afxdp-wasm: handler <project>\/build\/asm\/echo\.wasm did not return from _start or init within 5 s [^\n]+\n$/,
  );
});

test('fuzz ends on an echo.wasm whose init traps only on a configuration with addresses: one line, exit 1', () => {
  const out = fuzzAsEcho(planted('init_trap'));
  assert.is(out.status, 1, `${out.signal ?? ''} ${out.stderr}`);
  assert.match(
    out.stderr,
    /^FAILED no-trap after 0 batches \(0\.0 s\): <project>\/build\/asm\/echo\.wasm: trapped in _start or init on the full configuration: unreachable; fix it, [^\n]+\n$/,
  );
});

test('a million packets leave the handler heap untouched (zero allocation per packet)', () => {
  const runner = new OfflineRunner(loadHandler(echo), {
    ipv6: undefined,
    hopLimit: 64,
  });
  const heapBase = Number((runner.instance.exports.heap_base as () => number)());
  const bytes = new Uint8Array(runner.memory.buffer);
  const SPAN = 1 << 20;
  bytes.fill(0x5a, heapBase, heapBase + SPAN);
  const size = runner.memory.buffer.byteLength;
  const batch = mixedEchoBatch();
  let replies = 0;
  for (let n = 0; n < 1_000_000; n += batch.length)
    replies += runner.run(batch).filter((o) => o.verdict === 'tx').length;
  assert.is(replies, 1_000_000);
  assert.is(runner.memory.buffer.byteLength, size, 'memory did not grow');
  const touched = bytes.subarray(heapBase, heapBase + SPAN).findIndex((b) => b !== 0x5a);
  assert.is(touched, -1, `heap written at heap_base + ${touched}`);
  console.log(`    (heap base ${heapBase.toString(16)}: 0 bytes of heap growth over 1M packets)`);
});

test.run();
