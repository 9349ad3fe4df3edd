// The frames afxdp-wasm check feeds a handler: built layer by layer (Ethernet
// with 0-2 VLAN tags; ARP, IPv4 with options and fragments, IPv6 with
// extension-header chains; ICMP, ICMPv6, UDP, TCP above them), mostly well
// formed so a handler's parsers get deep, then broken by a mutation: a field
// set to anything, a truncation anywhere, padding to any length up to the frame.
import fc from 'fast-check';
import { internetChecksum } from '../../lib/frames.js';

type Bytes = number[];
/** A layer above IP: its protocol number and its bytes given the pseudo-header checksum sum. */
interface Upper {
  proto: number;
  bytes: Bytes;
  /** Offset of its checksum, when it covers a pseudo-header (UDP, TCP, ICMPv6); -1 for ICMPv4 (its own). */
  sumAt: number;
}

/** The addresses a checked handler is configured with (host/offline/check/harness.ts): often hit. */
export const OUR = {
  mac: [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee],
  ipv6: [0xfc, 0, 0xde, 0xad, 0xca, 0xfe, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1],
  ipv4: [10, 11, 1, 1],
};

const byte = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (max: number, min = 0) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Array.from(a) as Bytes);
const word = (v: number): Bytes => [(v >> 8) & 0xff, v & 0xff];
const long = (v: number): Bytes => [...word(v >>> 16), ...word(v & 0xffff)];
/** Mostly the valid choice, sometimes anything. */
const usually = <T>(valid: fc.Arbitrary<T>, any: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: any });
const pick = <T>(...values: T[]) => fc.constantFrom(...values);
/** The first value half the time (ours, or an echo request: what reaches a handler's reply path), else any of them. */
const often = <T>(first: T, ...rest: T[]) => fc.oneof(fc.constant(first), fc.constantFrom(first, ...rest));

const macs = usually(
  often(OUR.mac, [2, 0, 0, 0, 0, 2], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x33, 0x33, 0, 0, 0, 1]),
  bytes(6, 6),
);
const v4 = usually(often(OUR.ipv4, [10, 11, 1, 2], [224, 0, 0, 1], [255, 255, 255, 255], [127, 0, 0, 1]), bytes(4, 4));
const v6 = usually(
  often(
    OUR.ipv6,
    [0xfc, 0, 0xde, 0xad, 0xca, 0xfe, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2],
    [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1],
    [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    Array<number>(16).fill(0),
  ),
  bytes(16, 16),
);

function setSum(b: Bytes, at: number, sum: number): Bytes {
  b[at] = sum >> 8;
  b[at + 1] = sum & 0xff;
  return b;
}

// --- above IP ------------------------------------------------------------

const icmpBody = fc.tuple(u16, u16, bytes(120)).map(([id, seq, data]) => [...word(id), ...word(seq), ...data]);
const icmp4: fc.Arbitrary<Upper> = fc
  .tuple(usually(often(8, 0, 3, 11, 5, 13), byte), usually(pick(0), byte), u16, u16, bytes(120))
  .map(([type, code, id, seq, data]) => {
    const b = [type, code, 0, 0, ...word(id), ...word(seq), ...data];
    return { proto: 1, bytes: setSum(b, 2, internetChecksum(b)), sumAt: -1 };
  });
/** ICMPv6: echo, NDP (router/neighbour solicitation and advertisement with options), MLD, errors. */
const icmp6: fc.Arbitrary<Upper> = fc
  .tuple(
    usually(often(128, 129, 133, 134, 135, 136, 137, 130, 131, 132, 143, 1, 2, 3, 4), byte),
    usually(pick(0), byte),
    icmpBody,
    v6,
    bytes(16),
  )
  .map(([type, code, body, target, options]) => {
    const ndp = type >= 135 && type <= 137;
    const rest = ndp ? [0, 0, 0, 0, ...target, ...options] : body;
    return { proto: 58, bytes: [type, code, 0, 0, ...rest], sumAt: 2 };
  });
const udp: fc.Arbitrary<Upper> = fc
  .tuple(usually(pick(7, 53, 123, 4789), u16), u16, bytes(200), usually(fc.constant(-1), u16))
  .map(([dport, sport, data, length]) => ({
    proto: 17,
    bytes: [...word(sport), ...word(dport), ...word(length < 0 ? 8 + data.length : length), 0, 0, ...data],
    sumAt: 6,
  }));
const tcp: fc.Arbitrary<Upper> = fc
  .tuple(u16, u16, u32, u32, byte, bytes(20), usually(fc.constant(-1), fc.integer({ min: 0, max: 15 })), bytes(100))
  .map(([sport, dport, seq, ack, flags, opts, offset, data]) => {
    const options = [...opts, ...Array<number>((4 - (opts.length % 4)) % 4).fill(1)];
    const doff = offset < 0 ? 5 + options.length / 4 : offset;
    const b = [...word(sport), ...word(dport), ...long(seq), ...long(ack), doff << 4, flags, 0xff, 0xff, 0, 0, 0, 0];
    return { proto: 6, bytes: [...b, ...options, ...data], sumAt: 16 };
  });
const unknownUpper: fc.Arbitrary<Upper> = fc
  .tuple(byte, bytes(64))
  .map(([proto, b]) => ({ proto, bytes: b, sumAt: -2 }));

/** The pseudo-header checksum of an upper layer, filled in (unless sumAt says it has none). */
function withSum(up: Upper, pseudo: Bytes): Bytes {
  const b = [...up.bytes];
  if (up.sumAt < 0 || up.sumAt + 1 >= b.length) return b;
  return setSum(b, up.sumAt, internetChecksum([...pseudo, ...long(b.length), 0, 0, 0, up.proto, ...b]));
}

// --- IP and ARP ----------------------------------------------------------

const ipv4Options = usually(
  fc.constant<Bytes>([]),
  fc.oneof(bytes(40), pick([1, 1, 1, 0], [148, 4, 0, 0], [7, 7, 4, 0, 0, 0, 0, 0], [68, 4, 5, 0], [0x83, 3, 4, 1])),
);
const ipv4: fc.Arbitrary<Bytes> = fc
  .tuple(
    fc.record({
      src: v4,
      dst: v4,
      options: ipv4Options,
      fragment: usually(pick(0x4000, 0), u16),
      ihl: usually(fc.constant(-1), fc.integer({ min: 0, max: 15 })),
      total: usually(fc.constant(-1), u16),
      ttl: byte,
      goodSum: usually(fc.constant(true), fc.boolean()),
    }),
    fc.oneof(icmp4, udp, tcp, unknownUpper),
  )
  .map(([o, up]) => {
    const options = [...o.options, ...Array<number>((4 - (o.options.length % 4)) % 4).fill(0)];
    const upper = withSum(up, [...o.src, ...o.dst]);
    const hlen = 20 + options.length;
    const total = o.total < 0 ? hlen + upper.length : o.total;
    const ihl = o.ihl < 0 ? hlen / 4 : o.ihl;
    const h = [
      0x40 | (ihl & 15),
      0,
      ...word(total),
      0xbe,
      0xef,
      ...word(o.fragment),
      o.ttl,
      up.proto,
      0,
      0,
      ...o.src,
      ...o.dst,
      ...options,
    ];
    if (o.goodSum) setSum(h, 10, internetChecksum(h));
    return [0x08, 0x00, ...h, ...upper];
  });

/** An IPv6 extension header: Hop-by-Hop (0), Routing (43), Fragment (44) or Destination Options (60). */
const extHeader = fc.record({
  type: pick(0, 43, 44, 60),
  body: usually(
    pick<Bytes>([], [1, 0, 0, 0, 0, 0], [5, 2, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    bytes(30),
  ),
  /** Hdr Ext Len as the header says it, when wrong: -1 is the true one. */
  len: usually(fc.constant(-1), byte),
});
const ipv6: fc.Arbitrary<Bytes> = fc
  .tuple(
    fc.record({
      src: v6,
      dst: v6,
      ext: usually(fc.array(extHeader, { maxLength: 2 }), fc.array(extHeader, { maxLength: 5 })),
      payloadLength: usually(fc.constant(-1), u16),
      hopLimit: byte,
    }),
    fc.oneof({ weight: 3, arbitrary: icmp6 }, udp, tcp, unknownUpper),
  )
  .map(([o, up]) => {
    const upper = withSum(up, [...o.src, ...o.dst]);
    const chain = o.ext.flatMap((h, i) => {
      const next = i + 1 < o.ext.length ? o.ext[i + 1]!.type : up.proto;
      const body = h.type === 44 ? [...h.body, 0, 0, 0, 0, 0, 0].slice(0, 6) : [...h.body];
      while ((body.length + 2) % 8 !== 0) body.push(0);
      return [next, h.len >= 0 ? h.len : h.type === 44 ? 0 : (body.length + 2) / 8 - 1, ...body];
    });
    const plen = o.payloadLength < 0 ? chain.length + upper.length : o.payloadLength;
    const first = o.ext.length ? o.ext[0]!.type : up.proto;
    return [0x86, 0xdd, 0x60, 0, 0, 0, ...word(plen), first, o.hopLimit, ...o.src, ...o.dst, ...chain, ...upper];
  });

const arp: fc.Arbitrary<Bytes> = fc
  .tuple(usually(pick(1, 2), u16), macs, v4, macs, v4, usually(fc.constant(true), fc.boolean()))
  .map(([op, sha, spa, tha, tpa, sane]) => [
    0x08,
    0x06,
    0,
    1,
    8,
    0,
    sane ? 6 : 9,
    4,
    ...word(op),
    ...sha,
    ...spa,
    ...tha,
    ...tpa,
  ]);

const otherType = fc.tuple(u16, bytes(100)).map(([type, rest]) => [...word(type), ...rest]);

// --- Ethernet ------------------------------------------------------------

const vlanTag = fc
  .tuple(pick(0x8100, 0x88a8), fc.integer({ min: 0, max: 0xffff }))
  .map(([tpid, tci]) => [...word(tpid), ...word(tci)]);
const tags = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Bytes[]>([]) },
  fc.array(vlanTag, { minLength: 1, maxLength: 2 }),
);

const structured = fc
  .tuple(macs, macs, tags, fc.oneof({ weight: 3, arbitrary: ipv6 }, { weight: 3, arbitrary: ipv4 }, arp, otherType))
  .map(([dst, src, t, rest]) => [...dst, ...src, ...t.flat(), ...rest]);

/** What breaks a frame: nothing, a byte, a 16-bit field, a cut at any offset, padding to any length. */
function mutations(room: number) {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant((f: Bytes) => f) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.nat(), byte).map(
        ([at, v]) =>
          (f: Bytes) =>
            f.length ? f.with(at % f.length, v) : f,
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.nat(), u16).map(([at, v]) => (f: Bytes) => {
        if (f.length < 2) return f;
        const i = at % (f.length - 1);
        return f.with(i, v >> 8).with(i + 1, v & 0xff);
      }),
    },
    { weight: 2, arbitrary: fc.nat().map((at) => (f: Bytes) => f.slice(0, at % (f.length + 1))) },
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: 0, max: room })
        .map((to) => (f: Bytes) => (to > f.length ? [...f, ...Array<number>(to - f.length).fill(0)] : f)),
    },
  );
}

/** One frame of at most room bytes. corpus: captured frames to start from (mutated like the rest). */
export function frameArbitrary(room: number, corpus: Uint8Array[] = []): fc.Arbitrary<Uint8Array> {
  const random = fc.uint8Array({ maxLength: room });
  const sources: fc.WeightedArbitrary<Bytes>[] = [
    { weight: 10, arbitrary: structured },
    { weight: 1, arbitrary: random.map((a) => Array.from(a)) },
  ];
  if (corpus.length) sources.push({ weight: 6, arbitrary: fc.constantFrom(...corpus).map((a) => Array.from(a)) });
  return fc
    .tuple(fc.oneof(...sources), mutations(room))
    .map(([f, mutate]) => Uint8Array.from(mutate(f).slice(0, room)));
}

/**
 * Every truncation of one frame, padded first to any length up to the frame: its prefixes of each
 * length from 0 up, evenly spaced when there are more than a batch holds. Views of one buffer: cheap.
 */
function truncations(room: number, frame: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array[]> {
  return fc
    .tuple(frame, fc.integer({ min: 0, max: room }), fc.integer({ min: 1, max: MAX_BATCH }))
    .map(([f, padTo, n]) => {
      const whole = new Uint8Array(Math.max(f.length, padTo));
      whole.set(f);
      const lengths = whole.length + 1;
      const count = Math.min(n, lengths);
      return Array.from({ length: count }, (_, i) =>
        whole.subarray(0, Math.round((i * (lengths - 1)) / Math.max(1, count - 1))),
      );
    });
}

/** The most frames check puts in one batch (the shim's default --batch). */
export const MAX_BATCH = 256;

/** A batch of 1 to 256 frames: small mixed ones (they shrink well), full mixed ones, a frame's truncations. */
export function batchArbitrary(
  room: number,
  corpus: Uint8Array[] = [],
  frame = frameArbitrary(room, corpus),
): fc.Arbitrary<Uint8Array[]> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.array(frame, { minLength: 1, maxLength: 8 }) },
    { weight: 1, arbitrary: fc.array(frame, { minLength: 1, maxLength: MAX_BATCH, size: 'max' }) },
    { weight: 3, arbitrary: truncations(room, frame) },
  );
}
