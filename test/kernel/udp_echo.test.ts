// The SDK's worked example, the UDP echo service, online through AF_XDP, for each of its builds:
// asm/udp_echo.ts (AssemblyScript) and asm/c/udp_echo.c (C) (offline: test/unit).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outerAddr } from '../../host/testenv/state.js';
import { startAfxdp } from '../helpers/afxdp.js';
import { ROOT, withEnv } from '../helpers/testenv.js';

const UDP_ECHOES = [
  ['AssemblyScript', join(ROOT, 'build', 'asm', 'udp_echo.wasm')],
  ['C', join(ROOT, 'build', 'asm', 'udp_echo_c.wasm')],
] as const;

for (const [name, UDP_ECHO] of UDP_ECHOES) {
  test(`online, ${name}: a UDP echo client inside the namespace gets its datagram back through AF_XDP`, async () => {
    await withEnv({}, async (env) => {
      const run = startAfxdp(['-d', env.name, '-p', '-q', '--handler', UDP_ECHO]);
      try {
        await run.ready();
        const client =
          `const s=require('dgram').createSocket('udp6');s.on('message',m=>{console.log('got '+m);process.exit(0)});` +
          `s.send('hello afxdp',7,'${outerAddr(env)}');setTimeout(()=>{console.log('timeout');process.exit(1)},2000)`;
        const res = spawnSync('ip', ['netns', 'exec', env.name, process.execPath, '-e', client], { encoding: 'utf8' });
        assert.is(res.stdout.trim(), 'got hello afxdp', res.stderr);
        assert.is(await run.stop(), 0);
      } finally {
        await run.kill();
      }
    });
  });
}

test.run();
