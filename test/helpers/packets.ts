// Frames for tests: the builders live in host/lib/frames.ts (the generator
// uses them too); what only tests need is here.
import { ipv6Bytes, macBytes } from '../../host/lib/addr.js';
import { echo4Frame, echo6Frame, internetChecksum } from '../../host/lib/frames.js';

export { ipv6Bytes, macBytes };
export * from '../../host/lib/frames.js';

const word = (v: number) => [(v >> 8) & 0xff, v & 0xff];

/** Ethernet + IPv6 + UDP with a correct checksum. */
export function udp6Frame(
  o: { src?: string; dst?: string; sport?: number; dport?: number; data?: number[] } = {},
): number[] {
  const src = ipv6Bytes(o.src ?? 'fc00:dead:cafe:1::2');
  const dst = ipv6Bytes(o.dst ?? 'fc00:dead:cafe:1::1');
  const data = o.data ?? [104, 101, 108, 108, 111];
  const udp = [...word(o.sport ?? 40000), ...word(o.dport ?? 7), ...word(8 + data.length), 0, 0, ...data];
  const sum = internetChecksum([...src, ...dst, 0, 0, ...word(udp.length), 0, 0, 0, 17, ...udp]) || 0xffff;
  udp[6] = sum >> 8;
  udp[7] = sum & 0xff;
  const ip = [0x60, 0, 0, 0, ...word(udp.length), 17, 64, ...src, ...dst];
  return [...macBytes('02:00:00:00:00:01'), ...macBytes('02:00:00:00:00:02'), 0x86, 0xdd, ...ip, ...udp];
}

/** Ethernet + IPv4 (no options) + UDP, with both checksums correct; fragment: flags and offset. */
export function udp4Frame(
  o: { src?: string; dst?: string; sport?: number; dport?: number; data?: number[]; fragment?: number } = {},
): number[] {
  const src = (o.src ?? '10.11.1.2').split('.').map(Number);
  const dst = (o.dst ?? '10.11.1.1').split('.').map(Number);
  const data = o.data ?? [104, 101, 108, 108, 111];
  const udp = [...word(o.sport ?? 40000), ...word(o.dport ?? 7), ...word(8 + data.length), 0, 0, ...data];
  const sum = internetChecksum([...src, ...dst, 0, 17, ...word(udp.length), ...udp]) || 0xffff;
  udp[6] = sum >> 8;
  udp[7] = sum & 0xff;
  const ip = [
    0x45,
    0,
    ...word(20 + udp.length),
    0xbe,
    0xef,
    ...word(o.fragment ?? 0x4000),
    64,
    17,
    0,
    0,
    ...src,
    ...dst,
  ];
  const hsum = internetChecksum(ip);
  ip[10] = hsum >> 8;
  ip[11] = hsum & 0xff;
  return [...macBytes('02:00:00:00:00:01'), ...macBytes('02:00:00:00:00:02'), 0x08, 0x00, ...ip, ...udp];
}

/** A warm batch of 64 echo requests: IPv6 plain and with a Hop-by-Hop header, and IPv4, every sequence its own. */
export const mixedEchoBatch = (): Uint8Array[] =>
  Array.from({ length: 64 }, (_, i) => {
    if (i % 4 === 3) return Uint8Array.from(echo4Frame({ seq: i }));
    return Uint8Array.from(i % 4 === 2 ? echo6Frame({ ext: [{ type: 0 }], seq: i }) : echo6Frame({ seq: i }));
  });
