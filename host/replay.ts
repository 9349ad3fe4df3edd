// afxdp-wasm-replay: the same command as afxdp-wasm replay, under its own name.
import { replayCommand } from './cli/replay.js';
import { runCommand } from './cli/dispatch.js';

runCommand(replayCommand, process.argv.slice(2));
