// Every place on disk the product uses, in one module: the run dir and its
// folders, the test environments' state, the project and its build outputs.
// The folders read their environment variable on each call, so a test that
// moves one (AFXDP_RUN_DIR, AFXDP_TESTENV_STATE) moves it for what follows.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors.js';

/** Where running instances keep their files (AFXDP_RUN_DIR moves it). */
export const runDir = (): string => process.env.AFXDP_RUN_DIR ?? '/run/afxdp-wasm';
/** Control sockets, one per served interface. */
export const controlDir = (): string => join(runDir(), 'ctl');
export const controlSocket = (ifname: string): string => join(controlDir(), `${ifname}.sock`);
/** Who owns which XDP program, one record per interface. */
export const portsDir = (): string => join(runDir(), 'ports');
export const ownerFile = (ifname: string): string => join(portsDir(), `${ifname}.json`);

/** The test environments' records; tests point it elsewhere so they never touch the user's `current`. */
export const testenvStateDir = (): string => process.env.AFXDP_TESTENV_STATE ?? join(runDir(), 'testenv');

let root: string | undefined;
/** The repository root, found upwards from this file: from dist/ and build/test/ alike. */
export function projectRoot(): string {
  if (root !== undefined) return root;
  const here = dirname(fileURLToPath(import.meta.url));
  let dir = here;
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) {
      throw new UserError(
        `no package.json above ${here}: afxdp-wasm runs from its checkout (its build/ and dist/); ` +
          'run it there, e.g. npx afxdp-wasm',
      );
    }
    dir = dirname(dir);
  }
  root = dir;
  return dir;
}

/** Built handlers: build/asm/NAME. */
export const handlerFile = (name: string): string => join(projectRoot(), 'build', 'asm', name);
/** Built XDP programs: build/bpf/NAME. */
export const bpfObject = (name: string): string => join(projectRoot(), 'build', 'bpf', name);
/** The bundled host: dist/NAME. */
export const distFile = (name: string): string => join(projectRoot(), 'dist', name);
/** A native addon node-gyp built in FOLDER (relative to the root) as TARGET.node. */
export const addonFile = (folder: string, target: string): string =>
  join(projectRoot(), folder, 'build', 'Release', `${target}.node`);
