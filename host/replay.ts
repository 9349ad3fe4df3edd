// afxdp-wasm-replay: the same command as afxdp-wasm replay, under its own name.
import { inCheckout } from './cli/start.js';

if (inCheckout('replay')) {
  const [{ replayCommand }, { runCommand }] = await Promise.all([
    import('./cli/replay.js'),
    import('./cli/dispatch.js'),
  ]);
  runCommand(replayCommand, process.argv.slice(2));
}
