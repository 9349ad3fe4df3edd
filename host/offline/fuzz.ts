// afxdp-wasm fuzz: afxdp-wasm check's differential mode on build/asm/echo.wasm,
// with the echo reference model and frames made to reach its reply path, for
// as long as asked. A failing batch is written as a pcap under fuzz-failures/,
// so it can be replayed (afxdp-wasm replay) and made into a named regression test.
import { join } from 'node:path';
import { command, integer, optional, value } from '../cli/table.js';
import { loadHandler } from '../dataplane/handler.js';
import type { InterfaceConfig } from '../dataplane/iface-config.js';
import { MIN_FRAME_SIZE } from '../dataplane/layout.js';
import { handlerFile, projectRoot } from '../lib/paths.js';
import { writeFailure } from './pcap.js';
import { referenceEcho } from './reference-echo.js';

/** The echo reference model as check --reference wants it: the reply, or null for a drop. */
export function echoReference(frame: Uint8Array, config: InterfaceConfig): Uint8Array | null {
  const out = referenceEcho(frame, config);
  return 'reply' in out ? out.reply : null;
}

export const fuzzCommand = command({
  summary: 'fuzz echo.wasm against the reference model (check --reference; no NIC, no root)',
  prog: 'afxdp-wasm',
  synopsis: 'Usage: afxdp-wasm fuzz [--runs N] [--seed S]   (npm run fuzz -- [options])',
  about:
    'Feed echo.wasm generated batches of frames; check every property of afxdp-wasm check and that it\n' +
    'replies exactly when the reference model does, byte for byte.',
  options: {
    runs: value('n', 'how many batches', '20000', integer(1, Number.MAX_SAFE_INTEGER)),
    seed: optional('s', 'the seed, to repeat a run (default: from the clock)', integer(0, 2 ** 31 - 1)),
  },
  run: async ({ runs, seed = Date.now() % 2 ** 31 }) => {
    // Loaded here, not at the top: every afxdp-wasm start would otherwise build the fuzzer's generators.
    const [{ runCheck }, { anyFrame }] = await Promise.all([import('./check/run.js'), import('./echo-frames.js')]);
    console.log(`fuzzing echo.wasm: ${runs} batches, seed ${seed}`);
    const handler = loadHandler(handlerFile('echo.wasm'));
    const r = runCheck({
      handler,
      runs,
      seed,
      frameSizes: [MIN_FRAME_SIZE],
      reference: echoReference,
      frames: anyFrame,
      packetOnly: true,
    });
    const rate = Math.round(r.frames / r.seconds);
    const share = ((100 * r.sent) / Math.max(1, r.frames)).toFixed(1);
    if (!r.failure) {
      console.log(
        `clean: ${r.frames} frames in ${r.batches} batches, ${r.seconds.toFixed(1)} s (${rate} frames/s); ${share}% answered (the reply path)`,
      );
      return;
    }
    const file = writeFailure(join(projectRoot(), 'fuzz-failures', `echo-seed${seed}.pcap`), r.failure.batch);
    console.error(
      `FAILED ${r.failure.property} after ${r.batches} batches (${r.seconds.toFixed(1)} s): ${r.failure.message}`,
    );
    console.error(
      `config: ${r.failure.config}; frames: ${r.failure.batch.map((f) => Buffer.from(f).toString('hex')).join(' ')}`,
    );
    console.error(`written to ${file}; again with: npm run fuzz -- --runs ${runs} --seed ${seed}`);
    process.exitCode = 1;
  },
});
