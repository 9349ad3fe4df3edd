// The echo handler, offline, point by point: the real build/asm/echo.wasm,
// checked against hand-written expectations and the reference model.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadHandler } from '../../host/dataplane/handler.js';
import { OfflineRunner, type Outcome } from '../../host/offline/runner.js';
import { ROOT } from '../helpers/cli.js';
import {
  type Echo4,
  type Echo6,
  echo4Frame,
  echo6Frame,
  internetChecksum,
  ipv6Bytes,
  macBytes,
} from '../helpers/packets.js';
import { type RefConfig, referenceEcho } from '../../host/offline/reference-echo.js';
import { testWith, tsharkFields } from '../helpers/tools.js';

const echo = loadHandler(join(ROOT, 'build', 'asm', 'echo.wasm'));
const OUR_MAC = '02:aa:bb:cc:dd:ee';
const OUR_V6 = 'fc00:dead:cafe:1::1';
const OUR_V4 = '10.11.1.1';
const configured: RefConfig = {
  mac: macBytes(OUR_MAC),
  ipv6: ipv6Bytes(OUR_V6),
  ipv4: OUR_V4.split('.').map(Number),
  hopLimit: 64,
};
const withConfig = new OfflineRunner(echo, configured);
const bare = new OfflineRunner(echo, {});

function one(frame: number[], runner = withConfig): Outcome {
  return runner.run([Uint8Array.from(frame)])[0]!;
}

function reply(frame: number[], runner = withConfig, cfg: RefConfig = configured): number[] {
  const out = one(frame, runner);
  if (out.verdict !== 'tx')
    throw new assert.Assertion({
      message: `expected a reply, got ${out.verdict}`,
      generated: false,
      operator: 'reply',
      actual: out.verdict,
      expects: 'tx',
    });
  const ref = referenceEcho(Uint8Array.from(frame), cfg);
  assert.ok('reply' in ref, `the reference model drops it: ${JSON.stringify(ref)}`);
  assert.equal([...out.bytes], [...(ref as { reply: Uint8Array }).reply], 'byte-identical to the reference model');
  return [...out.bytes];
}

function dropped(frame: number[], reason: string, runner = withConfig, cfg: RefConfig = configured): void {
  const before = runner.reasons()[reason] ?? 0;
  assert.is(one(frame, runner).verdict, 'drop');
  assert.is(runner.reasons()[reason], before + 1, `counted as ${reason}: ${JSON.stringify(runner.reasons())}`);
  assert.equal(referenceEcho(Uint8Array.from(frame), cfg), { drop: reason }, 'the reference model agrees');
}

const be16 = (b: number[], at: number) => (b[at]! << 8) | b[at + 1]!;
const hex = (b: number[]) => b.map((x) => x.toString(16).padStart(2, '0')).join(':');
/** The ICMPv6 checksum of a reply, checked from scratch. */
function icmp6ChecksumOk(f: number[], l3: number): boolean {
  const plen = be16(f, l3 + 4);
  return (
    internetChecksum([
      ...f.slice(l3 + 8, l3 + 40),
      0,
      0,
      plen >> 8,
      plen & 0xff,
      0,
      0,
      0,
      58,
      ...f.slice(l3 + 40, l3 + 40 + plen),
    ]) === 0
  );
}

test('IPv6 unicast: MACs and addresses swapped, type 129, id/seq/data kept, fresh hop limit, checksum right', () => {
  const req = echo6Frame({ hopLimit: 3, id: 0xbeef, seq: 77 });
  const r = reply(req);
  assert.is(hex(r.slice(0, 6)), '02:00:00:00:00:02');
  assert.is(hex(r.slice(6, 12)), '02:00:00:00:00:01');
  assert.equal(r.slice(22, 38), req.slice(38, 54), 'source is the request destination');
  assert.equal(r.slice(38, 54), req.slice(22, 38));
  assert.is(r[21], 64, 'hop limit');
  assert.is(r[54], 129);
  assert.is(r[55], 0);
  assert.equal(r.slice(58), req.slice(58), 'identifier, sequence and data unchanged');
  assert.ok(icmp6ChecksumOk(r, 14));
  assert.is(r.length, req.length);
});

test('VLAN: one (802.1Q) and two (802.1ad + 802.1Q) tags are kept in the reply', () => {
  for (const tags of [
    [{ tpid: 0x8100, id: 5 }],
    [
      { tpid: 0x88a8, id: 100 },
      { tpid: 0x8100, id: 7 },
    ],
  ] as const) {
    const req = echo6Frame({ tags: [...tags] });
    const r = reply(req);
    const l3 = 14 + 4 * tags.length;
    assert.equal(r.slice(12, l3), req.slice(12, l3));
    assert.ok(icmp6ChecksumOk(r, l3));
  }
  dropped(
    echo6Frame({
      tags: [
        { tpid: 0x88a8, id: 1 },
        { tpid: 0x8100, id: 2 },
        { tpid: 0x8100, id: 3 },
      ],
    }),
    'too_many_headers',
  );
});

test('IPv6 length comes from Payload Length: padding is not echoed; a Payload Length past the frame is dropped', () => {
  const small = echo6Frame({ data: [], padTo: 96 }); // 62 bytes of packet, padded with 34
  const r = reply(small);
  assert.is(r.length, 62);
  const long = echo6Frame();
  long[18] = 0x01; // Payload Length 64 -> 320
  dropped(long, 'truncated');
  dropped(echo6Frame().slice(0, 40), 'truncated');
});

test('extension headers: Hop-by-Hop and Destination Options are walked and left out of the reply', () => {
  const req = echo6Frame({
    ext: [
      { type: 0, body: [1, 4, 0, 0, 0, 0] },
      { type: 60, body: [1, 12, ...Array(12).fill(0)] },
    ],
  });
  const r = reply(req);
  assert.is(r[20], 58, 'next header');
  assert.is(be16(r, 18), 64, 'payload length without the extension headers');
  assert.is(r.length, 14 + 40 + 64);
  assert.ok(icmp6ChecksumOk(r, 14));
});

test('extension headers: a finished Routing header is not reflected; unfinished ones, fragments and bad chains are dropped', () => {
  const routing = (segmentsLeft: number): { type: 43; body: number[] } => ({
    type: 43,
    body: [0, segmentsLeft, 0, 0, 0, 0],
  });
  const r = reply(echo6Frame({ ext: [routing(0)] }));
  assert.is(r[20], 58);
  assert.is(r.length, 14 + 40 + 64);
  dropped(echo6Frame({ ext: [routing(1)] }), 'routing');
  dropped(echo6Frame({ ext: [{ type: 44, body: [0, 0, 0, 0, 0, 1] }] }), 'fragment');
  dropped(echo6Frame({ ext: [{ type: 60 }, { type: 0 }] }), 'bad_header');
  dropped(echo6Frame({ ext: Array.from({ length: 9 }, () => ({ type: 60 as const })) }), 'too_many_headers');
  reply(echo6Frame({ ext: Array.from({ length: 7 }, () => ({ type: 60 as const })) }));
});

test('ICMPv6: a bad checksum, a code other than 0 and other types are not answered', () => {
  const bad = echo6Frame();
  bad[57] = bad[57]! ^ 0x01;
  dropped(bad, 'bad_checksum');
  dropped(echo6Frame({ code: 1 }), 'not_echo');
  dropped(echo6Frame({ type: 129 }), 'not_echo');
  dropped(echo6Frame({ type: 135 }), 'not_echo');
});

test('a request to a multicast address is answered from our unicast address and MAC, checksum recomputed', () => {
  const req = echo6Frame({ dst: 'ff02::1', dstMac: '33:33:00:00:00:01' });
  const r = reply(req);
  assert.is(hex(r.slice(6, 12)), OUR_MAC);
  assert.is(hex(r.slice(0, 6)), '02:00:00:00:00:02');
  assert.equal(r.slice(22, 38), ipv6Bytes(OUR_V6));
  assert.equal(r.slice(38, 54), ipv6Bytes('fc00:dead:cafe:1::2'));
  assert.ok(icmp6ChecksumOk(r, 14));
  dropped(req, 'no_address', bare, { hopLimit: 64 });
});

test('no reply to a multicast, unspecified or loopback source, nor from a group MAC', () => {
  for (const src of ['ff02::1', '::', '::1']) dropped(echo6Frame({ src }), 'bad_source');
  dropped(echo6Frame({ srcMac: '33:33:00:00:00:01' }), 'bad_source');
});

test('the hop limit of replies is configurable', () => {
  const cfg = { ...configured, hopLimit: 99 };
  const r = reply(echo6Frame(), new OfflineRunner(echo, cfg), cfg);
  assert.is(r[21], 99);
});

test('IPv4 ICMP echo: addresses swapped, type 0, fresh TTL, header and ICMP checksums right', () => {
  const req = echo4Frame({ ttl: 5 });
  const r = reply(req);
  assert.is(r[14 + 8], 64);
  assert.equal(r.slice(26, 30), [10, 11, 1, 1]);
  assert.equal(r.slice(30, 34), [10, 11, 1, 2]);
  assert.is(r[34], 0);
  assert.is(internetChecksum(r.slice(14, 34)), 0, 'IPv4 header checksum');
  assert.is(internetChecksum(r.slice(34)), 0, 'ICMP checksum');
});

test('IPv4: options are left out of the reply; bad header checksum, fragments, short and odd headers are dropped', () => {
  const r = reply(echo4Frame({ options: [1, 1, 1, 0] })); // four NOPs: IHL 6
  assert.is(r[14], 0x45);
  assert.is(be16(r, 16), 20 + 64);
  assert.is(internetChecksum(r.slice(14, 34)), 0);
  const badHeader = echo4Frame();
  badHeader[24] = badHeader[24]! ^ 0xff;
  dropped(badHeader, 'bad_checksum');
  const badIcmp = echo4Frame();
  badIcmp[40] = badIcmp[40]! ^ 0xff;
  dropped(badIcmp, 'bad_checksum');
  dropped(echo4Frame({ fragment: 0x2000 }), 'fragment');
  dropped(echo4Frame({ fragment: 0x0010 }), 'fragment');
  dropped(echo4Frame({ type: 0 }), 'not_echo');
  dropped(echo4Frame().slice(0, 30), 'truncated');
  const small = echo4Frame({ data: [] }); // 42 bytes: padded to 60 when the request had room
  assert.is(reply([...small, ...Array(18).fill(0)]).length, 60);
  assert.is(reply(small).length, 42, 'never past the request');
});

test('IPv4: broadcast and multicast requests are answered from our address; bad sources are not', () => {
  const opts: Echo4 = { dst: '255.255.255.255', dstMac: 'ff:ff:ff:ff:ff:ff' };
  const r = reply(echo4Frame(opts));
  assert.equal(r.slice(26, 30), [10, 11, 1, 1]);
  assert.is(hex(r.slice(6, 12)), OUR_MAC);
  dropped(echo4Frame(opts), 'no_address', bare, { hopLimit: 64 });
  for (const src of ['127.0.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255'])
    dropped(echo4Frame({ src }), 'bad_source');
});

test('everything else is dropped and counted: not IP, runts', () => {
  const arp = [...echo6Frame().slice(0, 12), 0x08, 0x06, ...Array(28).fill(0)];
  dropped(arp, 'not_ip');
  dropped([1, 2, 3], 'truncated');
  const six: Echo6 = {};
  const v5 = echo6Frame(six);
  v5[14] = 0x50;
  dropped(v5, 'bad_header');
});

testWith('tshark')('replies pass tshark: checksums and fields of a sample, decoded independently', async () => {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { writePcap } = await import('../../host/offline/pcap.js');
  const frames = [
    echo6Frame(),
    echo6Frame({ tags: [{ tpid: 0x8100, id: 3 }] }),
    echo6Frame({ ext: [{ type: 0 }, { type: 60 }] }),
    echo6Frame({ dst: 'ff02::1', dstMac: '33:33:00:00:00:01' }),
    echo4Frame(),
    echo4Frame({ options: [1, 1, 1, 1, 1, 1, 1, 0] }),
  ].map((f) => Uint8Array.from(reply(f)));
  const file = join(mkdtempSync(join(tmpdir(), 'afxdp-echo-')), 'replies.pcap');
  writeFileSync(file, writePcap(frames));
  const fields = ['icmpv6.type', 'icmpv6.checksum.status', 'icmp.type', 'icmp.checksum.status', 'ip.checksum.status'];
  const rows = tsharkFields(file, fields, { separator: ',' });
  assert.equal(rows, ['129,1,,,', '129,1,,,', '129,1,,,', '129,1,,,', ',,0,1,1', ',,0,1,1']);
});

test.run();
