// Capture without a kernel: the pcapng writer read back by our reader and by tshark, and the
// worker's tap and the main thread's ring on a made-up batch: frames as given and as sent, the
// verdict, the reason from the handler's counters, losses counted when the ring is full, and
// records that wrap around the ring intact. (Live captures: test/kernel/capture.test.ts.)
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Batch } from '../../host/dataplane/batch.js';
import { type CapturedFrame, CaptureRing, CaptureTap, INBOUND, OUTBOUND } from '../../host/dataplane/capture.js';
import { VERDICT } from '../../host/dataplane/layout.js';
import { readCapture } from '../../host/offline/pcap.js';
import {
  EPB_FLAGS,
  enhancedPacket,
  interfaceDescription,
  interfaceStatistics,
  optionOf,
  sectionHeader,
} from '../../host/offline/pcapng.js';
import { echo6Frame } from '../helpers/packets.js';
import { testWith, tsharkFields } from '../helpers/tools.js';

const scratch = mkdtempSync(join(tmpdir(), 'afxdp-capture-unit-'));
const withTshark = testWith('tshark');

function writtenCapture(): { file: string; request: Uint8Array; reply: Uint8Array } {
  const request = new Uint8Array(echo6Frame({ seq: 1 }));
  const reply = new Uint8Array(echo6Frame({ seq: 2 }));
  const file = join(scratch, 'written.pcapng');
  const micros = Date.UTC(2026, 0, 2) * 1000 + 123;
  writeFileSync(
    file,
    Buffer.concat([
      sectionHeader('made by a test'),
      interfaceDescription('veth:0', 'queue 0'),
      interfaceDescription('veth:1'),
      enhancedPacket({ iface: 0, micros, data: request, direction: 'inbound', comment: 'queue 0, in, verdict tx' }),
      enhancedPacket({ iface: 1, micros: micros + 1, data: reply, direction: 'outbound', comment: 'queue 1, out' }),
      interfaceStatistics(0, micros + 2, 7, '7 frames not captured'),
    ]),
  );
  return { file, request, reply };
}

test('pcapng writer: our reader takes the inbound frames and counts the outbound ones', () => {
  const { file, request } = writtenCapture();
  const read = readCapture(readFileSync(file), file);
  assert.equal(read.frames, [request]);
  assert.is(read.outbound, 1);
  assert.is(read.cut, undefined);
  const epb = enhancedPacket({ iface: 0, micros: 1, data: new Uint8Array(61), direction: 'outbound' });
  assert.is(epb.length % 4, 0);
  assert.is(optionOf(epb, EPB_FLAGS)?.readUInt32LE(0), 2);
});

withTshark('pcapng writer: tshark reads interfaces, times, directions, comments and checksums', () => {
  const { file } = writtenCapture();
  const rows = tsharkFields(
    file,
    [
      'frame.interface_name',
      'frame.time_epoch',
      'frame.packet_flags_direction',
      'frame.comment',
      'icmpv6.checksum.status',
    ],
    { separator: '|' },
  );
  assert.equal(rows, [
    'veth:0|1767312000.000123000|0x00000001|queue 0, in, verdict tx|1',
    'veth:1|1767312000.000124000|0x00000002|queue 1, out|1',
  ]);
});

/** A worker's view of one queue: a small shared memory with a batch, frames and handler counters. */
function queueMemory() {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
  const batch = new Batch(memory);
  const bytes = new Uint8Array(memory.buffer);
  const countersAt = 0x18000;
  const counters = new BigUint64Array(memory.buffer, countersAt, 3);
  const tapped = {
    memory,
    batch,
    instance: { counters: { address: countersAt, names: ['replied', 'not_echo', 'bad'] } },
  };
  /** Lays n frames of len bytes, each filled with its number + first. */
  const lay = (n: number, len: number, first = 0) => {
    for (let i = 0; i < n; i++) {
      const addr = 0x10000 + i * 2048;
      bytes.fill(first + i, addr, addr + len);
      batch.lay(i, addr, len, 3);
    }
  };
  return { memory, batch, bytes, counters, tapped, lay };
}

function tapWithRing(bytes: number) {
  const control = new SharedArrayBuffer(4);
  const channel = new MessageChannel();
  const tap = new CaptureTap({ control, port: channel.port2 });
  const ring = new CaptureRing(bytes, -1);
  assert.not.ok(tap.on, 'off until a ring is handed over');
  channel.port1.postMessage({ gen: 1, ring: ring.buffer });
  new Int32Array(control)[0] = 1;
  assert.ok(tap.on);
  const drain = () => {
    const out: CapturedFrame[] = [];
    ring.drain((f) => out.push(f));
    return out;
  };
  return { tap, ring, drain, close: () => channel.port1.close() };
}

test('the tap keeps frames as given and as sent, with verdicts and the reason the counters tell', () => {
  const q = queueMemory();
  const { tap, drain, close } = tapWithRing(64 * 1024);
  q.lay(3, 64, 10);
  tap.around(q.tapped, 0, 3, () => {
    q.bytes[q.batch.get(0, 'addr')] = 0xee; // frame 0 rewritten into a reply, sent
    q.batch.set(0, 'verdict', VERDICT.tx);
    q.counters[0]! += 1n;
    q.counters[1]! += 2n; // frames 1 and 2 dropped, both counted as not_echo
  });
  const got = drain();
  assert.equal(
    got.map((f) => [f.direction, f.verdict, f.queue, f.data[0], f.data.length, f.note]),
    [
      [INBOUND, VERDICT.tx, 3, 10, 64, ''],
      [INBOUND, VERDICT.drop, 3, 11, 64, 'reason not_echo'],
      [INBOUND, VERDICT.drop, 3, 12, 64, 'reason not_echo'],
      [OUTBOUND, undefined, 3, 0xee, 64, ''],
    ],
  );
  q.lay(2, 64);
  tap.around(q.tapped, 0, 2, () => {
    q.counters[1]! += 1n;
    q.counters[2]! += 1n;
  });
  assert.equal(
    drain().map((f) => f.note),
    ['reason one of not_echo, bad', 'reason one of not_echo, bad'],
  );
  close();
});

test('a full ring loses frames and counts them; records wrap around it intact', () => {
  const q = queueMemory();
  const { tap, ring, drain, close } = tapWithRing(16 * 1024);
  q.lay(20, 1000);
  tap.around(q.tapped, 0, 20, () => {});
  const first = drain();
  assert.ok(first.length > 0 && first.length < 20, `${first.length} of 20 fit`);
  assert.is(ring.lost(0), 20 - first.length);
  assert.equal(
    first.map((f) => f.data[999]),
    Array.from({ length: first.length }, (_, i) => i),
  );
  let seen = 0;
  for (let round = 1; round <= 40; round++) {
    q.lay(3, 1000 + round, round);
    tap.around(q.tapped, 0, 3, () => q.batch.set(1, 'verdict', VERDICT.tx));
    const got = drain();
    assert.equal(
      got.map((f) => [f.direction, f.data.length, f.data[0], f.data[f.data.length - 1]]),
      [
        [INBOUND, 1000 + round, round, round],
        [INBOUND, 1000 + round, round + 1, round + 1],
        [INBOUND, 1000 + round, round + 2, round + 2],
        [OUTBOUND, 1000 + round, round + 1, round + 1],
      ],
      `round ${round}`,
    );
    seen += got.length;
  }
  assert.is(seen, 160, 'nothing lost once the reader keeps up, across many wraps');
  assert.is(ring.lost(0), 20 - first.length);
  close();
});

test.run();
