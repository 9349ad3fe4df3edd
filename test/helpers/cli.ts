// The project's folder and its built commands. Nothing that needs root or a kernel: unit tests import it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../host/lib/paths.js';

/** Found from where the bundle lies (build/test/<tier>/), the way the host finds its addon. */
export const ROOT = projectRoot();

/** Runs one of the built commands (dist/NAME.js) and collects what it printed. */
/** The uid of nobody, for what an unprivileged user gets. */
export const NOBODY = 65534;

export function runCli(name: string, args: string[], extra: { uid?: number; env?: NodeJS.ProcessEnv } = {}) {
  const argv = [process.execPath, join(ROOT, 'dist', `${name}.js`), ...args];
  const res = spawnSync(
    extra.uid === undefined ? argv[0]! : 'setpriv',
    extra.uid === undefined
      ? argv.slice(1)
      : [`--reuid=${extra.uid}`, `--regid=${extra.uid}`, '--clear-groups', ...argv],
    {
      encoding: 'utf8',
      env: extra.env ?? process.env,
    },
  );
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}
