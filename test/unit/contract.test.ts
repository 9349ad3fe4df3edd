// The host/handler contract: every generated definition and CONTRACT.md's tables agree with the
// spec (asm/contract/abi.json), and its numbers are still ABI 1's. No root, no kernel.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Batch, txAllowed } from '../../host/dataplane/batch.js';
import * as layout from '../../host/dataplane/layout.js';

/** The project's root: the nearest folder above this file (or its bundle) with a package.json. */
function projectRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const ROOT = projectRoot();
const SPEC = 'asm/contract/abi.json';
const CONTRACT_MD = 'asm/CONTRACT.md';

function generator(root: string, ...args: string[]) {
  const res = spawnSync(process.execPath, [join(ROOT, 'scripts', 'contract.mjs'), '--root', root, ...args], {
    encoding: 'utf8',
  });
  return { status: res.status, stderr: res.stderr };
}

/** A scratch tree holding the spec and CONTRACT.md, and what the generator writes from them. */
function withScratchTree(fn: (dir: string, generated: string[]) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-contract-'));
  try {
    for (const path of [SPEC, CONTRACT_MD]) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      copyFileSync(join(ROOT, path), join(dir, path));
    }
    assert.is(generator(dir).status, 0);
    const all = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const generated = all
      .map((e) => relative(dir, join(e.parentPath, e.name)))
      .filter((path) => path !== SPEC && path !== CONTRACT_MD);
    fn(dir, generated);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function edit(dir: string, path: string, change: (text: string) => string): void {
  const text = readFileSync(join(dir, path), 'utf8');
  const changed = change(text);
  assert.not.equal(changed, text, `the edit of ${path} changed nothing`);
  writeFileSync(join(dir, path), changed);
}

test('the committed generated files and CONTRACT.md agree with the spec', () => {
  const res = generator(ROOT, '--check');
  assert.is(res.status, 0, res.stderr);
});

test('a generated file edited by hand is named as stale', () => {
  withScratchTree((dir, generated) => {
    assert.equal(generated.sort(), [
      'asm/include/afxdp_abi.h',
      'asm/lib/abi.generated.ts',
      'host/dataplane/abi.generated.ts',
    ]);
    for (const path of generated) {
      const before = readFileSync(join(dir, path), 'utf8');
      edit(dir, path, (text) => text.replace(/16u?;?\n/, '17;\n'));
      const res = generator(dir, '--check');
      assert.is(res.status, 1, path);
      assert.match(res.stderr, `contract: ${path} disagrees with ${SPEC}`);
      writeFileSync(join(dir, path), before);
    }
    assert.is(generator(dir, '--check').status, 0);
  });
});

test("CONTRACT.md's tables must agree with the spec; its prose is its own", () => {
  withScratchTree((dir) => {
    edit(dir, CONTRACT_MD, (text) => text.replace('| 8 | `verdict` u32 |', '| 12 | `verdict` u32 |'));
    const res = generator(dir, '--check');
    assert.is(res.status, 1);
    assert.match(res.stderr, `contract: ${CONTRACT_MD} disagrees`);
    assert.is(generator(dir).status, 0); // writing puts the table right again
    edit(dir, CONTRACT_MD, (text) => text.replace('## Swaps', '## Swapping handlers'));
    assert.is(generator(dir, '--check').status, 0);
  });
});

test('a changed spec leaves every generated file stale until the generator runs', () => {
  withScratchTree((dir, generated) => {
    edit(dir, SPEC, (text) => text.replace('"maxDescriptors": 2048', '"maxDescriptors": 1024'));
    const res = generator(dir, '--check');
    assert.is(res.status, 1);
    for (const path of [...generated, CONTRACT_MD]) assert.match(res.stderr, `contract: ${path} disagrees`);
    assert.is(generator(dir).status, 0);
    assert.is(generator(dir, '--check').status, 0);
  });
});

test('a spec whose areas overlap is refused in one line', () => {
  withScratchTree((dir) => {
    edit(dir, SPEC, (text) => text.replace('"offset": "0x1000"', '"offset": "0x0f00"'));
    const res = generator(dir, '--check');
    assert.is(res.status, 1);
    assert.is(res.stderr, `contract: ${SPEC}: the config block overlaps the batch\n`);
  });
});

test('a hand-over area that reaches into the handler region is refused in one line', () => {
  withScratchTree((dir) => {
    edit(dir, SPEC, (text) => text.replace('"offset": "0x0ff00000"', '"offset": "0x0ff80000"'));
    const res = generator(dir, '--check');
    assert.is(res.status, 1);
    assert.is(res.stderr, `contract: ${SPEC}: the hand-over area is not between the UMEM and the handler region\n`);
  });
});

test('the UMEM, however many frames, ends below the hand-over area, which ends below the handler region', () => {
  assert.is(layout.UMEM_OFFSET + layout.MAX_UMEM, layout.STATE_HANDOVER_OFFSET);
  assert.ok(layout.STATE_HANDOVER_OFFSET + layout.STATE_MAX_LEN <= layout.HANDLER_BASE);
  assert.ok(layout.BATCH_OFFSET + layout.MAX_BATCH * layout.DESC_SIZE <= layout.UMEM_OFFSET);
});

test("the numbers are ABI 1's", () => {
  assert.is(layout.ABI_VERSION, 1);
  assert.is(layout.DESC_SIZE, 16);
  assert.equal(layout.DESC, { addr: 0, len: 4, verdict: 8, queue: 12 });
  assert.equal(layout.VERDICT, { drop: 0, tx: 1 });
  assert.equal([layout.CONTROL_STOP, layout.CONTROL_SWAP, layout.CONTROL_HEARTBEAT], [0, 1, 2]);
  assert.is(layout.COUNTERS_OFFSET, 0x100);
  assert.equal(Object.keys(layout.COUNTER).slice(16, 20), [
    'admissionDropped',
    'admissionCongested',
    'admissionQuantum',
    'admissionDelayUs',
  ]);
  // The batch size histogram's buckets: one per power of two up to MAX_BATCH (the shim relies on it).
  assert.equal(
    Object.keys(layout.COUNTER).slice(20, 32),
    Array.from({ length: 12 }, (_, i) => `batchUpTo${2 ** i}`),
  );
  assert.is(layout.COUNTER.sparseLanePackets, 32);
  assert.is(layout.COUNTER.handlerErrors, 15);
  assert.is(layout.HANDLER_CONFIG_OFFSET, 0x400);
  assert.equal(layout.CONFIG, { flags: 0, hopLimit: 4, mac: 8, ipv6: 16, ipv4: 32 });
  assert.is(layout.BATCH_OFFSET, 0x1000);
  assert.is(layout.MAX_BATCH, 2048);
  assert.is(layout.UMEM_OFFSET, 0x10000);
  assert.is(layout.HANDLER_BASE, 256 * 1024 * 1024);
  assert.is(layout.MEMORY_PAGES, 4352);
  // The state hand-over (an addition to ABI 1: no handler has to know it).
  assert.is(layout.STATE_HANDOVER_OFFSET, layout.HANDLER_BASE - 1024 * 1024);
  assert.is(layout.STATE_MAX_LEN, 1024 * 1024);
  assert.is(layout.XDP_HEADROOM, 256);
  assert.is(layout.MIN_FRAME_ROOM, 1792);
  assert.is(layout.TX_MIN_LEN, 14);
  assert.equal(layout.FRAME_SIZES, [2048, 4096]);
});

test("asconfig.json builds handlers for the contract's memory", () => {
  const { options } = JSON.parse(readFileSync(join(ROOT, 'asconfig.json'), 'utf8')) as {
    options: { memoryBase: number; initialMemory: number; maximumMemory: number };
  };
  assert.is(options.memoryBase, layout.HANDLER_BASE);
  assert.ok(options.initialMemory <= layout.MEMORY_PAGES && layout.MEMORY_PAGES <= options.maximumMemory);
});

test('the batch accessor reads and writes each field at its contract offset', () => {
  const memory = layout.newMemory();
  const batch = new Batch(memory);
  batch.lay(3, 0x12345, 60, 7);
  batch.set(3, 'verdict', layout.VERDICT.tx);
  const desc = new DataView(memory.buffer, layout.BATCH_OFFSET + 3 * layout.DESC_SIZE, layout.DESC_SIZE);
  const read = (field: keyof typeof layout.DESC) => desc.getUint32(layout.DESC[field], true);
  assert.equal([read('addr'), read('len'), read('verdict'), read('queue')], [0x12345, 60, 1, 7]);
  batch.dropAll(4);
  assert.is(read('verdict'), layout.VERDICT.drop);
  assert.is(batch.get(3, 'len'), 60);
});

test('the TX rule: at least TX_MIN_LEN bytes, wholly inside the frame the packet arrived in', () => {
  const start = layout.UMEM_OFFSET;
  assert.ok(txAllowed(start + 256, layout.TX_MIN_LEN, start, 2048));
  assert.not.ok(txAllowed(start + 256, layout.TX_MIN_LEN - 1, start, 2048));
  assert.ok(txAllowed(start, 2048, start, 2048));
  assert.not.ok(txAllowed(start, 2049, start, 2048));
  assert.not.ok(txAllowed(start - 1, 60, start, 2048));
});

test.run();
