// The command line without root or a kernel: one command and its
// subcommands, option tables (usage, defaults, checks from one place), the
// paths module, and the generator's core apart from the test environment.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SERVE_OPTIONS, optionsFrom } from '../host/cli/options.js';
import {
  flag, integer, list, optional, optionLines, parseCommandLine, takeOwnOptions, text, value,
} from '../host/cli/table.js';
import { controlSocket, distFile, ownerFile, projectRoot, testenvStateDir } from '../host/lib/paths.js';

const run = (file: string, args: string[]) =>
  spawnSync(process.execPath, [distFile(file), ...args], { encoding: 'utf8' });
const SUBCOMMANDS = ['serve', 'ctl', 'gen', 'replay', 'testenv', 'fuzz', 'build'];

test('afxdp-wasm --help lists every subcommand; each one answers --help on stdout with exit 0', () => {
  const top = run('afxdp-wasm.js', ['--help']);
  assert.is(top.status, 0, top.stderr);
  for (const sub of SUBCOMMANDS) {
    assert.match(top.stdout, new RegExp(`^  ${sub} +\\S`, 'm'), `${sub} listed`);
    const own = run('afxdp-wasm.js', [sub, '--help']);
    assert.is(own.status, 0, `${sub}: ${own.stderr}`);
    assert.match(own.stdout, new RegExp(`^usage: .*${sub === 'serve' ? '\\[serve\\]' : sub}`, 'mi'), sub);
  }
});

test('the old names run the same commands', () => {
  assert.equal(run('testenv.js', ['--help']).stdout, run('afxdp-wasm.js', ['testenv', '--help']).stdout);
  assert.equal(run('replay.js', ['--help']).stdout, run('afxdp-wasm.js', ['replay', '--help']).stdout);
  const bad = run('replay.js', ['only-one.pcap']);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /^replay: usage: npm run replay -- --handler/);
});

test('serve: every default in the usage text is the one parsing gives', () => {
  const usage = run('afxdp-wasm.js', ['--help']).stdout;
  const given = optionsFrom(parseCommandLine(SERVE_OPTIONS, []).values);
  for (const [name, o] of Object.entries(SERVE_OPTIONS)) {
    if (o.kind !== 'value' || o.default === undefined) continue;
    assert.ok(usage.includes(`(default ${o.default})`), `--${name}'s default shown`);
  }
  const sizes = [given.frames, given.frameSize, given.ringSize, given.batch, given.hopLimit];
  assert.equal(sizes, [16384, 2048, 16384, 256, 64]);
  assert.equal(given.queues, [0]);
  assert.is(given.intervalMs, 2000);
  assert.is(given.handlerPath, join(projectRoot(), 'build', 'asm', 'echo.wasm'));
  const argv = ['--frames', '4096', '-Q', '0,2', '--interval', '0.5'];
  const chosen = optionsFrom(parseCommandLine(SERVE_OPTIONS, argv).values);
  assert.equal([chosen.frames, chosen.queues, chosen.intervalMs], [4096, [0, 2], 500]);
});

test('a table gives parseArgs its options, the usage text its lines and the values their checks', () => {
  const table = {
    count: value('n', 'how many', '3', integer(1, 9), 'c'),
    name: optional('who', 'a name', text),
    tag: list('t', 'a tag\nor several', text),
    loud: flag('shout'),
  };
  const lines = optionLines(table).split('\n');
  assert.equal(lines, [
    '  -c, --count <n>   how many (default 3)',
    '      --name <who>  a name',
    '      --tag <t>     a tag',
    '                    or several',
    '      --loud        shout',
    '  -h, --help        this text',
  ]);
  assert.equal(parseCommandLine(table, []).values, { count: 3, name: undefined, tag: [], loud: false });
  assert.equal(parseCommandLine(table, ['-c', '5', '--tag', 'a', '--tag=b', '--loud']).values,
    { count: 5, name: undefined, tag: ['a', 'b'], loud: true });
  assert.throws(() => parseCommandLine(table, ['-c', '10']), /^--count must be a whole number from 1 to 9, not '10'$/);
  assert.throws(() => parseCommandLine(table, ['stray']), /unexpected argument 'stray'/);
  assert.ok(parseCommandLine(table, ['-h']).help);
});

test('options passed on to another tool: ours are taken out, the rest stays in order', () => {
  const table = { name: optional('n', 'which', text), v4: flag('IPv4') };
  assert.equal(takeOwnOptions(table, ['-c', '3', '--name', 'x', '--v4', '-i', '0.1']),
    { values: { name: 'x', v4: true }, rest: ['-c', '3', '-i', '0.1'] });
  assert.equal(takeOwnOptions(table, ['--name=x', 'ip', 'addr', '--v4'], true),
    { values: { name: 'x', v4: false }, rest: ['ip', 'addr', '--v4'] });
});

test('paths: the run dir and the state dir follow their variables', () => {
  const before = { run: process.env['AFXDP_RUN_DIR'], state: process.env['AFXDP_TESTENV_STATE'] };
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-paths-'));
  try {
    process.env['AFXDP_RUN_DIR'] = dir;
    delete process.env['AFXDP_TESTENV_STATE'];
    assert.is(controlSocket('veth9'), join(dir, 'ctl', 'veth9.sock'));
    assert.is(ownerFile('veth9'), join(dir, 'ports', 'veth9.json'));
    assert.is(testenvStateDir(), join(dir, 'testenv'));
    process.env['AFXDP_TESTENV_STATE'] = join(dir, 'elsewhere');
    assert.is(testenvStateDir(), join(dir, 'elsewhere'));
  } finally {
    for (const [key, was] of [['AFXDP_RUN_DIR', before.run], ['AFXDP_TESTENV_STATE', before.state]] as const) {
      if (was === undefined) delete process.env[key];
      else process.env[key] = was;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the generator\'s core and its addon do not import the test environment', () => {
  const core = join(projectRoot(), 'host', 'tools', 'gen');
  for (const file of ['generator.ts', 'native.ts']) {
    assert.ok(existsSync(join(core, file)), file);
    const imports = readFileSync(join(core, file), 'utf8').match(/^import .* from '([^']+)';$/gm) ?? [];
    assert.ok(imports.length > 0, `${file} has imports`);
    for (const line of imports) assert.not.match(line, /testenv/, `${file}: ${line}`);
  }
});

test('afxdp-wasm build: a handler built with the project\'s asconfig.json; a missing file named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-build-'));
  try {
    const out = join(dir, 'drop.wasm');
    const built = run('afxdp-wasm.js', ['build', join(projectRoot(), 'asm', 'drop.ts'), '-o', out]);
    assert.is(built.status, 0, built.stderr);
    assert.ok(WebAssembly.validate(readFileSync(out)));
    const missing = run('afxdp-wasm.js', ['build', join(dir, 'nope.ts')]);
    assert.is(missing.status, 1);
    assert.match(missing.stderr, /^afxdp-wasm: build wants an AssemblyScript file \(\.ts\) that exists, not '.*nope\.ts'/);
    assert.is(missing.stderr.split('\n').length, 2, 'one line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
