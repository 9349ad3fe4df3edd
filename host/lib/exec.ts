// Thin wrappers over the system tools (ip, ethtool, ping...). A failing tool
// becomes an Error carrying its own last line of stderr.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UserError } from './errors.js';

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly stderr: string,
    readonly status: number | null,
  ) {
    const last = stderr.trim().split('\n').pop() ?? '';
    super(`'${argv.join(' ')}' failed${last ? `: ${last}` : ''}`);
  }
}

/** Runs a command, returns its stdout; throws CommandError when it fails. */
export function run(argv: string[], options: SpawnSyncOptions = {}): string {
  const res = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', ...options });
  if (res.error) throw new CommandError(argv, String(res.error.message), null);
  if (res.status !== 0) throw new CommandError(argv, String(res.stderr ?? ''), res.status);
  return String(res.stdout ?? '');
}

/** Runs a command and reports only whether it succeeded. */
export function succeeds(argv: string[]): boolean {
  return spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' }).status === 0;
}

/** Runs a command with the terminal attached; resolves to its exit code. */
export function runInteractive(argv: string[]): number {
  const res = spawnSync(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  return res.status ?? 1;
}

const searchPath = () => [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];

export function hasCommand(name: string): boolean {
  return searchPath().some((dir) => dir !== '' && existsSync(join(dir, name)));
}

/** Fails with one clear line when a tool is not installed. */
export function requireCommands(...names: string[]): void {
  const missing = names.filter((n) => !hasCommand(n));
  if (missing.length > 0) {
    throw new UserError(
      `missing tool${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (run 'npm run setup' as root to install it)`,
    );
  }
}

/** Blocks this thread for ms milliseconds (for synchronous code: set-up, the generator's pacing). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new UserError(`${what} needs root (or CAP_NET_ADMIN): run it with sudo`);
}
