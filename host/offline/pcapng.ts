// Writing pcapng (draft-ietf-opsawg-pcapng), little-endian, one section: the blocks a live
// capture needs, each a Buffer of its own so a stream can be cut between any two of them and
// still be a readable file. host/offline/pcap.ts reads them back, with these constants.

export const BLOCK = { section: 0x0a0d0d0a, interface: 1, simplePacket: 3, statistics: 5, enhancedPacket: 6 } as const;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** The link type of Ethernet frames, in pcap's header and pcapng's interface blocks alike. */
export const LINKTYPE_ETHERNET = 1;

/** Option codes: common, then per block (each block type has its own numbering). */
const OPT_END = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
export const EPB_FLAGS = 2;
const ISB_IFDROP = 5;

/** epb_flags bits 0-1: the direction. */
export const DIRECTION = { inbound: 1, outbound: 2 } as const;
export const DIRECTION_MASK = 3;

type Option = [code: number, value: Buffer];

const pad4 = (n: number) => (n + 3) & ~3;

function options(list: Option[]): Buffer {
  if (list.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (const [code, value] of list) {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(code, 0);
    head.writeUInt16LE(value.length, 2);
    parts.push(head, value, Buffer.alloc(pad4(value.length) - value.length));
  }
  parts.push(Buffer.alloc(4)); // opt_endofopt
  return Buffer.concat(parts);
}

/** A block: type, total length, body (padded), options, total length again. */
function block(type: number, body: Buffer, opts: Option[] = []): Buffer {
  const tail = options(opts);
  const length = 12 + pad4(body.length) + tail.length;
  const out = Buffer.alloc(length);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(length, 4);
  body.copy(out, 8);
  tail.copy(out, 8 + pad4(body.length));
  out.writeUInt32LE(length, length - 4);
  return out;
}

const text = (s: string) => Buffer.from(s, 'utf8');
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n), 0);
  return b;
};

/** Timestamps are microseconds since the epoch (the default if_tsresol), split in two u32s. */
function timestamp(body: Buffer, at: number, micros: number): void {
  body.writeUInt32LE(Math.floor(micros / 2 ** 32), at);
  body.writeUInt32LE(micros % 2 ** 32, at + 4);
}

export function sectionHeader(comment?: string): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  body.writeUInt16LE(1, 4); // version 1.0
  body.writeUInt16LE(0, 6);
  body.writeBigInt64LE(-1n, 8); // section length not given: it is streamed
  return block(BLOCK.section, body, comment ? [[OPT_COMMENT, text(comment)]] : []);
}

/** An Ethernet interface; its number is its place among the interface blocks of the section. */
export function interfaceDescription(name: string, description?: string, snaplen = 0): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16LE(LINKTYPE_ETHERNET, 0);
  body.writeUInt32LE(snaplen, 4);
  const opts: Option[] = [[IF_NAME, text(name)]];
  if (description) opts.push([IF_DESCRIPTION, text(description)]);
  return block(BLOCK.interface, body, opts);
}

export interface Packet {
  iface: number;
  micros: number;
  data: Uint8Array;
  /** Length on the wire, when data holds less. */
  origLen?: number;
  direction?: keyof typeof DIRECTION;
  comment?: string;
}

export function enhancedPacket(p: Packet): Buffer {
  const body = Buffer.alloc(20 + p.data.length);
  body.writeUInt32LE(p.iface, 0);
  timestamp(body, 4, p.micros);
  body.writeUInt32LE(p.data.length, 12);
  body.writeUInt32LE(p.origLen ?? p.data.length, 16);
  body.set(p.data, 20);
  const opts: Option[] = [];
  if (p.direction) opts.push([EPB_FLAGS, u32(DIRECTION[p.direction])]);
  if (p.comment) opts.push([OPT_COMMENT, text(p.comment)]);
  return block(BLOCK.enhancedPacket, body, opts);
}

/** Interface statistics at the end of a capture: dropped says how many packets the capture lost. */
export function interfaceStatistics(iface: number, micros: number, dropped: number, comment?: string): Buffer {
  const body = Buffer.alloc(12);
  body.writeUInt32LE(iface, 0);
  timestamp(body, 4, micros);
  const opts: Option[] = [[ISB_IFDROP, u64(dropped)]];
  if (comment) opts.push([OPT_COMMENT, text(comment)]);
  return block(BLOCK.statistics, body, opts);
}

/** One option's value in a block this file writes (EPB or ISB), or undefined. */
export function optionOf(b: Buffer, code: number): Buffer | undefined {
  const type = b.readUInt32LE(0);
  const fixed = type === BLOCK.enhancedPacket ? 20 + pad4(b.readUInt32LE(20)) : type === BLOCK.statistics ? 12 : -1;
  if (fixed < 0) return undefined;
  for (let at = 8 + fixed; at + 4 <= b.length - 4; ) {
    const c = b.readUInt16LE(at);
    const len = b.readUInt16LE(at + 2);
    if (c === OPT_END) return undefined;
    if (c === code) return b.subarray(at + 4, at + 4 + len);
    at += 4 + pad4(len);
  }
  return undefined;
}

export const ISB_DROPPED = ISB_IFDROP;
