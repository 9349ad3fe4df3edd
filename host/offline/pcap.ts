// Reading pcap and pcapng captures, writing pcap: just Ethernet frames.
// Small enough to own; no library on npm does both without native parts.
import { UserError } from '../lib/errors.js';

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const LINKTYPE_ETHERNET = 1;

export function readCapture(buf: Buffer, name = 'capture'): Uint8Array[] {
  if (buf.length < 24) throw new UserError(`${name} is too short to be a pcap or pcapng file`);
  if (buf.readUInt32LE(0) === PCAPNG_SHB) return readPcapng(buf, name);
  const le = [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(buf.readUInt32LE(0));
  const be = [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(buf.readUInt32BE(0));
  if (!le && !be) throw new UserError(`${name} is neither pcap nor pcapng`);
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  if (u32(20) !== LINKTYPE_ETHERNET) throw new UserError(`${name} does not hold Ethernet frames (link type ${u32(20)})`);
  const frames: Uint8Array[] = [];
  for (let at = 24; at + 16 <= buf.length;) {
    const caplen = u32(at + 8);
    if (at + 16 + caplen > buf.length) throw new UserError(`${name} is cut off inside frame ${frames.length + 1}`);
    frames.push(new Uint8Array(buf.subarray(at + 16, at + 16 + caplen)));
    at += 16 + caplen;
  }
  return frames;
}

function readPcapng(buf: Buffer, name: string): Uint8Array[] {
  const le = buf.readUInt32LE(8) === 0x1a2b3c4d;
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const u16 = (at: number) => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
  const linkTypes: number[] = [];
  const frames: Uint8Array[] = [];
  for (let at = 0; at + 12 <= buf.length;) {
    const type = u32(at);
    const len = u32(at + 4);
    if (len < 12 || at + len > buf.length) throw new UserError(`${name}: a pcapng block is cut off`);
    if (type === 1) linkTypes.push(u16(at + 8)); // Interface Description
    if (type === 6) { // Enhanced Packet
      const iface = u32(at + 8);
      if (linkTypes[iface] !== LINKTYPE_ETHERNET) throw new UserError(`${name}: interface ${iface} does not carry Ethernet frames`);
      const caplen = u32(at + 20);
      frames.push(new Uint8Array(buf.subarray(at + 28, at + 28 + caplen)));
    }
    if (type === 3) frames.push(new Uint8Array(buf.subarray(at + 12, at + 12 + Math.min(u32(at + 8), len - 16)))); // Simple Packet
    at += len;
  }
  return frames;
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
