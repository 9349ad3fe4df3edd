// Golden tests of a handler: replay --expect compares what it sends with a golden capture, shows the first
// difference decoded (ours, and tshark's where it is installed), and --update rewrites the golden file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeFrame } from '../../host/offline/describe.js';
import { readCapture, writePcap } from '../../host/offline/pcap.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { echo4Frame, echo6Frame } from '../helpers/packets.js';
import { testWith } from '../helpers/tools.js';

const ECHO = join(ROOT, 'build', 'asm', 'echo.wasm');
const scratch = mkdtempSync(join(tmpdir(), 'afxdp-golden-test-'));
const input = join(scratch, 'requests.pcap');
const golden = join(scratch, 'expected.pcap');
writeFileSync(
  input,
  writePcap([echo6Frame({ seq: 1 }), echo4Frame({ seq: 2 }), echo6Frame({ seq: 3 })].map((f) => Uint8Array.from(f))),
);

const replay = (...args: string[]) => runCli('replay', ['--handler', ECHO, input, '--expect', golden, ...args]);
const hopLimitsIn = (file: string) =>
  readCapture(readFileSync(file)).frames.map((f) => (f[12] === 0x86 ? f[21] : f[22]));

test('replay --expect: a missing golden file is one line naming --update; --update writes it; then equal exits 0', () => {
  const missing = replay();
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /^replay: \S+expected\.pcap: no such file; --update writes it from this run\n$/);
  const update = replay('--update');
  assert.is(update.status, 0, update.stderr);
  assert.match(update.stdout, /Updated \S+expected\.pcap: 3 frames\./);
  assert.equal(hopLimitsIn(golden), [64, 64, 64]);
  const same = replay();
  assert.is(same.status, 0, same.stderr);
  assert.match(same.stdout, /Same as \S+expected\.pcap: 3 frames\./);
});

test('replay --expect: a different reply exits 1 at the first difference and shows both frames decoded', () => {
  replay('--update');
  const differs = replay('--hop-limit', '9');
  assert.is(differs.status, 1);
  const lines = differs.stderr.split('\n');
  assert.match(lines[0]!, /^frame 1 differs from \S+expected\.pcap \(the answer to input frame 1\):$/);
  assert.match(
    lines[1]!,
    /^ {2}expected: 118 B .*IPv6 fc00:dead:cafe:1::1 > fc00:dead:cafe:1::2 hlim 64, ICMPv6 echo reply/,
  );
  assert.match(lines[2]!, /^ {2}got: {6}118 B .*hlim 9, ICMPv6 echo reply id 0x1234 seq 1 checksum ok$/);
  assert.match(lines[3]!, /^ {2}first different byte at offset 21: expected 0x40, got 0x09$/);
  assert.not.match(differs.stderr, /frame 2 /, 'it stops at the first difference');
  const fewer = runCli('replay', ['--handler', join(ROOT, 'build', 'asm', 'drop.wasm'), input, '--expect', golden]);
  assert.is(fewer.status, 1);
  assert.match(fewer.stderr, /^ {2}got: {6}nothing \(the handler sent no more\)$/m);
});

testWith('tshark')('replay --expect: tshark decodes both frames too, where it is installed', () => {
  replay('--update');
  const differs = replay('--hop-limit', '9');
  assert.match(
    differs.stderr,
    /^ {2}tshark, expected: fc00:dead:cafe:1::1 → fc00:dead:cafe:1::2 +ICMPv6 118 Echo \(ping\) reply/m,
  );
  assert.match(
    differs.stderr,
    /^ {2}tshark, got: {6}fc00:dead:cafe:1::1 → fc00:dead:cafe:1::2 +ICMPv6 118 Echo \(ping\) reply/m,
  );
});

test('replay --expect: without tshark on PATH, our own decoding alone, said so', () => {
  replay('--update');
  const differs = runCli('replay', ['--handler', ECHO, input, '--expect', golden, '--hop-limit', '9'], {
    env: { ...process.env, PATH: scratch }, // node is run by its full path
  });
  assert.is(differs.status, 1);
  assert.match(differs.stderr, /^ {2}got: {6}118 B /m);
  assert.match(differs.stderr, /^ {2}\(tshark is not installed: only our own decoding\)$/m);
  assert.not.match(differs.stderr, /tshark, /);
});

test('replay --update rewrites the golden file with what the handler sends now', () => {
  replay('--update');
  const update = replay('--hop-limit', '9', '--update');
  assert.is(update.status, 0, update.stderr);
  assert.equal(hopLimitsIn(golden), [9, 9, 9]);
  assert.is(replay('--hop-limit', '9').status, 0);
  assert.is(replay().status, 1, 'the old replies no longer match');
});

test('our decoder: VLAN tags, IPv4 and ICMP with their checksums judged, ARP', () => {
  const tagged = echo4Frame({
    tags: [
      { tpid: 0x88a8, id: 7 },
      { tpid: 0x8100, id: 5 },
    ],
  });
  assert.is(
    describeFrame(Uint8Array.from(tagged)),
    '106 B 02:00:00:00:00:02 > 02:00:00:00:00:01, vlan 7, vlan 5, IPv4 10.11.1.2 > 10.11.1.1 ttl 64 checksum ok, ' +
      'ICMP echo request id 0x1234 seq 1 checksum ok',
  );
  const broken = echo4Frame();
  broken[50]! ^= 0xff; // a byte of the echo data
  assert.match(describeFrame(Uint8Array.from(broken)), /ICMP echo request id 0x1234 seq 1 checksum BAD$/);
  const [broadcast, sender] = [Array(6).fill(0xff), Array(6).fill(2)];
  const request = [0, 1, 8, 0, 6, 4, 0, 1]; // Ethernet, IPv4, lengths 6 and 4, op 1
  const arp = [...broadcast, ...sender, 8, 6, ...request, ...sender, 10, 0, 0, 2, ...Array(6).fill(0), 10, 0, 0, 1];
  assert.is(
    describeFrame(Uint8Array.from(arp)),
    '42 B 02:02:02:02:02:02 > ff:ff:ff:ff:ff:ff, ARP who-has 10.0.0.1 tell 10.0.0.2',
  );
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));
test.run();
