// Helpers for tests that touch the network: every environment gets a unique
// name and its own state folder, and is removed in a finally, even on failure.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { removeEnv, setup, type SetupOptions } from '../../host/testenv/env.js';
import type { EnvState } from '../../host/testenv/state.js';
import { ROOT, runCli } from './cli.js';

// Our own state folder: tests never change the user's current environment.
process.env.AFXDP_TESTENV_STATE ??= mkdtempSync(join(tmpdir(), 'afxdp-testenv-'));

let counter = 0;
/** A name no other run uses at the same time: prefix + pid + counter, at most 15 characters. */
export function uniqueName(prefix = 'tx'): string {
  return `${prefix}${process.pid.toString(36)}${(counter++).toString(36)}`.slice(0, 15);
}

export async function withEnv<T>(opts: Partial<SetupOptions>, fn: (env: EnvState) => Promise<T> | T): Promise<T> {
  const name = opts.name ?? uniqueName();
  try {
    const env = setup({ ...opts, name });
    return await fn(env);
  } finally {
    removeEnv(name);
  }
}

export { ROOT, runCli };

export const pingFromInside = (env: EnvState, addr: string, args: string[] = ['-c', '1', '-W', '2']) =>
  spawnSync('ip', ['netns', 'exec', env.name, 'ping', addr.includes(':') ? '-6' : '-4', ...args, addr], {
    encoding: 'utf8',
  });
