#!/usr/bin/env node
// npm test: the unit tier (test/unit: no root, no kernel), then, as root, the kernel tier (test/kernel:
// AF_XDP on veth pairs in namespaces of their own). Not root, the kernel tier is skipped with one line
// and the run still passes. Uses nothing but Node, like the set-up it runs first.
//
//   node scripts/test.mjs            both tiers as root, the unit tier otherwise
//   node scripts/test.mjs unit       the unit tier only (and only the offline set-up)
//   node scripts/test.mjs kernel     the kernel tier only
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const isRoot = process.getuid?.() === 0;
const asked = process.argv[2] ?? 'all';
if (!['all', 'unit', 'kernel'].includes(asked)) fail(`usage: node scripts/test.mjs [unit | kernel], not '${asked}'`);
if (asked === 'kernel' && !isRoot) fail('the kernel tier needs root (AF_XDP, namespaces, XDP programs)');
const tiers = asked === 'all' ? (isRoot ? ['unit', 'kernel'] : ['unit']) : [asked];

function fail(message) {
  console.error(`test: ${message}`);
  process.exit(1);
}

/** Runs node with these arguments in the project; stops the run with its exit code if it fails. */
function node(...args) {
  const res = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  if (res.status !== 0) process.exit(res.status ?? 1);
}

const tierDir = (tier) => join(root, 'build', 'test', tier);

/**
 * How many tests a tier holds, without running them: its bundles are imported with uvu replaced by a
 * stub that counts test() calls (tests made in loops included). What the files make at import time,
 * temporary folders, goes to a folder of our own that is removed after. Undefined if that fails.
 */
function countTests(tier) {
  const stub =
    'export const test = () => void globalThis.counted++; globalThis.counted = 0; ' +
    'Object.assign(test, { skip() {}, only: test, run() {} }); process.on("exit", () => console.log(globalThis.counted));';
  const data = (code) => `data:text/javascript,${encodeURIComponent(code)}`;
  const hooks = `export async function resolve(spec, context, next) {
    if (spec === 'uvu') return { url: ${JSON.stringify(data(stub))}, shortCircuit: true };
    if (spec === 'uvu/assert') return { url: 'data:text/javascript,', shortCircuit: true };
    return next(spec, context);
  }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(data(hooks))});`;
  const files = readdirSync(tierDir(tier))
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => join(tierDir(tier), f));
  const scratch = mkdtempSync(join(tmpdir(), 'afxdp-count-'));
  try {
    const res = spawnSync(
      process.execPath,
      [
        '--import',
        data(register),
        '--input-type=module',
        '-e',
        'for (const f of JSON.parse(process.argv[1])) await import(f);',
        JSON.stringify(files),
      ],
      { encoding: 'utf8', env: { ...process.env, TMPDIR: scratch } },
    );
    const count = Number(res.stdout.trim());
    return res.status === 0 && count > 0 ? count : undefined;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

node(join(root, 'scripts', 'setup.mjs'), '--for', tiers.includes('kernel') ? 'all' : 'offline');
node(join(root, 'scripts', 'lint.mjs'));
node(join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit');
for (const tier of tiers) node(join(root, 'node_modules', 'uvu', 'bin.js'), tierDir(tier), '.test.js$');
if (asked === 'all' && !isRoot) {
  const count = countTests('kernel');
  const what = count === undefined ? 'the tests' : `the ${count} tests`;
  console.log(`kernel tier skipped: not root; run npm test as root for ${what} on the real kernel (test/kernel)`);
}
