// Reading pcap and pcapng captures, writing pcap: just Ethernet frames.
// Small enough to own; no library on npm does both without native parts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../lib/errors.js';
import { BLOCK, BYTE_ORDER_MAGIC, DIRECTION, DIRECTION_MASK, EPB_FLAGS, LINKTYPE_ETHERNET } from './pcapng.js';

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
/** libpcap's own bound on a record (MAXIMUM_SNAPLEN): anything larger is corruption, not a frame. */
const MAX_CAPLEN = 262144;

/**
 * What a capture holds; cut says how it ends early when the file was cut inside a record.
 * Frames a pcapng marks outbound (epb_flags) are what was sent, not what arrived: they are
 * left out of frames and only counted, so a capture of ctl capture replays what came in.
 */
export interface Capture {
  frames: Uint8Array[];
  cut?: string;
  outbound?: number;
}

export function readCapture(buf: Buffer, name = 'capture'): Capture {
  if (buf.length < 24) throw new UserError(`${name} is too short to be a pcap or pcapng file`);
  if (buf.readUInt32LE(0) === BLOCK.section) return readPcapng(buf, name);
  const le = [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(buf.readUInt32LE(0));
  const be = [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(buf.readUInt32BE(0));
  if (!le && !be) throw new UserError(`${name} is neither pcap nor pcapng`);
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  if (u32(20) !== LINKTYPE_ETHERNET)
    throw new UserError(`${name} does not hold Ethernet frames (link type ${u32(20)})`);
  const frames: Uint8Array[] = [];
  for (let at = 24; at < buf.length; ) {
    if (at + 16 > buf.length) return { frames, cut: cutShort(name, 'packet') };
    const caplen = u32(at + 8);
    if (caplen > MAX_CAPLEN) {
      throw new UserError(`${name}: record ${frames.length + 1} claims ${caplen} bytes, more than any frame: corrupt`);
    }
    if (at + 16 + caplen > buf.length) return { frames, cut: cutShort(name, 'packet') };
    frames.push(new Uint8Array(buf.subarray(at + 16, at + 16 + caplen)));
    at += 16 + caplen;
  }
  return { frames };
}

/** tshark's words for the same thing. */
const cutShort = (name: string, what: string) => `${name} appears to have been cut short in the middle of a ${what}`;

function readPcapng(buf: Buffer, name: string): Capture {
  const le = buf.readUInt32LE(8) === BYTE_ORDER_MAGIC;
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const u16 = (at: number) => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
  let linkTypes: number[] = [];
  const frames: Uint8Array[] = [];
  let outbound = 0;
  const result = (cut?: string): Capture => ({ frames, ...(cut ? { cut } : {}), ...(outbound ? { outbound } : {}) });
  for (let at = 0; at < buf.length; ) {
    if (at + 12 > buf.length) return result(cutShort(name, 'block'));
    const type = u32(at);
    const len = u32(at + 4);
    if (len < 12 || len % 4 !== 0) throw new UserError(`${name}: a pcapng block has length ${len}: corrupt`);
    if (at + len > buf.length) return result(cutShort(name, 'block'));
    if (type === BLOCK.section) linkTypes = []; // interface numbers start again in each section
    if (type === BLOCK.interface) linkTypes.push(u16(at + 8));
    if (type === BLOCK.enhancedPacket) {
      const frame = enhancedPacket(buf, at, len, u32, linkTypes, name);
      if (isOutbound(at, len, frame.length, u32, u16)) outbound++;
      else frames.push(frame);
    }
    if (type === BLOCK.simplePacket)
      frames.push(new Uint8Array(buf.subarray(at + 12, at + 12 + Math.min(u32(at + 8), len - 16))));
    at += len;
  }
  return result();
}

/** Whether an Enhanced Packet Block's epb_flags option says the packet was sent (direction bits 10). */
function isOutbound(
  at: number,
  len: number,
  caplen: number,
  u32: (at: number) => number,
  u16: (at: number) => number,
): boolean {
  const end = at + len - 4;
  for (let o = at + 28 + ((caplen + 3) & ~3); o + 4 <= end; ) {
    const code = u16(o);
    const size = u16(o + 2);
    if (code === 0) break;
    if (code === EPB_FLAGS && size === 4 && o + 8 <= end) return (u32(o + 4) & DIRECTION_MASK) === DIRECTION.outbound;
    o += 4 + ((size + 3) & ~3);
  }
  return false;
}

/** An Enhanced Packet Block at offset at, len bytes long, of an interface described before it. */
function enhancedPacket(
  buf: Buffer,
  at: number,
  len: number,
  u32: (at: number) => number,
  linkTypes: number[],
  name: string,
): Uint8Array {
  const iface = u32(at + 8);
  if (iface >= linkTypes.length) {
    const described = `${linkTypes.length} interface${linkTypes.length === 1 ? '' : 's'}`;
    throw new UserError(`${name}: a packet names interface ${iface}, but the capture describes only ${described}`);
  }
  if (linkTypes[iface] !== LINKTYPE_ETHERNET) {
    throw new UserError(`${name}: interface ${iface} does not carry Ethernet frames`);
  }
  const caplen = u32(at + 20);
  if (28 + caplen + 4 > len) {
    throw new UserError(`${name}: a packet of ${caplen} bytes does not fit in its block: corrupt`);
  }
  return new Uint8Array(buf.subarray(at + 28, at + 28 + caplen));
}

export function writePcap(frames: Uint8Array[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(PCAP_MAGIC_US, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const parts: Buffer[] = [header];
  frames.forEach((frame, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(i / 1e6), 0);
    rec.writeUInt32LE(i % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, Buffer.from(frame));
  });
  return Buffer.concat(parts);
}

/** A failing batch (check's, fuzz's) written as a pcap for replay, its folder made first; returns the file. */
export function writeFailure(file: string, batch: Uint8Array[]): string {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, writePcap(batch));
  return file;
}
