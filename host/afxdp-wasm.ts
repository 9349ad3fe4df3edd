// afxdp-wasm: one command. Serving is the default; the other subcommands
// control a running instance, feed it, test handlers offline and build them.
import { inCheckout } from './cli/start.js';

if (inCheckout('afxdp-wasm')) (await import('./cli/subcommands.js')).runAfxdpWasm(process.argv.slice(2));
