// Bounded fuzzing of build/asm/echo.wasm on every npm test (a fixed seed, so
// a failure repeats); npm run fuzz runs as long as asked.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadHandler } from '../../host/dataplane/handler.js';
import { OfflineRunner } from '../../host/offline/runner.js';
import { ROOT } from '../helpers/cli.js';
import { echo4Frame, echo6Frame, mixedEchoBatch } from '../helpers/packets.js';
import { checkCase, checkerFor, property, propertyOf } from '../../host/offline/echo-property.js';

const SEED = 20261125;

test('20k generated frames: no trap, no write outside the frame, replies exactly as the reference model', () => {
  const out = fc.check(property, { numRuns: 20_000, seed: SEED });
  if (out.failed) {
    assert.unreachable(
      `fuzz failure (seed ${SEED}, path ${out.counterexamplePath}): ${out.errorInstance}\n` +
        `frame: ${Buffer.from(out.counterexample![0].frame).toString('hex')} config ${out.counterexample![0].config}`,
    );
  }
});

// Echo with one planted bug each (test/handlers/echo_*.ts): a frame that shows the bug, and what the checker
// must say about it. Each must also be found by the property from generated frames alone.
const PLANTED: [string, number[], RegExp][] = [
  ['echo_bad_checksum', echo4Frame(), /^reply differs from the reference$/],
  ['echo_short_vlan', echo6Frame({ tags: [{ tpid: 0x8100, id: 5 }] }), /^reply differs from the reference$/],
  ['echo_scribble', echo6Frame({ data: Array(60).fill(7) }), /^wrote outside its frame at 122 \(frame length 122\)$/],
];

for (const [name, frame, says] of PLANTED) {
  test(`the checker catches a planted bug: ${name}`, () => {
    const check = checkerFor(loadHandler(join(ROOT, 'build', 'test-asm', `${name}.wasm`)));
    assert.is(
      checkCase({ frame: Uint8Array.from(frame), config: 'full' }),
      undefined,
      'the real echo passes this frame',
    );
    assert.match(check({ frame: Uint8Array.from(frame), config: 'full' }) ?? 'passed', says);
    const out = fc.check(propertyOf(check), { numRuns: 2000, seed: SEED });
    assert.ok(out.failed, `${name}: 2000 generated frames and no failure found`);
  });
}

test('a million packets leave the handler heap untouched (zero allocation per packet)', () => {
  const runner = new OfflineRunner(loadHandler(join(ROOT, 'build', 'asm', 'echo.wasm')), {
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
