// A handler project of one's own, made the way a user makes one (afxdp-wasm new, npm install), in a
// temporary folder outside the repository. npm install runs offline: the project depends on this
// checkout through a file: dependency, which npm links.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli.js';

export interface Project {
  dir: string;
  /** Runs npm with these arguments in the project; what it printed and its exit code. */
  npm(...args: string[]): { status: number | null; out: string };
}

export async function withProject<T>(fn: (p: Project) => Promise<T> | T): Promise<T> {
  const parent = mkdtempSync(join(tmpdir(), 'afxdp-project-'));
  try {
    const dir = join(parent, 'my-handler');
    const made = runCli('afxdp-wasm', ['new', dir]);
    if (made.status !== 0) throw new Error(`afxdp-wasm new failed: ${made.stderr}`);
    const npm = (...args: string[]) => {
      const res = spawnSync('npm', args, { cwd: dir, encoding: 'utf8' });
      return { status: res.status, out: `${res.stdout}${res.stderr}` };
    };
    const install = npm('install', '--offline', '--no-audit', '--no-fund');
    if (install.status !== 0) throw new Error(`npm install failed: ${install.out}`);
    return await fn({ dir, npm });
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}
