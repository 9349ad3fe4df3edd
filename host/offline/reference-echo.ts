// A reference model of the echo handler, written apart from asm/echo.ts and
// on purpose in another style: it parses the request into values and builds
// the reply from scratch (checksums always recomputed), where the handler
// edits the frame in place. The fuzz tests hold the two to the same output.
import type { InterfaceConfig } from '../dataplane/iface-config.js';
import { internetChecksum } from '../lib/frames.js';

export interface RefConfig {
  mac?: number[] | undefined;
  ipv6?: number[] | undefined;
  ipv4?: number[] | undefined;
  hopLimit: number;
}

export type RefResult = { reply: Uint8Array } | { drop: string };

const drop = (reason: string): RefResult => ({ drop: reason });
const isTag = (t: number) => t === 0x8100 || t === 0x88a8;
const isGroupMac = (f: Uint8Array, at: number) => (f[at]! & 1) === 1;
const be16 = (f: Uint8Array, at: number) => (f[at]! << 8) | f[at + 1]!;
const word = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const MIN_FRAME = 60;

/** Ethernet header of the reply: to the sender, from us (our MAC when the request was not to us alone). */
function replyEthernet(f: Uint8Array, l3: number, toGroup: boolean, cfg: RefConfig): number[] {
  const from = toGroup ? (cfg.mac ?? [0, 0, 0, 0, 0, 0]) : [...f.slice(0, 6)];
  return [...f.slice(6, 12), ...from, ...f.slice(12, l3)];
}

function finish(bytes: number[], requestLength: number): Uint8Array {
  const len = bytes.length >= MIN_FRAME ? bytes.length : Math.min(MIN_FRAME, requestLength);
  return Uint8Array.from([...bytes, ...Array<number>(Math.max(0, len - bytes.length)).fill(0)]);
}

function echo6(f: Uint8Array, l3: number, cfg: RefConfig): RefResult {
  if (l3 + 40 > f.length) return drop('truncated');
  if (f[l3]! >> 4 !== 6) return drop('bad_header');
  const payloadLength = be16(f, l3 + 4);
  const end = 40 + payloadLength; // relative to the IPv6 header
  if (l3 + end > f.length) return drop('truncated');
  let next = f[l3 + 6]!;
  let at = 40;
  let upper: number | undefined;
  for (let seen = 0; seen < 8 && upper === undefined; seen++) {
    if (next === 44) return drop('fragment');
    if (next !== 0 && next !== 43 && next !== 60) {
      upper = at;
      break;
    }
    if (next === 0 && seen > 0) return drop('bad_header');
    if (at + 8 > end) return drop('truncated');
    if (next === 43 && f[l3 + at + 3] !== 0) return drop('routing');
    const length = (f[l3 + at + 1]! + 1) * 8;
    next = f[l3 + at]!;
    at += length;
    if (at > end) return drop('truncated');
  }
  if (upper === undefined) return drop('too_many_headers');
  if (next !== 58) return drop('not_echo');
  const icmp = f.slice(l3 + upper, l3 + end);
  if (icmp.length < 8) return drop('truncated');
  if (icmp[0] !== 128 || icmp[1] !== 0) return drop('not_echo');
  const src = [...f.slice(l3 + 8, l3 + 24)];
  const dst = [...f.slice(l3 + 24, l3 + 40)];
  const unspecified = src.every((b) => b === 0);
  const loopback = src.slice(0, 15).every((b) => b === 0) && src[15] === 1;
  if (src[0] === 0xff || unspecified || loopback || isGroupMac(f, 6)) return drop('bad_source');
  const toGroup = dst[0] === 0xff || isGroupMac(f, 0);
  if (toGroup && !cfg.ipv6) return drop('no_address');
  const pseudo = (s: number[], d: number[], n: number) => [...s, ...d, 0, 0, ...word(n), 0, 0, 0, 58];
  if (internetChecksum([...pseudo(src, dst, icmp.length), ...icmp]) !== 0) return drop('bad_checksum');

  const replySrc = toGroup ? cfg.ipv6! : dst;
  const body = [129, 0, 0, 0, ...icmp.slice(4)];
  const sum = internetChecksum([...pseudo(replySrc, src, body.length), ...body]);
  body[2] = sum >> 8;
  body[3] = sum & 0xff;
  const ip = [...f.slice(l3, l3 + 4), ...word(body.length), 58, cfg.hopLimit, ...replySrc, ...src];
  return { reply: finish([...replyEthernet(f, l3, toGroup, cfg), ...ip, ...body], f.length) };
}

function echo4(f: Uint8Array, l3: number, cfg: RefConfig): RefResult {
  if (l3 + 20 > f.length) return drop('truncated');
  const headerLength = (f[l3]! & 0x0f) * 4;
  if (f[l3]! >> 4 !== 4 || headerLength < 20) return drop('bad_header');
  const total = be16(f, l3 + 2);
  if (l3 + headerLength > f.length || l3 + total > f.length) return drop('truncated');
  if (total < headerLength) return drop('bad_header');
  if (internetChecksum([...f.slice(l3, l3 + headerLength)]) !== 0) return drop('bad_checksum');
  if ((be16(f, l3 + 6) & 0x3fff) !== 0) return drop('fragment');
  if (f[l3 + 9] !== 1) return drop('not_echo');
  const icmp = [...f.slice(l3 + headerLength, l3 + total)];
  if (icmp.length < 8) return drop('truncated');
  if (icmp[0] !== 8 || icmp[1] !== 0) return drop('not_echo');
  const src = [...f.slice(l3 + 12, l3 + 16)];
  const dst = [...f.slice(l3 + 16, l3 + 20)];
  if (src[0] === 0 || src[0] === 127 || src[0]! >= 224 || isGroupMac(f, 6)) return drop('bad_source');
  const toGroup = dst[0]! >= 224 || isGroupMac(f, 0);
  if (toGroup && !cfg.ipv4) return drop('no_address');
  if (internetChecksum(icmp) !== 0) return drop('bad_checksum');

  const body = [0, 0, 0, 0, ...icmp.slice(4)];
  const sum = internetChecksum(body);
  body[2] = sum >> 8;
  body[3] = sum & 0xff;
  const ip = [
    0x45,
    f[l3 + 1]!,
    ...word(20 + body.length),
    ...f.slice(l3 + 4, l3 + 8),
    cfg.hopLimit,
    1,
    0,
    0,
    ...(toGroup ? cfg.ipv4! : dst),
    ...src,
  ];
  const hsum = internetChecksum(ip);
  ip[10] = hsum >> 8;
  ip[11] = hsum & 0xff;
  return { reply: finish([...replyEthernet(f, l3, toGroup, cfg), ...ip, ...body], f.length) };
}

export function referenceEcho(frame: Uint8Array, cfg: RefConfig): RefResult {
  let at = 12;
  let tags = 0;
  for (;;) {
    if (at + 2 > frame.length) return drop('truncated');
    if (!isTag(be16(frame, at))) break;
    if (tags === 2) return drop('too_many_headers');
    tags++;
    at += 4;
  }
  const type = be16(frame, at);
  if (type === 0x86dd) return echo6(frame, at + 2, cfg);
  if (type === 0x0800) return echo4(frame, at + 2, cfg);
  return drop('not_ip');
}

/** The model as check's differential mode wants it (fuzz): the reply, or null for a drop. */
export function echoReference(frame: Uint8Array, config: InterfaceConfig): Uint8Array | null {
  const out = referenceEcho(frame, config);
  return 'reply' in out ? out.reply : null;
}
