// Frames made for echo (afxdp-wasm fuzz feeds them to check's differential mode): echo
// requests over IPv6 and IPv4, mostly ones it should answer, then broken ones and random bytes.
import fc from 'fast-check';
import { type Echo4, type Echo6, type ExtHeader, echo4Frame, echo6Frame } from '../lib/frames.js';

const hex = (n: number) => n.toString(16);
const v6addr = fc.oneof(
  fc.constantFrom('fc00:dead:cafe:1::1', 'fc00:dead:cafe:1::2', 'ff02::1', 'ff02::1:ff00:1', '::', '::1', 'fe80::1'),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((g) => g.map(hex).join(':')),
);
const v4addr = fc.oneof(
  fc.constantFrom('10.11.1.1', '10.11.1.2', '127.0.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255'),
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }).map((b) => b.join('.')),
);
const mac = fc.oneof(
  fc.constantFrom('02:00:00:00:00:01', '02:00:00:00:00:02', '33:33:00:00:00:01', 'ff:ff:ff:ff:ff:ff'),
  fc
    .array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
    .map((b) => b.map((x) => hex(x).padStart(2, '0')).join(':')),
);
// Mostly valid values, sometimes anything: most cases should reach the reply path.
const usually = <T>(valid: fc.Arbitrary<T>, any: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: any });
const tag = fc.record({
  tpid: fc.constantFrom(0x8100 as const, 0x88a8 as const),
  id: fc.integer({ min: 0, max: 4095 }),
});
const tags = usually(fc.array(tag, { maxLength: 2 }), fc.array(tag, { minLength: 3, maxLength: 3 }));
const data = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 });
const extHeader = fc.record({
  type: fc.constantFrom(0 as const, 43 as const, 44 as const, 60 as const),
  body: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 22 }),
});
const someExt = fc.oneof(
  fc.constant<ExtHeader[]>([]),
  fc.constantFrom(0 as const, 60 as const).map((type): ExtHeader[] => [{ type }]),
  fc.constant<ExtHeader[]>([{ type: 43, body: [0, 0, 0, 0, 0, 0] }]),
);
const ext = usually(someExt, fc.array(extHeader, { maxLength: 4 }));
const unicast6 = fc.constantFrom('fc00:dead:cafe:1::1', 'fc00:dead:cafe:1::2', 'fe80::1', '2001:db8::7');
const unicast4 = fc.constantFrom('10.11.1.1', '10.11.1.2', '192.0.2.9');
const unicastMac = fc.constantFrom('02:00:00:00:00:01', '02:00:00:00:00:02');

const byte = fc.integer({ min: 0, max: 255 });
const request6 = fc
  .record(
    {
      srcMac: usually(unicastMac, mac),
      dstMac: usually(unicastMac, mac),
      tags,
      src: usually(unicast6, v6addr),
      dst: usually(unicast6, v6addr),
      ext,
      type: usually(fc.constant(128), byte),
      code: usually(fc.constant(0), byte),
      id: fc.integer({ min: 0, max: 0xffff }),
      seq: fc.integer({ min: 0, max: 0xffff }),
      data,
      hopLimit: fc.integer({ min: 0, max: 255 }),
      padTo: fc.integer({ min: 0, max: 80 }),
    },
    { requiredKeys: ['src', 'dst'] },
  )
  .map((o: Echo6) => echo6Frame(o));

const request4 = fc
  .record(
    {
      srcMac: usually(unicastMac, mac),
      dstMac: usually(unicastMac, mac),
      tags,
      src: usually(unicast4, v4addr),
      dst: usually(unicast4, v4addr),
      options: usually(fc.constant<number[]>([]), fc.array(byte, { maxLength: 40 })),
      type: usually(fc.constant(8), byte),
      code: usually(fc.constant(0), byte),
      data,
      ttl: byte,
      fragment: usually(fc.constantFrom(0x4000, 0), fc.integer({ min: 0, max: 0xffff })),
      padTo: fc.integer({ min: 0, max: 80 }),
    },
    { requiredKeys: ['src', 'dst'] },
  )
  .map((o: Echo4) => echo4Frame(o));

/** One field broken: a byte set anywhere, a truncation at any offset, a 16-bit field changed. */
const mutation = fc.oneof(
  { weight: 5, arbitrary: fc.constant((f: number[]) => f) },
  {
    weight: 3,
    arbitrary: fc
      .record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) })
      .map(({ at, value }) => (f: number[]) => {
        const g = [...f];
        if (g.length) g[at % g.length] = value;
        return g;
      }),
  },
  { weight: 1, arbitrary: fc.nat().map((at) => (f: number[]) => f.slice(0, at % (f.length + 1))) },
  {
    weight: 2,
    arbitrary: fc
      .record({ at: fc.nat(), value: fc.integer({ min: 0, max: 0xffff }) })
      .map(({ at, value }) => (f: number[]) => {
        const g = [...f];
        if (g.length > 1) {
          const i = at % (g.length - 1);
          g[i] = value >> 8;
          g[i + 1] = value & 0xff;
        }
        return g;
      }),
  },
);

const structured = fc.tuple(fc.oneof(request6, request4), mutation).map(([frame, mutate]) => mutate(frame));
const random = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 200 });
/** Random bytes that at least look like IPv6 or IPv4 over Ethernet, so the parsers get past the first check. */
const typedRandom = fc
  .tuple(fc.constantFrom([0x86, 0xdd], [0x08, 0x00]), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 120 }))
  .map(([type, rest]) => [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...type, ...rest]);

/** Frames for echo: mostly requests it should answer, then broken ones and random bytes. */
export const anyFrame: fc.Arbitrary<Uint8Array> = fc
  .oneof({ weight: 12, arbitrary: structured }, { weight: 2, arbitrary: typedRandom }, { weight: 1, arbitrary: random })
  .map((f) => Uint8Array.from(f.slice(0, 1792)));
