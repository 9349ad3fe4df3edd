// afxdp-wasm fuzz: property-based fuzzing of build/asm/echo.wasm against the
// reference model, for as long as asked. A failing frame is written as a pcap
// under fuzz-failures/, so it can be replayed (afxdp-wasm replay) and made
// into a named regression test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { command, integer, optional, value } from '../cli/table.js';
import { projectRoot } from '../lib/paths.js';
import type { Case } from './echo-property.js';
import { writePcap } from './pcap.js';

export const fuzzCommand = command({
  summary: 'fuzz echo.wasm against the reference model (no NIC, no root)',
  prog: 'afxdp-wasm',
  synopsis: 'Usage: afxdp-wasm fuzz [--runs N] [--seed S]   (npm run fuzz -- [options])',
  about:
    'Feed echo.wasm generated frames; check it never traps, never writes outside its frame,\n' +
    'and replies exactly when the reference model does, byte for byte.',
  options: {
    runs: value('n', 'how many cases', '100000', integer(1, Number.MAX_SAFE_INTEGER)),
    seed: optional('s', 'the seed, to repeat a run (default: from the clock)', integer(0, 2 ** 31 - 1)),
  },
  run: async ({ runs, seed = Date.now() % 2 ** 31 }) => {
    // Loaded here, not at the top: every afxdp-wasm start would otherwise load fast-check and build
    // the fuzzer's generators, serving included.
    const [{ default: fc }, { property }] = await Promise.all([import('fast-check'), import('./echo-property.js')]);
    const started = performance.now();
    console.log(`fuzzing echo.wasm: ${runs} runs, seed ${seed}`);
    const out = fc.check(property, { numRuns: runs, seed });
    const seconds = (performance.now() - started) / 1000;
    if (!out.failed) {
      console.log(`clean: ${out.numRuns} runs in ${seconds.toFixed(1)} s (${Math.round(out.numRuns / seconds)}/s)`);
      return;
    }
    const failing = out.counterexample![0] as Case;
    const file = writeFailure(failing, seed);
    console.error(`FAILED after ${out.numRuns} runs (${seconds.toFixed(1)} s): ${out.errorInstance}`);
    console.error(`config: ${failing.config}; frame: ${Buffer.from(failing.frame).toString('hex')}`);
    console.error(`written to ${file}; again with: npm run fuzz -- --runs ${runs} --seed ${seed}`);
    process.exitCode = 1;
  },
});

function writeFailure(failing: Case, seed: number): string {
  const dir = join(projectRoot(), 'fuzz-failures');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `echo-seed${seed}.pcap`);
  writeFileSync(file, writePcap([failing.frame]));
  return file;
}
