// afxdp-wasm fuzz: afxdp-wasm check's differential mode on build/asm/echo.wasm,
// with the echo reference model and frames made to reach its reply path, for
// as long as asked. A failing batch is written as a pcap under fuzz-failures/,
// so it can be replayed (afxdp-wasm replay) and made into a named regression test.
// Like check, it runs the handler in threads that are watched: one whose _start,
// init or process() never returns ends the run instead of hanging it.
import { join } from 'node:path';
import { command, integer, optional, value } from '../cli/table.js';
import { loadHandlerInThread } from '../dataplane/handler.js';
import { MIN_FRAME_SIZE } from '../dataplane/layout.js';
import { handlerFile, projectRoot } from '../lib/paths.js';
import { checkInWorker } from './check/in-worker.js';
import { writeFailure } from './pcap.js';

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
    console.log(`fuzzing echo.wasm: ${runs} batches, seed ${seed}`);
    const handler = await loadHandlerInThread(handlerFile('echo.wasm'));
    const r = await checkInWorker({ handler, runs, seed, frameSizes: [MIN_FRAME_SIZE], echo: true }, {});
    const rate = Math.round(r.frames / r.seconds);
    const share = ((100 * r.sent) / Math.max(1, r.frames)).toFixed(1);
    if (!r.failure) {
      console.log(
        `clean: ${r.frames} frames in ${r.batches} batches, ${r.seconds.toFixed(1)} s (${rate} frames/s); ${share}% answered (the reply path)`,
      );
      return;
    }
    if (r.failure.property === 'returns' || r.failure.batch.length === 0) {
      // One line: no batch is written, since replay would not return from it either, or there is
      // none (a trap in _start or init).
      const fix = r.failure.property === 'returns' ? 'fix the loop' : 'fix it';
      console.error(
        `FAILED ${r.failure.property} after ${r.batches} batches (${r.seconds.toFixed(1)} s): ${handler.path}: ` +
          `${r.failure.message}; ${fix}, rebuild (npm run build) and fuzz again: npm run fuzz -- --runs ${runs} --seed ${seed}`,
      );
      process.exitCode = 1;
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
