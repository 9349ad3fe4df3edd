// A handler project of one's own, from a temporary folder outside the repository: afxdp-wasm new, npm
// install (offline), npm test (build beside the source, check, golden replay), a change of replies caught and
// rewritten with npm run golden; and a handler in a bare folder that finds the SDK by name all the same.
// (Served live on a test environment: test/kernel/new.test.ts.)
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadHandler } from '../../host/dataplane/handler.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { withProject } from '../helpers/project.js';

test('new -> npm install -> npm test: the handler imports the SDK by name, builds beside itself, replays golden', async () => {
  await withProject(({ dir, npm }) => {
    assert.match(readFileSync(join(dir, 'handler.ts'), 'utf8'), "from 'afxdp-wasm/asm/lib/abi'");
    assert.equal(JSON.parse(readFileSync(join(dir, 'asconfig.json'), 'utf8')), {
      extends: './node_modules/afxdp-wasm/asconfig.json',
    });
    const first = npm('test');
    assert.is(first.status, 0, first.out);
    assert.match(first.out, `Built ${join(dir, 'handler.wasm')}`);
    assert.match(first.out, /handler\.wasm: 500 batches, \d+ frames [^\n]*\n[^\n]*\nall properties hold/);
    assert.match(first.out, 'Same as test/expected.pcap: 3 frames.');
    assert.is(loadHandler(join(dir, 'handler.wasm')).module instanceof WebAssembly.Module, true);

    // A change of behaviour: replies with TTL 9. The golden test catches it, npm run golden takes it.
    const source = readFileSync(join(dir, 'handler.ts'), 'utf8');
    writeFileSync(join(dir, 'handler.ts'), source.replace('store<u8>(ip, <u8>hopLimit(), 8);', 'store<u8>(ip, 9, 8);'));
    const changed = npm('test');
    assert.is(changed.status, 1, changed.out);
    assert.match(changed.out, /frame 2 differs from test\/expected\.pcap \(the answer to input frame 2\):/);
    assert.match(changed.out, /got: {6}98 B .* ttl 9 checksum ok, ICMP echo reply id 0x1234 seq 2 checksum ok/);
    assert.is(npm('run', 'golden').status, 0);
    const [requests, expected] = [join(dir, 'test', 'requests.pcap'), join(dir, 'test', 'expected.pcap')];
    const again = runCli('afxdp-wasm', [
      'replay',
      '--handler',
      join(dir, 'handler.wasm'),
      requests,
      '--expect',
      expected,
    ]);
    assert.is(again.status, 0, again.stderr);
  });
});

test('build: a handler in a folder without node_modules finds the SDK by name too; -o puts it where told', () => {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-bare-'));
  try {
    const drop =
      "import { VERDICT_DROP, descLen, setVerdict } from 'afxdp-wasm/asm/lib/abi';\n" +
      "export { ABI as ABI_VERSION } from 'afxdp-wasm/asm/lib/abi';\n" +
      'export function process(batch: usize, count: u32): void {\n' +
      '  for (let i: u32 = 0; i < count; i++) setVerdict(batch, i, VERDICT_DROP, descLen(batch, i));\n}\n';
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'mine.ts'), drop);
    const built = runCli('afxdp-wasm', ['build', join(dir, 'src', 'mine.ts'), '-o', join(dir, 'out', 'x.wasm')]);
    assert.is(built.status, 0, built.stderr);
    loadHandler(join(dir, 'out', 'x.wasm'));
    assert.ok(!existsSync(join(dir, 'src', 'mine.wasm')), '-o alone, nothing beside the source');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('new refuses a folder that is not empty, in one line', () => {
  const res = runCli('afxdp-wasm', ['new', ROOT]);
  assert.is(res.status, 1);
  assert.match(res.stderr, /^afxdp-wasm new: \S+ is not empty; name a new or empty folder\n$/);
});

test.run();
