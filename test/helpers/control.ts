// The control socket from a test: a run folder of the test's own, afxdp-wasm ctl, and the sockets an
// instance killed with SIGKILL leaves. Needs neither root nor a kernel.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { controlDir } from '../../host/lib/paths.js';
import { ROOT } from './cli.js';

/**
 * Runs fn with AFXDP_RUN_DIR on a folder of its own (the child processes
 * inherit it), so that no test sees or touches the user's real instances.
 * uvu runs every file in one process: the variable is put back after.
 */
export async function withRunDir<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = process.env.AFXDP_RUN_DIR;
  process.env.AFXDP_RUN_DIR = mkdtempSync(join(tmpdir(), 'afxdp-run-'));
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.AFXDP_RUN_DIR;
    else process.env.AFXDP_RUN_DIR = before;
  }
}

/** afxdp-wasm ctl, cut off after 8 s: a control socket that does not answer fails the test instead of hanging it. */
export function ctl(...args: string[]) {
  const res = spawnSync(process.execPath, [join(ROOT, 'dist', 'afxdp-wasm.js'), 'ctl', ...args], {
    encoding: 'utf8',
    timeout: 8000,
  });
  return { code: res.status, out: res.stdout.trim(), err: res.stderr.trim() };
}

/** A Unix socket nobody listens on: what an instance killed with SIGKILL leaves. */
function staleSocket(path: string): void {
  const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script]);
  assert.ok(existsSync(path), `made ${path}`);
}

export function staleSockets(...names: string[]): void {
  mkdirSync(controlDir(), { recursive: true, mode: 0o700 });
  for (const name of names) staleSocket(join(controlDir(), `${name}.sock`));
}
