// afxdp-wasm-testenv: the same command as afxdp-wasm testenv, under its own name.
import { runCommand } from './cli/dispatch.js';
import { testenvCommand } from './cli/testenv.js';

runCommand(testenvCommand, process.argv.slice(2));
