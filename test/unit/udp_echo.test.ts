// The SDK's worked example, asm/udp_echo.ts, offline (online: test/kernel).
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadHandler } from '../../host/dataplane/handler.js';
import { OfflineRunner } from '../../host/offline/runner.js';
import { ROOT } from '../helpers/cli.js';
import { internetChecksum, udp6Frame } from '../helpers/packets.js';

const UDP_ECHO = join(ROOT, 'build', 'asm', 'udp_echo.wasm');

test('offline: a datagram to port 7 comes back with ports swapped and a right checksum; others are dropped', () => {
  const runner = new OfflineRunner(loadHandler(UDP_ECHO));
  const req = udp6Frame({ sport: 40000, dport: 7, data: [1, 2, 3] });
  const [out, other] = runner.run([Uint8Array.from(req), Uint8Array.from(udp6Frame({ dport: 53 }))]);
  assert.is(out!.verdict, 'tx');
  const r = [...(out as { bytes: Uint8Array }).bytes];
  assert.equal(r.slice(22, 38), req.slice(38, 54));
  assert.is((r[54]! << 8) | r[55]!, 7, 'source port 7');
  assert.is((r[56]! << 8) | r[57]!, 40000);
  assert.equal(r.slice(62), [1, 2, 3]);
  assert.is(internetChecksum([...r.slice(22, 54), 0, 0, 0, 11, 0, 0, 0, 17, ...r.slice(54)]), 0, 'UDP checksum');
  assert.is(other!.verdict, 'drop');
  assert.equal(runner.reasons(), { ...runner.reasons(), replied: 1, not_echo: 1 });
});

test.run();
