// afxdp-wasm-testenv: the same command as afxdp-wasm testenv, under its own name.
import { inCheckout } from './cli/start.js';

if (inCheckout('testenv')) {
  const [{ testenvCommand }, { runCommand }] = await Promise.all([
    import('./cli/testenv.js'),
    import('./cli/dispatch.js'),
  ]);
  runCommand(testenvCommand, process.argv.slice(2));
}
