// The SDK's worked example, the UDP echo service, offline (online: test/kernel), for each of its builds:
// asm/udp_echo.ts (AssemblyScript) and asm/c/udp_echo.c (C), and the two against each other.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { loadHandler } from '../../host/dataplane/handler.js';
import { OfflineRunner, type Outcome } from '../../host/offline/runner.js';
import { ROOT } from '../helpers/cli.js';
import { internetChecksum, udp4Frame, udp6Frame } from '../helpers/packets.js';
import { testWith } from '../helpers/tools.js';

/** Each build of the UDP echo, and the test function that runs where it can be built. */
const UDP_ECHOES: [string, string, typeof uvuTest][] = [
  ['AssemblyScript', join(ROOT, 'build', 'asm', 'udp_echo.wasm'), testWith()],
  ['C', join(ROOT, 'build', 'asm', 'udp_echo_c.wasm'), testWith('clang', 'wasm-ld')],
];
const [, AS_ECHO] = UDP_ECHOES[0]!;
const [, C_ECHO, withC] = UDP_ECHOES[1]!;
const word = (bytes: number[], at: number) => (bytes[at]! << 8) | bytes[at + 1]!;
const bytesOf = (out: Outcome | undefined) => [...(out as { bytes: Uint8Array }).bytes];

for (const [name, file, test] of UDP_ECHOES) {
  test(`${name}: a datagram to port 7 comes back with ports swapped and a right checksum; others are dropped`, () => {
    const runner = new OfflineRunner(loadHandler(file));
    const req = udp6Frame({ sport: 40000, dport: 7, data: [1, 2, 3] });
    const [out, other] = runner.run([Uint8Array.from(req), Uint8Array.from(udp6Frame({ dport: 53 }))]);
    assert.is(out!.verdict, 'tx');
    const r = bytesOf(out);
    assert.equal(r.slice(22, 38), req.slice(38, 54));
    assert.is(word(r, 54), 7, 'source port 7');
    assert.is(word(r, 56), 40000);
    assert.equal(r.slice(62), [1, 2, 3]);
    assert.is(internetChecksum([...r.slice(22, 54), 0, 0, 0, 11, 0, 0, 0, 17, ...r.slice(54)]), 0, 'UDP checksum');
    assert.is(other!.verdict, 'drop');
    assert.equal(runner.reasons(), { ...runner.reasons(), replied: 1, not_echo: 1 });
  });

  test(`${name}: over IPv4, addresses and ports swapped, TTL from the config, both checksums right, padded to 60`, () => {
    const runner = new OfflineRunner(loadHandler(file), { hopLimit: 9 });
    // On the wire a short frame comes padded to 60 bytes; what the padding held is not echoed.
    const req = [...udp4Frame({ sport: 5555, dport: 7, data: [9, 8, 7] }), ...Array(15).fill(0xee)];
    const [out] = runner.run([Uint8Array.from(req)]);
    const r = bytesOf(out);
    assert.is(r.length, 60, 'the 45-byte datagram is answered in the shortest frame');
    assert.equal(r.slice(0, 12), [...req.slice(6, 12), ...req.slice(0, 6)], 'MACs swapped');
    assert.equal([r[22], ...r.slice(26, 34)], [9, ...req.slice(30, 34), ...req.slice(26, 30)]);
    assert.is(internetChecksum(r.slice(14, 34)), 0, 'IPv4 header checksum');
    assert.equal([word(r, 34), word(r, 36)], [7, 5555]);
    const udp = r.slice(34, 45);
    assert.is(internetChecksum([...r.slice(26, 34), 0, 17, 0, udp.length, ...udp]), 0, 'UDP checksum');
    assert.equal(r.slice(45), Array(15).fill(0), 'zero padding');
  });
}

// The same behaviour: the C build must answer every frame the way the AssemblyScript build does, byte for
// byte, and count the same reasons. Frames: requests over IPv6 and IPv4, with 0 to 3 VLAN tags, from
// good and bad sources, fragments, to group MACs, then broken one way each (a byte set to any value, or
// cut short at any length).
const tags = fc.array(fc.constantFrom([0x81, 0x00, 0, 5], [0x88, 0xa8, 0, 9]), { maxLength: 3 });
const request = fc
  .record({
    v6: fc.boolean(),
    dport: fc.constantFrom(7, 7, 7, 53),
    data: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }),
    tags,
    src6: fc.constantFrom('fc00:dead:cafe:1::2', 'fc00:dead:cafe:1::2', 'ff02::1'),
    dst6: fc.constantFrom('fc00:dead:cafe:1::1', 'fc00:dead:cafe:1::1', 'ff02::1'),
    src4: fc.constantFrom('10.11.1.2', '10.11.1.2', '127.0.0.1', '0.1.2.3', '224.0.0.1', '255.255.255.255'),
    fragment: fc.constantFrom(0x4000, 0x4000, 0, 0x2000, 0x0001),
    groupMac: fc.boolean(),
  })
  .map(({ v6, dport, data, tags, src6, dst6, src4, fragment, groupMac }) => {
    const frame = v6
      ? udp6Frame({ dport, data, src: src6, dst: dst6 })
      : udp4Frame({ dport, data, src: src4, fragment });
    if (groupMac) frame[0]! |= 1;
    return [...frame.slice(0, 12), ...tags.flat(), ...frame.slice(12)];
  });
const broken = fc.oneof(
  request,
  fc.tuple(request, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([f, at, v]) => {
    f[at % f.length] = v;
    return f;
  }),
  fc.tuple(request, fc.nat()).map(([f, cut]) => f.slice(0, cut % (f.length + 1))),
);

withC('C and AssemblyScript answer 5000 generated frames alike, byte for byte, with the same reasons', () => {
  assert.ok(existsSync(C_ECHO), `${C_ECHO} was not built (npm run build)`);
  const config = { mac: [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee], hopLimit: 33 };
  const [as, c] = [new OfflineRunner(loadHandler(AS_ECHO), config), new OfflineRunner(loadHandler(C_ECHO), config)];
  let replies = 0;
  fc.assert(
    fc.property(fc.array(broken, { minLength: 1, maxLength: 8 }), (frames) => {
      const batch = frames.map((f) => Uint8Array.from(f));
      const [fromAs, fromC] = [as.run(batch), c.run(batch)];
      replies += fromAs.filter((o) => o.verdict === 'tx').length;
      assert.equal(fromC, fromAs);
    }),
    { numRuns: 5000, seed: 20261126 },
  );
  assert.ok(replies > 1000, `enough of the frames are answered to compare replies (${replies})`);
  assert.equal(c.reasons(), as.reasons());
});

uvuTest.run();
