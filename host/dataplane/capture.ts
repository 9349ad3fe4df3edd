// Capture: what a handler was given (copied before it runs, so before it rewrites the frames) and
// what it transmitted, with queue, verdict and drop reason, in a bounded ring shared with the
// main thread, which drains it into pcapng (host/control/capture-stream.ts).
//
// Off, it costs the worker one read of a shared word per batch (CaptureTap.on). On, the worker
// never waits: a frame that finds no room in the ring is counted as lost, per queue, and the
// main thread reports the count when the capture ends. One ring per worker, one writer (the
// worker) and one reader (the main thread): head and tail are the only shared positions.
import { type MessagePort, MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import type { Batch } from './batch.js';
import type { CounterTable } from './handler.js';
import { MAX_BATCH, VERDICT } from './layout.js';
import { DIRECTION } from '../offline/pcapng.js';

/** Ring header words (i32). */
const HEAD = 0; // next byte the worker writes, published after each batch
const TAIL = 1; // next byte the main thread reads
const QUEUE_FILTER = 2; // the RX queue captured, or -1 for all
const LOST_BASE = 4; // frames lost for want of room, per queue of the worker (its index)
export const LOST_SLOTS = 12;
const HEADER_BYTES = 64;

/** Record header (u32 fields, their byte offsets), then the frame, then the note (UTF-8), each padded to 4 bytes. */
const R_SIZE = 0;
const R_QUEUE = 4;
const R_FLAGS = 8; // direction in bits 0-1 (pcapng's epb_flags), verdict in bits 8-15
const R_MICROS_HI = 12;
const R_MICROS_LO = 16;
const R_LEN = 20;
const R_NOTE_LEN = 24;
const RECORD_HEADER = 28;
/** Enough for a note naming every reason a batch moved. */
const NOTE_ROOM = 256;
const NO_VERDICT = 0xff;
/** A record's direction is pcapng's epb_flags direction, so the writer copies it as it is. */
export const INBOUND = DIRECTION.inbound;
export const OUTBOUND = DIRECTION.outbound;

const pad4 = (n: number) => (n + 3) & ~3;

/** What the worker is handed: the word that says whether to capture, and where rings arrive. */
export interface CaptureShared {
  /** i32 [0]: the generation of the ring to write, 0 when off. */
  control: SharedArrayBuffer;
  port: MessagePort;
}

/** The host's end of a worker's capture: hands it rings, and again to a restarted worker. */
export class CaptureLink {
  private readonly control = new SharedArrayBuffer(4);
  private readonly word = new Int32Array(this.control);
  private port: MessagePort | undefined;
  private current: { gen: number; ring: SharedArrayBuffer } | undefined;
  private static generation = 0;

  /** For a worker about to start: its shared part, and the port to transfer. */
  connect(): { shared: CaptureShared; transfer: MessagePort } {
    this.port?.close();
    const channel = new MessageChannel();
    this.port = channel.port1;
    if (this.current) this.port.postMessage(this.current);
    return { shared: { control: this.control, port: channel.port2 }, transfer: channel.port2 };
  }

  begin(ring: SharedArrayBuffer): void {
    this.current = { gen: ++CaptureLink.generation, ring };
    this.port!.postMessage(this.current);
    Atomics.store(this.word, 0, this.current.gen);
  }

  end(): void {
    this.current = undefined;
    Atomics.store(this.word, 0, 0);
  }

  close(): void {
    this.port?.close();
  }
}

/** What the tap needs of a served queue (worker.ts's Served has it). */
export interface Tapped {
  memory: WebAssembly.Memory;
  batch: Batch;
  instance: { counters: CounterTable | undefined };
}

/** The worker's end: writes records around one batch when on. */
export class CaptureTap {
  private readonly word: Int32Array;
  private gen = 0;
  private header: Int32Array | undefined;
  private bytes: Uint8Array | undefined;
  private words: DataView | undefined;
  private capacity = 0;
  /** Where this batch's inbound records start (-1: lost), to fill in their verdicts after. */
  private readonly at = new Int32Array(MAX_BATCH);
  /** Where append put its record, or -1 when it found no room. */
  private last = -1;
  private readonly before: number[] = [];
  private readonly encoder = new TextEncoder();

  constructor(private readonly shared: CaptureShared) {
    this.word = new Int32Array(shared.control);
  }

  /** The one check a batch pays when nobody captures. */
  get on(): boolean {
    return this.word[0] !== 0;
  }

  /** Captures the batch of n on queue slot (its index in the worker) around answer. */
  around<Q extends Tapped>(q: Q, slot: number, n: number, answer: (q: Q, n: number) => void): void {
    const filter = this.adopt() ? this.header![QUEUE_FILTER]! : undefined;
    const rxQueue = q.batch.get(0, 'queue');
    if (filter === undefined || (filter >= 0 && filter !== rxQueue)) {
      answer(q, n);
      return;
    }
    const micros = Math.round((performance.timeOrigin + performance.now()) * 1000);
    const memory = new Uint8Array(q.memory.buffer);
    const reasons = this.snapshot(q);
    let head = this.copyIn(q, slot, n, memory, rxQueue, micros);
    answer(q, n);
    const note = this.reason(q, reasons, n);
    for (let i = 0; i < n; i++) {
      const verdict = q.batch.get(i, 'verdict');
      if (this.at[i]! >= 0) head = this.finish(this.at[i]!, verdict, verdict === VERDICT.drop ? note : '', head);
      if (verdict === VERDICT.tx) head = this.append(q, i, slot, head, memory, rxQueue, OUTBOUND, micros);
    }
    Atomics.store(this.header!, HEAD, head % this.capacity);
  }

  /** The frames as the handler is given them, each with room for its verdict's note. */
  private copyIn(q: Tapped, slot: number, n: number, memory: Uint8Array, rxQueue: number, micros: number): number {
    let head = Atomics.load(this.header!, HEAD);
    for (let i = 0; i < n; i++) {
      head = this.append(q, i, slot, head, memory, rxQueue, INBOUND, micros);
      this.at[i] = this.last;
    }
    return head;
  }

  private append(
    q: Tapped,
    i: number,
    slot: number,
    head: number,
    memory: Uint8Array,
    rxQueue: number,
    direction: number,
    micros: number,
  ): number {
    const addr = q.batch.get(i, 'addr');
    const frame = memory.subarray(addr, addr + q.batch.get(i, 'len'));
    const at = this.reserve(head, frame.length + (direction === INBOUND ? NOTE_ROOM : 0));
    this.last = at;
    if (at < 0) {
      this.lose(slot);
      return head;
    }
    this.writeRecord(at, rxQueue, direction, micros, frame);
    return at + this.words!.getUint32(at + R_SIZE, true);
  }

  /** Takes the ring of the current generation, once it has arrived. */
  private adopt(): boolean {
    const want = this.word[0]!;
    if (want === this.gen) return true;
    let msg: { gen: number; ring: SharedArrayBuffer } | undefined;
    for (let m = receiveMessageOnPort(this.shared.port); m; m = receiveMessageOnPort(this.shared.port)) {
      msg = m.message as typeof msg;
    }
    if (!msg || msg.gen !== want) return false;
    this.gen = want;
    this.header = new Int32Array(msg.ring, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(msg.ring, HEADER_BYTES);
    this.words = new DataView(msg.ring, HEADER_BYTES);
    this.capacity = this.bytes.length;
    return true;
  }

  private lose(slot: number): void {
    Atomics.add(this.header!, LOST_BASE + Math.min(slot, LOST_SLOTS - 1), 1);
  }

  /**
   * Where a record of up to body bytes (frame and note) goes, from head: -1 if the reader has
   * not freed room for it. A record never wraps: a zero size word sends the reader to the start.
   */
  private reserve(head: number, body: number): number {
    const size = RECORD_HEADER + pad4(body);
    const tail = Atomics.load(this.header!, TAIL);
    const pos = head % this.capacity;
    const free = (tail - pos - 4 + 2 * this.capacity) % this.capacity; // 4 bytes kept: full is never empty
    const toEnd = this.capacity - pos;
    if (size <= toEnd) return size <= free ? pos : -1;
    if (toEnd + size > free) return -1;
    this.words!.setUint32(pos, 0, true);
    return 0;
  }

  private writeRecord(at: number, queue: number, direction: number, micros: number, frame: Uint8Array): void {
    const w = this.words!;
    w.setUint32(at + R_SIZE, RECORD_HEADER + pad4(frame.length) + (direction === INBOUND ? NOTE_ROOM : 0), true);
    w.setUint32(at + R_QUEUE, queue, true);
    w.setUint32(at + R_FLAGS, direction | (NO_VERDICT << 8), true);
    w.setUint32(at + R_MICROS_HI, Math.floor(micros / 2 ** 32), true);
    w.setUint32(at + R_MICROS_LO, micros % 2 ** 32, true);
    w.setUint32(at + R_LEN, frame.length, true);
    w.setUint32(at + R_NOTE_LEN, 0, true);
    this.bytes!.set(frame, at + RECORD_HEADER);
  }

  /** Fills in an inbound record's verdict and note, and gives back the note room it did not use. */
  private finish(at: number, verdict: number, note: string, head: number): number {
    const w = this.words!;
    w.setUint32(at + R_FLAGS, INBOUND | (verdict << 8), true);
    const noteAt = at + RECORD_HEADER + pad4(w.getUint32(at + R_LEN, true));
    const written = note ? this.encoder.encodeInto(note, this.bytes!.subarray(noteAt, noteAt + NOTE_ROOM)).written : 0;
    w.setUint32(at + R_NOTE_LEN, written, true);
    // Only the batch's last record may shrink: the ones after it already lie beyond it.
    const end = noteAt + NOTE_ROOM;
    if (end !== head) return head;
    const size = noteAt + pad4(written) - at;
    w.setUint32(at + R_SIZE, size, true);
    return at + size;
  }

  /** The handler's per-reason counters before the batch. */
  private snapshot(q: Tapped): number[] {
    const table = q.instance.counters;
    this.before.length = 0;
    if (!table) return this.before;
    const values = new BigUint64Array(q.memory.buffer, table.address, table.names.length);
    for (let i = 0; i < table.names.length; i++) this.before.push(Number(values[i]));
    return this.before;
  }

  /**
   * Why the batch's drops were dropped, from the counters that moved: the handler says it per
   * batch, not per frame. A counter that moved by exactly the batch's TX count is taken for the
   * transmitted ones (echo's "replied"); if one counter is left, it is every drop's reason; if
   * several, the note names them all ("one of"); a batch whose counters did not move says nothing.
   */
  private reason(q: Tapped, before: number[], n: number): string {
    const table = q.instance.counters;
    if (!table || before.length === 0) return '';
    let tx = 0;
    for (let i = 0; i < n; i++) if (q.batch.get(i, 'verdict') === VERDICT.tx) tx++;
    if (tx === n) return '';
    const values = new BigUint64Array(q.memory.buffer, table.address, table.names.length);
    const moved: [string, number][] = [];
    for (let i = 0; i < before.length; i++) {
      const delta = Number(values[i]) - before[i]!;
      if (delta > 0) moved.push([table.names[i]!, delta]);
    }
    const forTx = tx > 0 ? moved.filter(([, d]) => d === tx) : [];
    const left = forTx.length === 1 ? moved.filter((m) => m !== forTx[0]) : moved;
    if (left.length === 0) return '';
    if (left.length === 1) return `reason ${left[0]![0]}`;
    return `reason one of ${left.map(([name]) => name).join(', ')}`;
  }
}

/** A frame as the main thread reads it back. */
export interface CapturedFrame {
  queue: number;
  direction: typeof INBOUND | typeof OUTBOUND;
  /** VERDICT.drop or VERDICT.tx for inbound frames; undefined for outbound ones. */
  verdict: number | undefined;
  micros: number;
  data: Buffer;
  note: string;
}

/** The main thread's end of one worker's ring. */
export class CaptureRing {
  readonly buffer: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;

  /** bytes: room for frames; queue: the RX queue captured, or -1 for all. */
  constructor(bytes: number, queue: number) {
    this.buffer = new SharedArrayBuffer(HEADER_BYTES + pad4(bytes));
    this.header = new Int32Array(this.buffer, 0, HEADER_BYTES / 4);
    this.header[QUEUE_FILTER] = queue;
    this.view = new DataView(this.buffer, HEADER_BYTES);
    this.bytes = new Uint8Array(this.buffer, HEADER_BYTES);
  }

  /** Reads every record the worker has published, oldest first, and frees their room. */
  drain(take: (frame: CapturedFrame) => void): void {
    const head = Atomics.load(this.header, HEAD);
    let tail = Atomics.load(this.header, TAIL);
    while (tail !== head) {
      const size = tail + 4 <= this.bytes.length ? this.view.getUint32(tail + R_SIZE, true) : 0;
      if (size === 0) {
        tail = 0;
        continue;
      }
      take(this.read(tail));
      tail = (tail + size) % this.bytes.length;
    }
    Atomics.store(this.header, TAIL, tail);
  }

  private read(at: number): CapturedFrame {
    const v = this.view;
    const flags = v.getUint32(at + R_FLAGS, true);
    const len = v.getUint32(at + R_LEN, true);
    const noteAt = at + RECORD_HEADER + pad4(len);
    const verdict = (flags >> 8) & 0xff;
    return {
      queue: v.getUint32(at + R_QUEUE, true),
      direction: (flags & 3) as typeof INBOUND | typeof OUTBOUND,
      verdict: verdict === NO_VERDICT ? undefined : verdict,
      micros: v.getUint32(at + R_MICROS_HI, true) * 2 ** 32 + v.getUint32(at + R_MICROS_LO, true),
      data: Buffer.from(this.bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + len)),
      note: Buffer.from(this.bytes.subarray(noteAt, noteAt + v.getUint32(at + R_NOTE_LEN, true))).toString('utf8'),
    };
  }

  /** Frames lost for want of room, for the worker's queue at index slot. */
  lost(slot: number): number {
    return Atomics.load(this.header, LOST_BASE + Math.min(slot, LOST_SLOTS - 1));
  }
}
