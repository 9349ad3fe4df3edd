// Test and load frames, built byte by byte (with their own checksum code,
// apart from the AssemblyScript handlers they are thrown at).
import { ipv6Bytes, macBytes } from './addr.js';

/** RFC 1071: ones' complement of the ones' complement sum of 16-bit words. */
export function internetChecksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A trafgen configuration that sends this frame as it is. */
export function trafgenConfig(frame: number[]): string {
  return `{ ${frame.map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')} }\n`;
}

export interface VlanTag {
  tpid: 0x8100 | 0x88a8;
  id: number;
}
export interface ExtHeader {
  type: 0 | 43 | 44 | 60;
  body?: number[];
} // body: bytes after next/len (padded to 8n - 2)

export interface Echo6 {
  srcMac?: string;
  dstMac?: string;
  tags?: VlanTag[];
  src?: string;
  dst?: string;
  ext?: ExtHeader[];
  type?: number;
  code?: number;
  id?: number;
  seq?: number;
  data?: number[];
  hopLimit?: number;
  padTo?: number;
  flow?: number;
}

const word = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const tagBytes = (tags: VlanTag[] = []) => tags.flatMap((t) => [...word(t.tpid), ...word(t.id & 0x0fff)]);
const pad = (frame: number[], to = 0) => [...frame, ...Array<number>(Math.max(0, to - frame.length)).fill(0)];

function extBytes(ext: ExtHeader[], upper: number): number[] {
  return ext.flatMap((h, i) => {
    const next = i + 1 < ext.length ? ext[i + 1]!.type : upper;
    const body = [...(h.body ?? [])];
    if (h.type === 44) return [next, 0, ...pad(body, 6).slice(0, 6)]; // Fragment: 8 bytes
    while ((body.length + 2) % 8 !== 0) body.push(0);
    return [next, (body.length + 2) / 8 - 1, ...body];
  });
}

/** Ethernet (+ VLAN tags) + IPv6 (+ extension headers) + ICMPv6 echo, with a correct checksum. */
export function echo6Frame(o: Echo6 = {}): number[] {
  const src = ipv6Bytes(o.src ?? 'fc00:dead:cafe:1::2');
  const dst = ipv6Bytes(o.dst ?? 'fc00:dead:cafe:1::1');
  const data = o.data ?? Array.from({ length: 56 }, (_, i) => i & 0xff);
  const icmp = [o.type ?? 128, o.code ?? 0, 0, 0, ...word(o.id ?? 0x1234), ...word(o.seq ?? 1), ...data];
  const sum = internetChecksum([...src, ...dst, 0, 0, ...word(icmp.length), 0, 0, 0, 58, ...icmp]);
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
  const ext = o.ext ?? [];
  const exts = extBytes(ext, 58);
  const flow = o.flow ?? 0x12345;
  const ip = [
    0x60,
    (flow >> 16) & 0x0f,
    (flow >> 8) & 0xff,
    flow & 0xff,
    ...word(exts.length + icmp.length),
    ext.length ? ext[0]!.type : 58,
    o.hopLimit ?? 64,
    ...src,
    ...dst,
  ];
  const eth = [
    ...macBytes(o.dstMac ?? '02:00:00:00:00:01'),
    ...macBytes(o.srcMac ?? '02:00:00:00:00:02'),
    ...tagBytes(o.tags),
    0x86,
    0xdd,
  ];
  return pad([...eth, ...ip, ...exts, ...icmp], o.padTo);
}

export interface Echo4 {
  srcMac?: string;
  dstMac?: string;
  tags?: VlanTag[];
  src?: string;
  dst?: string;
  options?: number[];
  type?: number;
  code?: number;
  id?: number;
  seq?: number;
  data?: number[];
  ttl?: number;
  fragment?: number;
  padTo?: number;
}

/** Ethernet (+ VLAN tags) + IPv4 (+ options) + ICMP echo, with correct checksums. */
export function echo4Frame(o: Echo4 = {}): number[] {
  const data = o.data ?? Array.from({ length: 56 }, (_, i) => i & 0xff);
  const icmp = [o.type ?? 8, o.code ?? 0, 0, 0, ...word(o.id ?? 0x1234), ...word(o.seq ?? 1), ...data];
  const sum = internetChecksum(icmp);
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
  const options = pad(o.options ?? [], Math.ceil((o.options?.length ?? 0) / 4) * 4);
  const hlen = 20 + options.length;
  const ip = [
    0x40 | (hlen / 4),
    0,
    ...word(hlen + icmp.length),
    0xbe,
    0xef,
    ...word(o.fragment ?? 0x4000),
    o.ttl ?? 64,
    1,
    0,
    0,
    ...(o.src ?? '10.11.1.2').split('.').map(Number),
    ...(o.dst ?? '10.11.1.1').split('.').map(Number),
    ...options,
  ];
  const hsum = internetChecksum(ip);
  ip[10] = hsum >> 8;
  ip[11] = hsum & 0xff;
  const eth = [
    ...macBytes(o.dstMac ?? '02:00:00:00:00:01'),
    ...macBytes(o.srcMac ?? '02:00:00:00:00:02'),
    ...tagBytes(o.tags),
    0x08,
    0x00,
  ];
  return pad([...eth, ...ip, ...icmp], o.padTo);
}
