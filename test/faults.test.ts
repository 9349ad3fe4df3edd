// What a hostile user found: handler files that never end, control sockets
// left by killed instances, requests that never finish, captures cut short.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ControlServer, REQUEST_TIMEOUT_MS } from '../host/control/server.js';
import { controlDir } from '../host/lib/paths.js';
import { writePcap } from '../host/offline/pcap.js';
import { runCtl, serving, sleep, startAfxdp } from './helpers/afxdp.js';
import { echo6Frame } from './helpers/packets.js';
import { ROOT, runCli, withEnv } from './helpers/testenv.js';

const ECHO = join(ROOT, 'build', 'asm', 'echo.wasm');
const scratch = mkdtempSync(join(tmpdir(), 'afxdp-faults-'));
const oneLine = (text: string) => text.trim().split('\n').length === 1;

/**
 * Runs fn with AFXDP_RUN_DIR on a folder of its own (the child processes
 * inherit it), so that no test sees or touches the user's real instances.
 * uvu runs every file in one process: the variable is put back after.
 */
async function withRunDir<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = process.env['AFXDP_RUN_DIR'];
  process.env['AFXDP_RUN_DIR'] = mkdtempSync(join(scratch, 'run-'));
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env['AFXDP_RUN_DIR'];
    else process.env['AFXDP_RUN_DIR'] = before;
  }
}

const ctl = runCtl;

/** Runs afxdp-wasm to its end, or kills it after ms (then code is 'hung'). */
async function runBounded(args: string[], ms: number): Promise<{ code: number | null | 'hung'; stderr: string }> {
  const r = startAfxdp(args);
  try {
    const code = await Promise.race([r.exited, sleep(ms).then(() => 'hung' as const)]);
    return { code, stderr: r.stderr };
  } finally {
    await r.kill();
  }
}

test('a handler that is not a regular file, or too big, gets one line and exit 1 at once', async () => {
  const fifo = join(scratch, 'handler.fifo');
  assert.is(spawnSync('mkfifo', [fifo]).status, 0);
  const big = join(scratch, 'big.wasm');
  writeFileSync(big, '');
  truncateSync(big, 17 * 2 ** 20);
  const cases: [string, RegExp][] = [
    ['/dev/zero', /^afxdp-wasm: handler \/dev\/zero is a character device, not a regular file; give --handler a \.wasm/],
    [fifo, /^afxdp-wasm: handler \S+ is a FIFO, not a regular file; give --handler a \.wasm file/],
    [scratch, /^afxdp-wasm: handler \S+ is a directory, not a regular file; give --handler a \.wasm file/],
    [big, /^afxdp-wasm: handler \S+ is 17\.0 MiB, over the 16 MiB limit for a handler; give --handler a \.wasm file/],
  ];
  await withEnv({ noPing: true }, async (env) => {
    for (const [file, message] of cases) {
      const res = await runBounded(['-d', env.name, '--handler', file], 5000);
      assert.is(res.code, 1, `${file}: ${res.stderr}`);
      assert.match(res.stderr, message);
      assert.ok(oneLine(res.stderr), res.stderr);
    }
  });
});

test('ctl swap of a FIFO is refused at once; the control socket and SIGTERM still work', async () => {
  const fifo = join(scratch, 'swap.fifo');
  assert.is(spawnSync('mkfifo', [fifo]).status, 0);
  await withRunDir(() => withEnv({ noPing: true }, async (env) => {
    await serving(env.name, [], () => {
      const swap = ctl('swap', fifo, '-d', env.name);
      assert.is(swap.code, 1, swap.err);
      assert.match(swap.err, /is a FIFO, not a regular file; .*still running .*echo\.wasm/);
      assert.ok(oneLine(swap.err), swap.err);
      const status = ctl('status', '-d', env.name);
      assert.is(status.code, 0, status.err);
      assert.match(status.out, /^queue 0: .*echo\.wasm/);
    }); // serving() stops it with SIGTERM and wants exit code 0
  }));
});

/** A Unix socket nobody listens on: what an instance killed with SIGKILL leaves. */
function staleSocket(path: string): void {
  const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script]);
  assert.ok(existsSync(path), `made ${path}`);
}

function staleSockets(...names: string[]): void {
  mkdirSync(controlDir(), { recursive: true, mode: 0o700 });
  for (const name of names) staleSocket(join(controlDir(), `${name}.sock`));
}

test('ctl without -d skips and removes sockets nobody listens on: none live', async () => {
  await withRunDir(() => {
    staleSockets('gone1', 'gone2');
    const res = ctl('status');
    assert.is(res.code, 1);
    assert.is(res.err, 'afxdp-wasm: no running afxdp-wasm found (start one with npm start -- -d DEV)');
    assert.equal(readdirSync(controlDir()), []);
  });
});

test('ctl without -d finds the one live instance beside stale sockets and one killed with SIGKILL', async () => {
  await withRunDir(() => withEnv({ noPing: true }, async (killed) => {
    const victim = startAfxdp(['-d', killed.name]);
    try {
      await victim.ready();
    } finally {
      await victim.stop('SIGKILL');
    }
    assert.ok(existsSync(join(controlDir(), `${killed.name}.sock`)), 'SIGKILL left its socket');
    staleSockets('gone1');
    await withEnv({ noPing: true }, (live) => serving(live.name, [], () => {
      const res = ctl('status');
      assert.is(res.code, 0, res.err);
      assert.match(res.out, /^queue 0: .*echo\.wasm/);
      assert.equal(readdirSync(controlDir()), [`${live.name}.sock`]);
    }));
  }));
});

/** Connects to a Unix socket and collects what it is sent until it closes. */
function openConnection(path: string): { conn: Socket; closed: Promise<{ data: string; after: number }> } {
  const started = performance.now();
  const conn = connect(path);
  let data = '';
  conn.setEncoding('utf8').on('data', (d: string) => (data += d));
  const closed = new Promise<{ data: string; after: number }>((resolve, reject) => {
    conn.on('error', reject);
    conn.on('close', () => resolve({ data, after: performance.now() - started }));
  });
  return { conn, closed };
}

test('a control request without its newline is answered with an error and closed; others are served meanwhile', async () => {
  await withRunDir(async () => {
    const server = await ControlServer.listen('faults0', {
      swap: () => Promise.reject(new Error('not here')),
      status: () => ({ queues: [] }),
      stats: () => ({}),
    });
    try {
      const slow = openConnection(server.path);
      slow.conn.write('{"cmd":"status"');
      const ask = openConnection(server.path);
      ask.conn.write('{"cmd":"status"}\n');
      assert.equal(JSON.parse((await ask.closed).data), { ok: true, queues: [] });
      const cutOff = sleep(REQUEST_TIMEOUT_MS + 3000).then(() => undefined);
      const res = await Promise.race([slow.closed, cutOff]);
      assert.ok(res, `still open ${REQUEST_TIMEOUT_MS + 3000} ms later`);
      assert.equal(JSON.parse(res.data), { ok: false, error: `no complete request in 5 s; a request is one line of JSON ` +
        'ending in a newline, e.g. {"cmd":"status"}' });
      assert.ok(res.after >= REQUEST_TIMEOUT_MS - 100, `closed after ${res.after} ms, before the timeout`);
      slow.conn.destroy();
    } finally {
      server.close();
    }
  });
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

test('replay: a pcap cut inside a record header or a frame is said to be cut; --allow-truncated replays the rest', () => {
  const { bytes, records } = pcapOf(10);
  for (const cut of [records[3]! + 8, records[3]! + 20]) {
    const refused = replay(bytes.subarray(0, cut));
    assert.is(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /^replay: \S+ appears to have been cut short in the middle of a packet; --allow-truncated /);
    assert.ok(oneLine(refused.stderr), refused.stderr);
    const allowed = replay(bytes.subarray(0, cut), '--allow-truncated');
    assert.is(allowed.status, 0, allowed.stderr);
    assert.match(allowed.stderr, /^replay: warning: \S+ appears to have been cut short .*; replaying its 3 complete frames/);
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
  return block(6, Buffer.concat([Buffer.from(new Uint32Array([iface, 0, 0, frame.length, frame.length]).buffer), frame]));
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
    assert.match(refused.stderr, /^replay: \S+ appears to have been cut short in the middle of a block; --allow-truncated /);
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
