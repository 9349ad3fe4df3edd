// afxdp-wasm build FILE.ts [-o OUT.wasm]: builds a handler with the project's
// asconfig.json (memory imported, runtime stub: what the host checks for).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../lib/errors.js';
import { handlerFile, projectRoot } from '../lib/paths.js';
import { command, optional } from './table.js';

export const buildCommand = command({
  summary: 'build a handler written in AssemblyScript to .wasm',
  prog: 'afxdp-wasm',
  synopsis: 'Usage: afxdp-wasm build FILE.ts [-o OUT.wasm]',
  about: "Build a handler with the project's asconfig.json. Import the SDK (asm/lib/) by a relative path.",
  options: {
    output: optional('file.wasm', 'where the module goes (default: build/asm/<name>.wasm)', (raw) => resolve(raw), 'o'),
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
    const out = output ?? handlerFile(`${basename(file, '.ts')}.wasm`);
    mkdirSync(dirname(out), { recursive: true });
    compile(resolve(file), out);
    console.log(`Built ${out}`);
  },
});

function compile(file: string, out: string): void {
  const root = projectRoot();
  const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
  const argv = [asc, file, '--config', join(root, 'asconfig.json'), '--target', 'release', '--outFile', out];
  const res = spawnSync(process.execPath, argv, { stdio: 'inherit', cwd: root });
  if (res.status !== 0) throw new UserError(`the AssemblyScript compiler refused ${file} (its errors are above)`);
}
