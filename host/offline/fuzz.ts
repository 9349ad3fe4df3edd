// npm run fuzz -- --runs N [--seed S]: fuzz build/asm/echo.wasm for as long as
// asked. A failing frame is written as a pcap under fuzz-failures/, so it can
// be replayed (npm run replay) and made into a named regression test.
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writePcap } from '../host/offline/pcap.js';
import { ROOT } from './helpers/testenv.js';
import { type Case, property } from './fuzz/echo-property.js';

const { values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' } } });
const runs = Number(values.runs ?? 100_000);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const started = performance.now();
console.log(`fuzzing echo.wasm: ${runs} runs, seed ${seed}`);
const out = fc.check(property, { numRuns: runs, seed });
const seconds = (performance.now() - started) / 1000;
if (out.failed) {
  const failing = out.counterexample![0] as Case;
  const dir = join(ROOT, 'fuzz-failures');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `echo-seed${seed}.pcap`);
  writeFileSync(file, writePcap([failing.frame]));
  console.error(`FAILED after ${out.numRuns} runs (${seconds.toFixed(1)} s): ${out.errorInstance}`);
  console.error(`config: ${failing.config}; frame: ${Buffer.from(failing.frame).toString('hex')}`);
  console.error(`written to ${file}; again with: npm run fuzz -- --runs ${runs} --seed ${seed}`);
  process.exitCode = 1;
} else {
  console.log(`clean: ${out.numRuns} runs in ${seconds.toFixed(1)} s (${Math.round(out.numRuns / seconds)}/s)`);
}
