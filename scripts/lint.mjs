#!/usr/bin/env node
// npm run lint: Biome over the TypeScript, JavaScript and JSON (format and lint rules: biome.json), and
// clang-format over the C and C++ of shim/, bpf/, asm/c/ and the tests' C (a style close to the kernel's:
// .clang-format). Generated files are left to their own check (scripts/contract.mjs --check), and
// AssemblyScript (asm/) to its compiler: Biome does not parse its decorators.
//
//   node scripts/lint.mjs         check; exit 1 naming what is off
//   node scripts/lint.mjs --fix   rewrite the files instead (npm run format)
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fix = process.argv.includes('--fix');
const C_FOLDERS = ['shim', 'bpf', 'test', 'asm'];
const C_FILE = /\.(c|cc|h)$/;

function fail(message) {
  console.error(`lint: ${message}`);
  process.exit(1);
}

/** The C sources we write: not build outputs, not generated ones (their first lines say so). */
function cSources() {
  const generated = (file) => readFileSync(file, 'utf8').split('\n', 3).join('\n').includes('do not edit');
  return C_FOLDERS.flatMap((folder) =>
    readdirSync(join(root, folder), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && C_FILE.test(e.name))
      .map((e) => join(e.parentPath ?? e.path, e.name))
      .filter((file) => !/\/build\//.test(file.slice(root.length)) && !generated(file)),
  );
}

const onPath = (cmd) =>
  (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir && spawnSync('test', ['-x', join(dir, cmd)]).status === 0);

const biome = spawnSync(
  process.execPath,
  [join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome'), 'check', ...(fix ? ['--write'] : [])],
  { stdio: 'inherit', cwd: root },
);
if (biome.error) fail(`cannot run Biome (${biome.error.message}); run npm ci`);

// The C side needs a Debian package the offline work does not: without it, say so and check the rest.
let clang = { status: 0 };
if (onPath('clang-format')) {
  clang = spawnSync('clang-format', [...(fix ? ['-i'] : ['--dry-run', '--Werror']), ...cSources()], {
    stdio: 'inherit',
    cwd: root,
  });
} else {
  console.log('lint: clang-format is not installed, so the C sources were not checked (apt-get install clang-format)');
}
if (biome.status !== 0 || clang.status !== 0) {
  fail(
    `${biome.status !== 0 ? 'Biome' : 'clang-format'} found code off its style or rules (above); npm run format rewrites the style`,
  );
}
