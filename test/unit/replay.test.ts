// npm run replay on made-up captures: whole, cut short, naming interfaces
// they do not describe, and bad input. (Real captures: test/kernel.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writePcap } from '../../host/offline/pcap.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { echo6Frame } from '../helpers/packets.js';

const ECHO = join(ROOT, 'build', 'asm', 'echo.wasm');
const scratch = mkdtempSync(join(tmpdir(), 'afxdp-replay-'));
const oneLine = (text: string) => text.trim().split('\n').length === 1;

test('replay: bad input gets one line', () => {
  const missing = runCli('replay', ['--handler', ECHO, '/nonexistent.pcap', '/tmp/x.pcap']);
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /^replay: cannot read \/nonexistent\.pcap: ENOENT/);
  const notPcap = runCli('replay', ['--handler', ECHO, join(ROOT, 'package.json'), '/tmp/x.pcap']);
  assert.match(notPcap.stderr, /^replay: .*package\.json is neither pcap nor pcapng/);
  const usage = runCli('replay', ['in.pcap']);
  assert.match(usage.stderr, /^replay: usage: npm run replay -- --handler/);
});

/** A capture of n echo requests, and where each of its records starts. */
function pcapOf(n: number): { bytes: Buffer; records: number[] } {
  const frames = Array.from({ length: n }, (_, i) => new Uint8Array(echo6Frame({ seq: i + 1 })));
  const records = frames.map((_, i) => 24 + frames.slice(0, i).reduce((sum, f) => sum + 16 + f.length, 0));
  return { bytes: writePcap(frames), records };
}

function replay(input: Buffer, ...args: string[]) {
  const file = join(scratch, `in-${Math.random().toString(36).slice(2)}.cap`);
  writeFileSync(file, input);
  return runCli('replay', ['--handler', ECHO, file, join(scratch, 'out.pcap'), ...args]);
}

test('replay --frame-size 4096 lays frames in 4096-byte frames: a 3000-byte request is answered there, too large for 2048', () => {
  const big = writePcap([new Uint8Array(echo6Frame({ data: Array.from({ length: 2942 }, (_, i) => i & 0xff) }))]);
  const small = replay(big, '--addr', 'fc00:dead:cafe:1::1');
  assert.is(small.status, 0, small.stderr);
  assert.match(small.stdout, /^1 frames in: 0 transmitted.*, 1 larger than a frame/);
  const large = replay(big, '--addr', 'fc00:dead:cafe:1::1', '--frame-size', '4096');
  assert.is(large.status, 0, large.stderr);
  assert.match(large.stdout, /^1 frames in: 1 transmitted/);
  assert.match(replay(big, '--frame-size', '3000').stderr, /--frame-size must be 2048 or 4096/);
});

test('replay: a pcap cut inside a record header or a frame is said to be cut; --allow-truncated replays the rest', () => {
  const { bytes, records } = pcapOf(10);
  for (const cut of [records[3]! + 8, records[3]! + 20]) {
    const refused = replay(bytes.subarray(0, cut));
    assert.is(refused.status, 1, refused.stdout);
    assert.match(
      refused.stderr,
      /^replay: \S+ appears to have been cut short in the middle of a packet; --allow-truncated /,
    );
    assert.ok(oneLine(refused.stderr), refused.stderr);
    const allowed = replay(bytes.subarray(0, cut), '--allow-truncated');
    assert.is(allowed.status, 0, allowed.stderr);
    assert.match(
      allowed.stderr,
      /^replay: warning: \S+ appears to have been cut short .*; replaying its 3 complete frames/,
    );
    assert.match(allowed.stdout, /^3 frames in: 3 transmitted/);
  }
  assert.match(replay(bytes).stdout, /^10 frames in: 10 transmitted/);
});

/** A little-endian pcapng: its Section Header, then the given blocks. */
function pcapng(...blocks: Buffer[]): Buffer {
  return Buffer.concat([block(0x0a0d0d0a, [0x1a2b3c4d, 1, 0xffffffff, 0xffffffff]), ...blocks]);
}

/** One block: type, total length, body words (or bytes, padded to 4), total length again. */
function block(type: number, body: number[] | Uint8Array): Buffer {
  const raw = Array.isArray(body) ? Buffer.from(new Uint32Array(body).buffer) : Buffer.from(body);
  const padded = Buffer.concat([raw, Buffer.alloc((4 - (raw.length % 4)) % 4)]);
  const len = 12 + padded.length;
  const head = Buffer.from(new Uint32Array([type, len]).buffer);
  return Buffer.concat([head, padded, Buffer.from(new Uint32Array([len]).buffer)]);
}

const ethernetInterface = () => block(1, [1, 65535]); // link type 1 (Ethernet), reserved 0, snaplen
function enhancedPacket(iface: number, frame: Uint8Array): Buffer {
  return block(
    6,
    Buffer.concat([Buffer.from(new Uint32Array([iface, 0, 0, frame.length, frame.length]).buffer), frame]),
  );
}

const threeFrames = () => [1, 2, 3].map((seq) => new Uint8Array(echo6Frame({ seq })));

test('replay: a pcapng cut inside a block is said to be cut; --allow-truncated replays the rest', () => {
  const frames = threeFrames();
  const whole = pcapng(ethernetInterface(), ...frames.map((f) => enhancedPacket(0, f)));
  assert.match(replay(whole).stdout, /^3 frames in: 3 transmitted/);
  const lastBlock = whole.length - enhancedPacket(0, frames[2]!).length;
  for (const cut of [lastBlock + 8, lastBlock + 40]) {
    const refused = replay(whole.subarray(0, cut));
    assert.is(refused.status, 1);
    assert.match(
      refused.stderr,
      /^replay: \S+ appears to have been cut short in the middle of a block; --allow-truncated /,
    );
    const allowed = replay(whole.subarray(0, cut), '--allow-truncated');
    assert.is(allowed.status, 0, allowed.stderr);
    assert.match(allowed.stdout, /^2 frames in: 2 transmitted/);
  }
});

test('replay: a pcapng packet naming an interface it does not describe says so', () => {
  const stray = replay(pcapng(ethernetInterface(), enhancedPacket(7, threeFrames()[0]!)));
  assert.is(stray.status, 1);
  assert.match(stray.stderr, /^replay: \S+: a packet names interface 7, but the capture describes only 1 interface$/m);
  assert.ok(oneLine(stray.stderr), stray.stderr);
});

test('replay: an output in a folder that does not exist gets one line', () => {
  const res = replay(pcapOf(1).bytes);
  assert.is(res.status, 0, res.stderr);
  const missing = runCli('replay', ['--handler', ECHO, join(scratch, 'out.pcap'), join(scratch, 'nope', 'out.pcap')]);
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /^replay: cannot write \S+nope\/out\.pcap: the folder \S+nope does not exist\n$/);
});

test.run();
