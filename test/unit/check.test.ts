// afxdp-wasm check on the shipped handlers (all properties hold) and on
// handlers with one planted bug each (test/handlers/check_*.ts), each bug
// behind a packet feature, not a seed: check must name the right property,
// shrink to one frame that shows the feature, and write a pcap replay reads.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadHandler } from '../../host/dataplane/handler.js';
import { checkBeforeSwap } from '../../host/offline/check/before-swap.js';
import { readCapture, writePcap } from '../../host/offline/pcap.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { echo4Frame, echo6Frame } from '../helpers/packets.js';
import { testWith } from '../helpers/tools.js';

const scratch = mkdtempSync(join(tmpdir(), 'afxdp-check-'));
const SEED = '20261126';
const built = (name: string) => join(ROOT, 'build', 'asm', `${name}.wasm`);
const planted = (name: string) => join(ROOT, 'build', 'test-asm', `${name}.wasm`);
const check = (...args: string[]) => runCli('afxdp-wasm', ['check', ...args]);

// udp_echo_c is the C build of udp_echo, built only where clang and wasm-ld are installed.
for (const [name, withTools] of [
  ['echo', test],
  ['udp_echo', test],
  ['drop', test],
  ['udp_echo_c', testWith('clang', 'wasm-ld')],
] as const) {
  for (const frameSize of ['2048', '4096']) {
    withTools(`check passes ${name}.wasm (${frameSize}-byte frames)`, () => {
      const out = check(built(name), '--runs', '400', '--seed', SEED, '--frame-size', frameSize, '--json');
      assert.is(out.status, 0, out.stderr + out.stdout);
      const r = JSON.parse(out.stdout);
      assert.is(r.ok, true);
      assert.ok(r.frames > 400, `${r.frames} frames`);
      assert.ok(r.perPacketUs.max > 0 && r.perPacketUs.median <= r.perPacketUs.p99);
    });
  }
}

const be16 = (f: Uint8Array, at: number) => (f[at]! << 8) | f[at + 1]!;
const PLANTED: [string, string, RegExp, (f: Uint8Array) => boolean][] = [
  ['check_trap_vlan', 'no-trap', /trapped: unreachable/, (f) => [0x8100, 0x88a8].includes(be16(f, 12))],
  ['check_oob_arp', 'no-trap', /out of bounds/, (f) => be16(f, 12) === 0x0806],
  [
    'check_scribble_ipv4_options',
    'writes-inside',
    /8 bytes past the end of frame 0's 2048-byte frame/,
    (f) => be16(f, 12) === 0x0800 && (f[14]! & 15) > 5,
  ],
  ['check_bad_length_hop_by_hop', 'valid-verdicts', /TX of 5000 bytes/, (f) => be16(f, 12) === 0x86dd && f[20] === 0],
  ['check_host_write_odd', 'writes-inside', /wrote the host's counters at 0x108/, (f) => f.length % 2 === 1],
  [
    'check_alloc_udp',
    'no-allocation',
    /run 3 more times, wrote \d+ more bytes of its region each time/,
    (f) => (be16(f, 12) === 0x0800 && f[23] === 17) || (be16(f, 12) === 0x86dd && f[20] === 17),
  ],
];

for (const [name, property, says, hasFeature] of PLANTED) {
  test(`check finds the planted bug in ${name}: ${property}, shrunk to one frame, replayable`, () => {
    const pcap = join(scratch, `${name}.pcap`);
    const out = check(planted(name), '--runs', '2000', '--seed', SEED, '--out', pcap, '--json');
    assert.is(out.status, 1, out.stderr + out.stdout);
    const { failure } = JSON.parse(out.stdout);
    assert.is(failure.property, property);
    assert.match(failure.message, says);
    const frames = readCapture(readFileSync(pcap)).frames;
    assert.is(frames.length, 1, 'shrunk to one frame');
    assert.ok(hasFeature(frames[0]!), `the frame shows the trigger: ${Buffer.from(frames[0]!).toString('hex')}`);
    const replayed = runCli('replay', ['--handler', planted(name), pcap, join(scratch, `${name}-out.pcap`)]);
    assert.is(replayed.status, 0, replayed.stderr);
    assert.match(replayed.stdout, /^1 frames in: /);
    if (property === 'no-trap') assert.match(replayed.stdout, /1 in trapped batches/);
  });
}

// A loader hook that refuses fast-check: whatever start resolves it fails, naming it.
const NO_FAST_CHECK = (() => {
  const data = (code: string) => `data:text/javascript,${encodeURIComponent(code)}`;
  const hooks =
    "export async function resolve(spec, context, next) { if (spec === 'fast-check') " +
    "throw new Error('fast-check was loaded'); return next(spec, context); }";
  return `--import=${data(`import { register } from 'node:module'; register(${JSON.stringify(data(hooks))});`)}`;
})();

test('a start that checks nothing never loads fast-check (--help, serve --help, check --help); check does', () => {
  const env = { ...process.env, NODE_OPTIONS: NO_FAST_CHECK };
  for (const args of [['--help'], ['serve', '--help'], ['check', '--help'], ['replay', '--help']]) {
    const out = runCli('afxdp-wasm', args, { env });
    assert.is(out.status, 0, `${args.join(' ')}: ${out.stderr}`);
  }
  const checked = runCli('afxdp-wasm', ['check', built('echo'), '--runs', '1'], { env });
  assert.match(checked.stderr, /fast-check was loaded/, 'the hook sees a check load it');
});

test('check: usage errors exit 2 with one line', () => {
  for (const args of [[], ['--frame-size', '1000', built('echo')], [built('echo'), 'extra'], ['/nonexistent.wasm']]) {
    const out = check(...args);
    assert.is(out.status, 2, `${args.join(' ')}: ${out.stderr}`);
    assert.match(out.stderr, /^check: [^\n]+\n$/);
  }
});

test('check --reference: byte-for-byte against a model; a model that drops everything fails echo, passes drop', () => {
  const model = join(scratch, 'drops.mjs');
  writeFileSync(model, 'export default function reference(frame, config) { return null; }\n');
  assert.is(check(built('drop'), '--reference', model, '--runs', '300', '--seed', SEED).status, 0);
  const echo = check(built('echo'), '--reference', model, '--runs', '2000', '--seed', SEED, '--json');
  assert.is(echo.status, 1);
  assert.is(JSON.parse(echo.stdout).failure.property, 'matches-reference');
  const none = join(scratch, 'none.mjs');
  writeFileSync(none, 'export const x = 1;\n');
  assert.is(check(built('drop'), '--reference', none).status, 2);
});

test('check --corpus: frames of a capture seed the run (echo answers far more of a run seeded with echo requests)', () => {
  const pcap = join(scratch, 'requests.pcap');
  writeFileSync(
    pcap,
    writePcap([Uint8Array.from(echo6Frame({ dst: 'fc00:dead:cafe:1::1' })), Uint8Array.from(echo4Frame())]),
  );
  const share = (...extra: string[]) => {
    const r = JSON.parse(check(built('echo'), '--runs', '300', '--seed', SEED, '--json', ...extra).stdout);
    return r.sent / r.frames;
  };
  const [plain, seeded] = [share(), share('--corpus', pcap)];
  assert.ok(seeded > 2 * plain, `share answered: ${plain} without the corpus, ${seeded} with it`);
  assert.is(check(built('echo'), '--corpus', '/nonexistent', '--runs', '1').status, 2);
  assert.is(check(built('echo'), '--corpus', join(ROOT, 'package.json'), '--runs', '1').status, 2);
});

test('the check before a swap: echo passes, a planted bug is refused naming its property', async () => {
  const started = performance.now();
  assert.is(await checkBeforeSwap(loadHandler(built('echo')), 2048), undefined);
  const took = performance.now() - started;
  const refused = await checkBeforeSwap(loadHandler(planted('check_host_write_odd')), 4096);
  assert.match(refused ?? 'passed', /^it fails check's writes-inside property: wrote the host's counters at 0x108 /);
  const initTrap = await checkBeforeSwap(loadHandler(planted('init_trap')), 2048);
  assert.match(initTrap ?? 'passed', /^it fails check's no-trap property: trapped in _start or init on the full /);
  const loop = await checkBeforeSwap(loadHandler(join(ROOT, 'build', 'test-asm', 'loop.wasm')), 2048);
  assert.match(
    loop ?? 'passed',
    /^it fails check's returns property: process\(\) had not returned after 5 s, on a batch /,
  );
  console.log(`    (the check before a swap took ${took.toFixed(0)} ms on echo.wasm)`);
});

test('the check before a swap judges the module swapped in, not what its file holds by then (--watch)', async () => {
  const file = join(scratch, 'rebuilt.wasm');
  copyFileSync(built('echo'), file);
  const echo = loadHandler(file);
  copyFileSync(planted('check_host_write_odd'), file);
  assert.is(await checkBeforeSwap(echo, 4096), undefined, 'echo as it was loaded passes');
  const odd = loadHandler(file);
  copyFileSync(built('echo'), file);
  assert.match((await checkBeforeSwap(odd, 4096)) ?? 'passed', /^it fails check's writes-inside property/);
});

test('check ends on a handler that never returns: the returns property, its frame written, exit 1', () => {
  const pcap = join(scratch, 'check_loop_tcp.pcap');
  const args = ['check', planted('check_loop_tcp'), '--runs', '2000', '--seed', SEED, '--out', pcap];
  // Bounded here, so that a check that hangs fails this test instead of hanging the run.
  const out = spawnSync(process.execPath, [join(ROOT, 'dist', 'afxdp-wasm.js'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(out.status, 1, out.stderr + out.stdout);
  assert.match(out.stderr, /^FAILED returns: process\(\) had not returned after 5 s, on a batch of \d+ frames?/m);
  const frames = readCapture(readFileSync(pcap)).frames;
  assert.is(frames.length, 1, 'the one frame it never returns from');
  assert.ok(be16(frames[0]!, 12) === 0x0800 && frames[0]![23] === 6, 'an IPv4 TCP segment');
});

test('check ends on a handler whose init never returns: one line naming it, exit 2 as for any handler it cannot load', () => {
  const args = ['check', planted('init_loop'), '--runs', '10', '--seed', SEED];
  const out = spawnSync(process.execPath, [join(ROOT, 'dist', 'afxdp-wasm.js'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(out.status, 2, `${out.signal ?? ''} ${out.stderr}`);
  assert.match(
    out.stderr,
    /^check: handler \S+init_loop\.wasm did not return from _start or init within 5 s [^\n]+\n$/,
  );
});

test('check fails a handler whose init traps only on a configuration with addresses: no-trap, one line, exit 1', () => {
  // The loader's probe runs init on a configuration of zeros, where this one returns.
  const out = check(planted('init_trap'), '--runs', '10', '--seed', SEED);
  assert.is(out.status, 1, out.stderr + out.stdout);
  assert.is(out.stderr, 'FAILED no-trap: trapped in _start or init on the full configuration: unreachable\n');
  const json = JSON.parse(check(planted('init_trap'), '--runs', '10', '--seed', SEED, '--json').stdout);
  assert.equal(
    [json.ok, json.failure.property, json.failure.config, json.failure.frames, json.framesPerSecond],
    [false, 'no-trap', 'full', [], 0],
  );
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
