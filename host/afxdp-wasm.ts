// afxdp-wasm: serve an interface queue through AF_XDP with a wasm handler.
// Until the data path lands, with no -d it makes (or reuses) the default test
// environment and says what comes next.
import { runMain } from './lib/errors.js';
import { setup } from './testenv/env.js';
import { DEFAULT_NAME, loadEnv, outerAddr } from './testenv/state.js';

function main(): void {
  const env = loadEnv(DEFAULT_NAME) ?? setup({ name: DEFAULT_NAME });
  console.log(`Test environment ${env.name} is up (ping it: npm run testenv -- ping, it answers ${outerAddr(env)}).`);
  console.log('The AF_XDP data path is not built yet: the kernel answers for now.');
}

runMain('afxdp-wasm', main);
