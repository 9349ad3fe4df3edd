// Builds test frames byte by byte, independently of the AssemblyScript code
// (its own checksum), so the two can check each other.
import { ipv6Bytes, macBytes } from '../../host/lib/addr.js';

export { ipv6Bytes, macBytes };

/** RFC 1071: ones' complement of the ones' complement sum of 16-bit words. */
export function internetChecksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface EchoRequest {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  id?: number;
  seq?: number;
  payload?: number;
  hopLimit?: number;
}

/** An Ethernet + IPv6 + ICMPv6 echo request, checksum included. */
export function icmp6EchoRequest(r: EchoRequest): number[] {
  const data = Array.from({ length: r.payload ?? 56 }, (_, i) => i & 0xff);
  const icmp = [128, 0, 0, 0, (r.id ?? 1) >> 8, (r.id ?? 1) & 0xff, (r.seq ?? 1) >> 8, (r.seq ?? 1) & 0xff, ...data];
  const src = ipv6Bytes(r.src);
  const dst = ipv6Bytes(r.dst);
  const len = icmp.length;
  const pseudo = [...src, ...dst, 0, 0, len >> 8, len & 0xff, 0, 0, 0, 58];
  const sum = internetChecksum([...pseudo, ...icmp]);
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
  const ip = [0x60, 0, 0, 0, len >> 8, len & 0xff, 58, r.hopLimit ?? 64, ...src, ...dst];
  return [...macBytes(r.dstMac), ...macBytes(r.srcMac), 0x86, 0xdd, ...ip, ...icmp];
}

/** A trafgen configuration that sends this frame as it is. */
export function trafgenConfig(frame: number[]): string {
  return `{ ${frame.map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')} }\n`;
}
