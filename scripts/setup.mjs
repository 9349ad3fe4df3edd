#!/usr/bin/env node
// Brings this machine and the build up to date, then gets out of the way.
// It runs from npm's prestart/pretest hooks, before node_modules may exist,
// so it uses nothing but Node itself. With everything present it prints
// nothing and does no work beyond a few stat() calls.
//
//   node scripts/setup.mjs            do what is missing
//   node scripts/setup.mjs --rebuild  rebuild every build output
//   node scripts/setup.mjs --dry-run  print what would be done, do nothing
//   node scripts/setup.mjs --handler path/to/h.ts   also build that handler to build/asm/h.wasm
//   node scripts/setup.mjs --for offline   only what runs without root and a kernel: npm ci, the
//                                          handlers, the host and the tests (replay, fuzz, unit tests)
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTRACT_MD, GENERATED, SPEC, cHandlerArgs } from './contract.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const args = new Set(argv);
const dryRun = args.has('--dry-run');
const rebuild = args.has('--rebuild');
const extraHandlers = argv.filter((_, i) => argv[i - 1] === '--handler');
const isRoot = process.getuid?.() === 0;
const forWhat = argv.find((_, i) => argv[i - 1] === '--for') ?? 'all';

// Debian package -> a file or command it provides (cheaper than asking dpkg).
const PACKAGES = {
  clang: 'cmd:clang',
  lld: 'cmd:wasm-ld', // links the handlers written in C (asm/c/)
  'libxdp-dev': '/usr/include/xdp/xsk.h',
  'libbpf-dev': '/usr/include/bpf/libbpf.h',
  'xdp-tools': 'cmd:xdp-loader',
  ethtool: 'cmd:ethtool',
  iproute2: 'cmd:ip',
  'iputils-ping': 'cmd:ping',
  procps: 'cmd:sysctl',
  'netsniff-ng': 'cmd:trafgen',
  tcpdump: 'cmd:tcpdump',
  tshark: 'cmd:tshark',
  'clang-format': 'cmd:clang-format',
  // An independent reader of the Prometheus text format, for the --metrics test.
  'python3-prometheus-client': '/usr/lib/python3/dist-packages/prometheus_client/parser.py',
};

const searchPath = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
const hasCommand = (name) => searchPath.some((dir) => dir && existsSync(join(dir, name)));
const provided = (what) => (what.startsWith('cmd:') ? hasCommand(what.slice(4)) : existsSync(what));

function fail(message) {
  console.error(`setup: ${message}`);
  process.exit(1);
}

function run(cmd, argv, options = {}) {
  if (dryRun) {
    console.log(`would run: ${[cmd, ...argv].join(' ')}`);
    return;
  }
  try {
    execFileSync(cmd, argv, { stdio: 'inherit', cwd: root, ...options });
  } catch {
    fail(`'${[cmd, ...argv].join(' ')}' failed (its output is above)`);
  }
}

function installPackages() {
  const missing = Object.keys(PACKAGES).filter((pkg) => !provided(PACKAGES[pkg]));
  if (missing.length === 0) return;
  const install = ['install', '-y', '--no-install-recommends', ...missing];
  if (!isRoot && !dryRun)
    fail(`missing Debian packages; run as root: apt-get update && apt-get install ${install.slice(1).join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['-qq', ...install], { env });
}

function mountBpffs() {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  if (/ \/sys\/fs\/bpf bpf /.test(mounts)) return;
  if (!isRoot && !dryRun) fail('bpffs is not mounted; run as root: mount -t bpf bpf /sys/fs/bpf');
  run('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
}

// --- builds: an output is rebuilt when any of its inputs is newer -----------

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

function filesUnder(dir, ext) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && (!ext || e.name.endsWith(ext)))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

function stale(outputs, inputs) {
  if (rebuild) return true;
  const newestInput = Math.max(...inputs.map(mtime));
  return outputs.some((out) => mtime(out) < newestInput);
}

function installNodeModules() {
  const lock = join(root, 'package-lock.json');
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (mtime(installed) >= mtime(lock)) return;
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
}

// The contract's definitions for every language, and CONTRACT.md's tables, come from one spec.
function generateContract() {
  const outputs = [...Object.values(GENERATED), CONTRACT_MD].map((path) => join(root, path));
  const generator = join(root, 'scripts', 'contract.mjs');
  if (!stale(outputs, [join(root, SPEC), generator])) return;
  run(process.execPath, [generator]);
}

const bin = (pkg, file) => join(root, 'node_modules', pkg, file);

function buildHandlers() {
  const inputs = [...filesUnder(join(root, 'asm'), '.ts'), join(root, 'asconfig.json')];
  const handlers = readdirSync(join(root, 'asm'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, 'asm', f));
  for (const given of extraHandlers) {
    if (!given.endsWith('.ts') || !existsSync(given))
      fail(`--handler wants an AssemblyScript file (.ts) that exists, not '${given}'`);
  }
  // The tests' own misbehaving handlers (test/handlers/) go to build/test-asm/.
  const testHandlers = filesUnder(join(root, 'test', 'handlers'), '.ts');
  const outOf = (file) =>
    join(root, 'build', testHandlers.includes(file) ? 'test-asm' : 'asm', `${basename(file, '.ts')}.wasm`);
  for (const file of [...handlers, ...extraHandlers.map((h) => resolve(h)), ...testHandlers]) {
    const out = outOf(file);
    if (!stale([out], [...inputs, file])) continue;
    run(process.execPath, [
      bin('assemblyscript', 'bin/asc.js'),
      file,
      '--config',
      join(root, 'asconfig.json'),
      '--target',
      'release',
      '--outFile',
      out,
    ]);
  }
}

// Handlers written in C (asm/c/NAME.c -> build/asm/NAME_c.wasm, apart from an AssemblyScript NAME.wasm).
// Offline, without clang and wasm-ld, they are left out: the tests that use them say they are skipped.
function buildCHandlers() {
  const sources = filesUnder(join(root, 'asm', 'c'), '.c');
  if (sources.length === 0 || !hasCommand('clang') || !hasCommand('wasm-ld')) return;
  const inputs = [join(root, GENERATED.handlerC), join(root, SPEC), join(root, 'scripts', 'contract.mjs')];
  for (const src of sources) {
    const out = join(root, 'build', 'asm', `${basename(src, '.c')}_c.wasm`);
    if (!stale([out], [src, ...inputs])) continue;
    if (!dryRun) mkdirSync(dirname(out), { recursive: true });
    run('clang', [...cHandlerArgs(root), src, '-o', out]);
  }
}

const MULTIARCH = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  riscv64: 'riscv64-linux-gnu',
};

function buildBpf() {
  const sources = filesUnder(join(root, 'bpf'), '.c');
  const headers = filesUnder(join(root, 'bpf'), '.h');
  for (const src of sources) {
    const out = join(root, 'build', 'bpf', `${basename(src, '.c')}.o`);
    if (!stale([out], [src, ...headers])) continue;
    if (!dryRun) mkdirSync(dirname(out), { recursive: true });
    run('clang', [
      '-O2',
      '-g',
      '-Wall',
      '-target',
      'bpf',
      `-I/usr/include/${MULTIARCH[process.arch] ?? ''}`,
      '-c',
      src,
      '-o',
      out,
    ]);
  }
}

function nodeGyp() {
  // npm puts node-gyp on PATH for scripts; run directly, find npm's bundled copy.
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  return resolve(process.execPath, '../../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
}

// dir's binding.gyp builds dir/build/Release/<target>.node from what lies in dir
// (minus the folders in `apart`, addons of their own) and `extra`.
function buildAddon(dir, target, { apart = [], extra = [] } = {}) {
  const out = join(dir, 'build', 'Release', `${target}.node`);
  const skip = [join(dir, 'build'), ...apart].map((d) => `${d}/`);
  const inputs = [...filesUnder(dir).filter((f) => !skip.some((d) => f.startsWith(d))), ...extra];
  if (!stale([out], inputs)) return;
  const argv = [nodeGyp(), 'rebuild', '--loglevel=error', '-C', dir];
  // Build against the headers that came with this Node when they are there (no download).
  const prefix = resolve(process.execPath, '../..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) argv.push(`--nodedir=${prefix}`);
  run(process.execPath, argv);
}

async function bundle(entries, outdir, extra = {}) {
  if (dryRun) return void console.log(`would bundle: ${entries.join(' ')} -> ${outdir}/`);
  // esbuild's JS API finds its own binary package; no install script needed.
  const esbuild = await import(join(root, 'node_modules', 'esbuild', 'lib', 'main.js'));
  try {
    esbuild.buildSync({
      entryPoints: entries.map((e) => join(root, e)),
      outdir: join(root, outdir),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
      ...extra,
    });
  } catch {
    fail(`bundling ${entries.join(' ')} failed (the errors are above)`);
  }
}

async function buildHost() {
  // This script too: a change of the bundle options below rebuilds.
  const inputs = [...filesUnder(join(root, 'host'), '.ts'), join(root, 'package.json'), fileURLToPath(import.meta.url)];
  const entries = [
    'host/afxdp-wasm.ts',
    'host/testenv.ts',
    'host/replay.ts',
    'host/dataplane/worker.ts',
    'host/dataplane/probe-worker.ts',
    'host/offline/check/worker.ts',
  ];
  const outs = entries.map((e) => join(root, 'dist', e.slice('host/'.length).replace(/\.ts$/, '.js')));
  if (!stale(outs, inputs)) return;
  // A dynamic import becomes a chunk of its own, loaded when it runs: in one file, esbuild would hoist
  // the imports of what check and fuzz load (fast-check) to the top of every start, serve included.
  const chunks = join(root, 'dist', 'chunks');
  if (!dryRun) rmSync(chunks, { recursive: true, force: true }); // names carry hashes: old ones would pile up
  await bundle(entries, 'dist', {
    outbase: join(root, 'host'),
    banner: { js: '#!/usr/bin/env node' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  });
  if (!dryRun) for (const out of outs) chmodSync(out, 0o755);
}

async function buildTests() {
  const tests = [...filesUnder(join(root, 'test'), '.test.ts'), join(root, 'test', 'bench.ts')];
  const inputs = [...filesUnder(join(root, 'test'), '.ts'), ...filesUnder(join(root, 'host'), '.ts')];
  // test/unit/x.test.ts -> build/test/unit/x.test.js: the tiers keep their folders.
  const outs = tests.map((t) => join(root, 'build', t.slice(root.length + 1).replace(/\.ts$/, '.js')));
  if (tests.length === 0 || !stale(outs, inputs)) return;
  await bundle(
    tests.map((t) => t.slice(root.length + 1)),
    'build/test',
    { outbase: join(root, 'test') },
  );
}

if (!['all', 'offline'].includes(forWhat)) fail(`--for takes offline or all, not '${forWhat}'`);
// Offline work (replay, fuzz, handlers, the unit tests) needs Node and node_modules only: no apt, no bpffs,
// no clang, no addon, no root.
const kernelSide = forWhat === 'all';
if (kernelSide) {
  installPackages();
  mountBpffs();
}
installNodeModules();
generateContract();
buildHandlers();
buildCHandlers();
if (kernelSide) {
  buildBpf();
  // The data plane's addon and the load generator's. Each shares a header with its XDP programs, declared once
  // in bpf/: the admission control block; the request's stamp (bpf/tools/, with the generator's programs).
  const shimDir = join(root, 'shim');
  const shimHeaders = [join(root, 'bpf', 'xsk_fair.h'), join(root, 'asm', 'include', 'afxdp_abi.h')];
  buildAddon(shimDir, 'afxdp_shim', { apart: [join(shimDir, 'gen')], extra: shimHeaders });
  buildAddon(join(shimDir, 'gen'), 'afxdp_gen', { extra: [join(root, 'bpf', 'tools', 'gen_stamp.h')] });
}
await buildHost();
await buildTests();
