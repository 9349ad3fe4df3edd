// npm test: builds the handler, checks it against the contract (afxdp-wasm check: no trap, no write
// outside its batch, frames and region, valid verdicts, no allocation per packet), then replays test/requests.pcap through it and compares what it
// sends with test/expected.pcap (exit 1 at the first difference, shown decoded). When a change of
// replies is meant: npm run golden (rewrites test/expected.pcap; look at it before you commit it).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, 'node_modules', 'afxdp-wasm', 'dist', 'afxdp-wasm.js');
function afxdpWasm(...args) {
  const res = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', cwd: here });
  if (res.status !== 0) process.exit(res.status ?? 1);
}

afxdpWasm('build', 'handler.ts');
afxdpWasm('check', 'handler.wasm', '--runs', '500');
const update = process.argv.includes('--update') ? ['--update'] : [];
afxdpWasm('replay', '--handler', 'handler.wasm', 'test/requests.pcap', '--expect', 'test/expected.pcap', ...update);
