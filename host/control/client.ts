// The control socket's one client: finds the socket of a running afxdp-wasm
// and sends it one request. The ctl command, the tests and the bench use it.
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../lib/errors.js';
import { controlDir, controlSocket } from '../lib/paths.js';
import { BLOCK } from '../offline/pcapng.js';
import { type CaptureRequest, type Reply, type Request, STOP_LINE } from './protocol.js';

/** The socket to talk to: the one given, the one of dev, or the only instance running. */
export async function findSocket(dev: string | undefined, given: string | undefined): Promise<string> {
  if (given) return given;
  if (dev) return controlSocket(dev);
  const names = socketNames();
  const live: string[] = [];
  for (const name of names) if (await listened(join(controlDir(), name))) live.push(name);
  if (live.length === 0) throw new UserError('no running afxdp-wasm found (start one with npm start -- -d DEV)');
  if (live.length > 1) {
    const names = live.map((s) => s.slice(0, -'.sock'.length)).join(', ');
    throw new UserError(`several afxdp-wasm are running (${names}); pick one with -d DEV`);
  }
  return join(controlDir(), live[0]!);
}

/**
 * Whether an instance listens on a control socket. One that refuses the
 * connection was left by an instance that was killed: it is removed, since
 * the folder is ours. One we may not open belongs to a live instance of
 * another user, and counts.
 */
function listened(path: string): Promise<boolean> {
  return new Promise((done) => {
    const conn = connect(path, () => {
      conn.destroy();
      done(true);
    });
    conn.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' && isSocket(path)) removeStale(path);
      done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT');
    });
  });
}

function socketNames(): string[] {
  try {
    return readdirSync(controlDir()).filter((f) => f.endsWith('.sock'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    const dir = controlDir();
    if (code === 'EACCES') throw new UserError(`permission denied on ${dir}: run ctl as the user who started it`);
    throw new UserError(`${dir}: ${(err as Error).message}`);
  }
}

function removeStale(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // not ours to remove after all: skipping it is enough
  }
}

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/** One request, its reply (ok or not); a socket nobody answers on is a UserError. */
export function request(path: string, req: Request): Promise<Reply> {
  return new Promise((done, fail) => {
    let data = '';
    const conn = connect(path, () => conn.write(`${JSON.stringify(req)}\n`));
    conn.setEncoding('utf8');
    conn.setTimeout(10_000, () => conn.destroy(new Error('no answer in 10 s')));
    conn.on('data', (d: string) => (data += d));
    conn.on('end', () => {
      try {
        done(JSON.parse(data) as Reply);
      } catch {
        fail(new UserError(`${path} answered something that is not JSON`));
      }
    });
    conn.on('error', (err: NodeJS.ErrnoException) => fail(connectionError(path, err)));
  });
}

function connectionError(path: string, err: NodeJS.ErrnoException): UserError {
  if (err.code === 'EACCES')
    return new UserError(`permission denied on ${path}: only the user who started afxdp-wasm may control it`);
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')
    return new UserError(`no afxdp-wasm is listening on ${path}`);
  return new UserError(`${path}: ${err.message}`);
}

/** A capture being received: stop() asks the responder to end it (it then sends its last blocks). */
export interface CaptureClient {
  stop(): void;
  /** Resolves when the stream ends: complete (the responder ended it) or not (the connection broke). */
  done: Promise<{ complete: boolean }>;
}

/**
 * Sends a capture request and hands each whole pcapng block to block, in order; the reply line
 * before them goes to started. Rejects at once (a UserError) if the responder refuses.
 */
export function capture(
  path: string,
  req: CaptureRequest,
  started: (reply: Record<string, unknown>) => void,
  block: (b: Buffer) => void,
): CaptureClient {
  const conn = connect(path, () => conn.write(`${JSON.stringify(req)}\n`));
  let pending: Buffer = Buffer.alloc(0);
  let replied = false;
  let sawStatistics = false;
  const done = new Promise<{ complete: boolean }>((resolve, reject) => {
    conn.on('data', (d: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      if (!replied) {
        const nl = pending.indexOf(0x0a);
        if (nl < 0) return;
        const reply = JSON.parse(pending.subarray(0, nl).toString('utf8')) as Reply;
        pending = pending.subarray(nl + 1);
        replied = true;
        if (!reply.ok) return reject(new UserError(reply.error));
        started(reply);
      }
      while (pending.length >= 8 && pending.length >= pending.readUInt32LE(4)) {
        const len = pending.readUInt32LE(4);
        const b = pending.subarray(0, len);
        if (b.readUInt32LE(0) === BLOCK.statistics) sawStatistics = true;
        block(b);
        pending = pending.subarray(len);
      }
    });
    conn.on('end', () => {
      if (!replied) reject(new UserError(`${path} closed the connection without answering`));
      resolve({ complete: sawStatistics && pending.length === 0 });
    });
    conn.on('error', (err: NodeJS.ErrnoException) => reject(connectionError(path, err)));
  });
  return { stop: () => conn.write(STOP_LINE), done };
}
