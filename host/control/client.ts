// The control socket's one client: finds the socket of a running afxdp-wasm
// and sends it one request. The ctl command, the tests and the bench use it.
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../lib/errors.js';
import { controlDir, controlSocket } from '../lib/paths.js';
import type { Reply, Request } from './protocol.js';

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
    conn.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EACCES')
        fail(new UserError(`permission denied on ${path}: only the user who started afxdp-wasm may control it`));
      else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')
        fail(new UserError(`no afxdp-wasm is listening on ${path}`));
      else fail(new UserError(`${path}: ${err.message}`));
    });
  });
}
