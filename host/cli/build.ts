// afxdp-wasm build FILE.ts [-o OUT.wasm]: builds a handler with the project's
// asconfig.json (memory imported, runtime stub: what the host checks for),
// next to its source unless told otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../lib/errors.js';
import { projectRoot } from '../lib/paths.js';
import { command, optional } from './table.js';

export const buildCommand = command({
  summary: 'build a handler written in AssemblyScript to .wasm',
  prog: 'afxdp-wasm',
  synopsis: 'Usage: afxdp-wasm build FILE.ts [-o OUT.wasm]',
  about:
    "Build a handler with the project's asconfig.json. It imports the SDK by package name:\n" +
    "import { descLen, setVerdict } from 'afxdp-wasm/asm/lib/abi' (from its node_modules, or this afxdp-wasm).",
  options: {
    output: optional(
      'file.wasm',
      'where the module goes (default: beside FILE.ts, as FILE.wasm)',
      (raw) => resolve(raw),
      'o',
    ),
  },
  positionals: true,
  run: ({ output }, files) => {
    const [file] = files;
    if (files.length !== 1 || !file) {
      throw new UserError('build takes one handler: afxdp-wasm build FILE.ts [-o OUT.wasm]');
    }
    if (!file.endsWith('.ts') || !existsSync(file)) {
      throw new UserError(`build wants an AssemblyScript file (.ts) that exists, not '${file}'`);
    }
    const source = resolve(file);
    const out = output ?? join(dirname(source), `${basename(source, '.ts')}.wasm`);
    mkdirSync(dirname(out), { recursive: true });
    compile(source, out);
    console.log(`Built ${out}`);
  },
});

/**
 * A folder that holds this checkout under the package's name, for asc's --path: a handler that has no
 * node_modules/afxdp-wasm of its own still finds 'afxdp-wasm/...' (one it has comes first).
 */
function sdkPath(root: string): string {
  const dir = join(root, 'build', 'sdk');
  const link = join(dir, 'afxdp-wasm');
  if (!existsSync(link)) {
    mkdirSync(dir, { recursive: true });
    symlinkSync(root, link);
  }
  return dir;
}

function compile(file: string, out: string): void {
  const root = projectRoot();
  const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
  const argv = [asc, file, '--config', join(root, 'asconfig.json'), '--target', 'release', '--outFile', out];
  // asc looks for packages in node_modules from its working folder up: the handler's own folder.
  argv.push('--path', sdkPath(root));
  const res = spawnSync(process.execPath, argv, { stdio: 'inherit', cwd: dirname(file) });
  if (res.status !== 0) throw new UserError(`the AssemblyScript compiler refused ${file} (its errors are above)`);
}
