// One line per frame, for people comparing two of them (replay --expect):
// Ethernet with its VLAN tags, IPv6 (with its extension headers) or IPv4, and
// ICMP, ICMPv6, UDP, TCP or ARP above, with the checksums judged. Written
// apart from the handlers' own parsing, like host/lib/frames.ts.
import { internetChecksum } from '../lib/frames.js';

const hex2 = (b: number) => b.toString(16).padStart(2, '0');
const mac = (f: Uint8Array, at: number) => Array.from(f.subarray(at, at + 6), hex2).join(':');
const u16 = (f: Uint8Array, at: number) => (f[at]! << 8) | f[at + 1]!;
const ipv4 = (f: Uint8Array, at: number) => Array.from(f.subarray(at, at + 4)).join('.');

/** IPv6 text, zeros compressed the RFC 5952 way. */
function ipv6(f: Uint8Array, at: number): string {
  const words = Array.from({ length: 8 }, (_, i) => u16(f, at + 2 * i).toString(16));
  let [best, bestLen] = [-1, 1];
  for (let i = 0; i < 8; i++) {
    let n = 0;
    while (i + n < 8 && words[i + n] === '0') n++;
    if (n > bestLen) [best, bestLen] = [i, n];
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

/** ok, or bad, for a region that, summed with its checksum field, must give 0. */
const judged = (bytes: number[]) => (internetChecksum(bytes) === 0 ? 'checksum ok' : 'checksum BAD');
const lenWord = (n: number) => [(n >> 8) & 0xff, n & 0xff];

export function describeFrame(f: Uint8Array): string {
  if (f.length < 14) return `${f.length} B, shorter than an Ethernet header`;
  const parts = [`${f.length} B ${mac(f, 6)} > ${mac(f, 0)}`];
  let at = 12;
  let type = u16(f, at);
  while ((type === 0x8100 || type === 0x88a8) && at + 6 <= f.length) {
    parts.push(`vlan ${u16(f, at + 2) & 0x0fff}`);
    at += 4;
    type = u16(f, at);
  }
  at += 2;
  if (type === 0x86dd) parts.push(describe6(f, at));
  else if (type === 0x0800) parts.push(describe4(f, at));
  else if (type === 0x0806) parts.push(describeArp(f, at));
  else parts.push(`ethertype 0x${type.toString(16).padStart(4, '0')}`);
  return parts.join(', ');
}

function describe6(f: Uint8Array, ip: number): string {
  if (ip + 40 > f.length) return 'IPv6, truncated';
  const head = `IPv6 ${ipv6(f, ip + 8)} > ${ipv6(f, ip + 24)} hlim ${f[ip + 7]}`;
  let next = f[ip + 6]!;
  let at = ip + 40;
  const ext: string[] = [];
  const names: Record<number, string> = { 0: 'hop-by-hop', 43: 'routing', 44: 'fragment', 60: 'dest-opts' };
  while (names[next] && at + 8 <= f.length && ext.length < 8) {
    ext.push(names[next]!);
    const len = next === 44 ? 8 : (f[at + 1]! + 1) * 8;
    next = f[at]!;
    at += len;
  }
  const payloadEnd = Math.min(f.length, ip + 40 + u16(f, ip + 4));
  const pseudo = (len: number) => [...f.subarray(ip + 8, ip + 40), 0, 0, ...lenWord(len), 0, 0, 0, next];
  const upper = describeUpper(f, next, at, payloadEnd, pseudo);
  return [head, ...ext, upper].join(', ');
}

function describe4(f: Uint8Array, ip: number): string {
  if (ip + 20 > f.length) return 'IPv4, truncated';
  const hlen = (f[ip]! & 0xf) * 4;
  const frag = u16(f, ip + 6);
  const head =
    `IPv4 ${ipv4(f, ip + 12)} > ${ipv4(f, ip + 16)} ttl ${f[ip + 8]} ` +
    `${ip + hlen <= f.length ? judged([...f.subarray(ip, ip + hlen)]) : 'header truncated'}` +
    `${hlen > 20 ? `, ${hlen - 20} B options` : ''}${frag & 0x3fff ? `, fragment offset ${(frag & 0x1fff) * 8}` : ''}`;
  const proto = f[ip + 9]!;
  const end = Math.min(f.length, ip + u16(f, ip + 2));
  const pseudo = (len: number) => [...f.subarray(ip + 12, ip + 20), 0, proto, ...lenWord(len)];
  return `${head}, ${describeUpper(f, proto === 1 ? -1 : proto, ip + hlen, end, pseudo)}`;
}

/** proto: an IP protocol number; -1 for ICMP over IPv4, whose checksum has no pseudo-header. */
function describeUpper(f: Uint8Array, proto: number, at: number, end: number, pseudo: (len: number) => number[]) {
  const body = [...f.subarray(at, Math.max(at, end))];
  if (proto === 17 && body.length >= 8) {
    const sum = u16(f, at + 6) === 0 ? 'no checksum' : judged([...pseudo(body.length), ...body]);
    return `UDP ${u16(f, at)} > ${u16(f, at + 2)} len ${u16(f, at + 4)} ${sum}`;
  }
  if (proto === 6 && body.length >= 20) {
    return `TCP ${u16(f, at)} > ${u16(f, at + 2)} ${judged([...pseudo(body.length), ...body])}`;
  }
  if ((proto === 58 || proto === -1) && body.length >= 4) {
    const v6 = proto === 58;
    const sum = judged(v6 ? [...pseudo(body.length), ...body] : body);
    return `${v6 ? 'ICMPv6' : 'ICMP'} ${icmpName(v6, body)} ${sum}`;
  }
  return `protocol ${proto === -1 ? 1 : proto}, ${body.length} B`;
}

function icmpName(v6: boolean, b: number[]): string {
  const [type, code] = [b[0]!, b[1]!];
  const echo = (what: string) => `echo ${what} id 0x${((b[4]! << 8) | b[5]!).toString(16)} seq ${(b[6]! << 8) | b[7]!}`;
  if (type === (v6 ? 128 : 8)) return echo('request');
  if (type === (v6 ? 129 : 0)) return echo('reply');
  return `type ${type} code ${code}`;
}

function describeArp(f: Uint8Array, at: number): string {
  if (at + 28 > f.length) return 'ARP, truncated';
  const op = u16(f, at + 6);
  const [sender, target] = [ipv4(f, at + 14), ipv4(f, at + 24)];
  if (op === 1) return `ARP who-has ${target} tell ${sender}`;
  if (op === 2) return `ARP ${sender} is-at ${mac(f, at + 8)}`;
  return `ARP op ${op}`;
}
