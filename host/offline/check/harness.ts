// One handler instance under check: a batch is laid into memory the way the
// shim lays it, run, and held to the contract's properties (asm/CONTRACT.md).
// Memory outside the batch's descriptors, its frames and the handler's region
// is kept in a known state (the host's area as the host wrote it, all else
// zero), so a stray write is found by comparing it, not by copying 272 MiB.
import { Batch, txAllowed } from '../../dataplane/batch.js';
import { type Handler, type HandlerInstance, instantiate } from '../../dataplane/handler.js';
import { type InterfaceConfig, writeInterfaceConfig } from '../../dataplane/iface-config.js';
import {
  BATCH_OFFSET,
  COUNTERS_OFFSET,
  DESC_SIZE,
  HANDLER_BASE,
  HANDLER_CONFIG_OFFSET,
  HANDLER_REGION_SIZE,
  UMEM_OFFSET,
  VERDICT,
  XDP_HEADROOM,
  newMemory,
} from '../../dataplane/layout.js';
import { type Failure, type Reference, SLOW_US } from './properties.js';
import type { CallWatch } from './watch.js';

/** Past the end of the batch's frames, how far a stray write is looked for on every batch (a u16 offset and more). */
const GUARD = 128 * 1024;
/** How far above its highest written byte a handler's new writes are looked for on every batch. */
const WINDOW = 64 * 1024;
/** Runs of the same batch that must each grow the handler's region before it counts as allocating. */
const REPEATS = 3;
const ZERO = Buffer.alloc(1 << 20);
/** With packetOnly, what fills a frame around its packet: a write there shows, even of zeros. */
const AROUND = Buffer.alloc(4096, 0xa5);
/** What a TX sent, when its bytes are not needed. */
const NOT_KEPT = new Uint8Array(0);

export class CheckHarness {
  readonly memory = newMemory();
  private readonly buf = Buffer.from(this.memory.buffer);
  private readonly batch = new Batch(this.memory);
  private instance!: HandlerInstance;
  private hostArea!: Buffer;
  /** One past the highest nonzero byte of the handler's region. */
  highWater = HANDLER_BASE;

  constructor(
    private readonly handler: Handler,
    readonly config: InterfaceConfig,
    readonly frameSize: number,
    /** Counts each call in and out, for a thread that watches for one that never returns. */
    private readonly watch?: CallWatch,
  ) {
    this.start();
  }

  /** Starts the handler afresh on this memory, as a swap does: its region zeroed first. */
  private start(): void {
    const top = HANDLER_BASE + HANDLER_REGION_SIZE;
    const last = this.lastNonZero(HANDLER_BASE, top);
    if (last >= 0) this.buf.fill(0, HANDLER_BASE, last + 1);
    writeInterfaceConfig(this.memory, this.config);
    this.instance = instantiate(this.handler, this.memory);
    this.hostArea = Buffer.from(this.buf.subarray(0, BATCH_OFFSET));
    this.highWater = Math.max(HANDLER_BASE, this.lastNonZero(HANDLER_BASE, top) + 1);
  }

  /** Batch frames are spaced a frame apart, so a write past one lands in memory no packet owns. */
  frameStart(i: number): number {
    return UMEM_OFFSET + (2 * i + 1) * this.frameSize;
  }

  /** Lays the frames and runs process() once; returns its time in microseconds, or the trap. */
  private runOnce(frames: Uint8Array[], packetOnly = false): number | Error {
    frames.forEach((frame, i) => {
      if (packetOnly) AROUND.copy(this.buf, this.frameStart(i), 0, this.frameSize);
      const addr = this.frameStart(i) + XDP_HEADROOM;
      this.buf.set(frame, addr);
      this.batch.lay(i, addr, frame.length);
    });
    this.watch?.entering();
    const started = performance.now();
    try {
      this.instance.process(BATCH_OFFSET, frames.length);
    } catch (err) {
      return err as Error;
    } finally {
      this.watch?.returned();
    }
    return (performance.now() - started) * 1000;
  }

  /**
   * Runs one batch and checks it. sent collects what each frame's TX sends (null for anything else)
   * when given; perPacketUs the batch's time per packet.
   */
  check(
    frames: Uint8Array[],
    reference?: Reference,
    packetOnly = false,
  ): { failure?: Failure; perPacketUs: number; sent?: (Uint8Array | null)[] } {
    const time = this.runOnce(frames, packetOnly);
    if (time instanceof Error) {
      this.cleanUp(frames.length);
      this.start();
      return { failure: { property: 'no-trap', message: `trapped: ${time.message}` }, perPacketUs: 0 };
    }
    const verdicts = this.verdicts(frames.length, reference !== undefined);
    const past = packetOnly ? this.pastPacket(frames) : undefined;
    const stray = this.cleanUp(frames.length) ?? past;
    if (stray) return { failure: { property: 'writes-inside', message: stray }, perPacketUs: 0 };
    if (verdicts.failure) return { failure: verdicts.failure, perPacketUs: 0 };
    const differs = reference && this.compare(frames, verdicts.sent, reference);
    if (differs)
      return { failure: { property: 'matches-reference', message: differs }, perPacketUs: 0, sent: verdicts.sent };
    const allocating = this.growsOnRepeat(frames);
    if (allocating) return { failure: { property: 'no-allocation', message: allocating }, perPacketUs: 0 };
    let perPacketUs = time / frames.length;
    // A slow batch is run again before it counts: the machine may have been busy.
    for (let again = 0; again < 2 && perPacketUs > SLOW_US; again++) {
      const t = this.runOnce(frames);
      this.cleanUp(frames.length);
      if (typeof t === 'number') perPacketUs = Math.min(perPacketUs, t / frames.length);
    }
    if (perPacketUs > SLOW_US) {
      const message = `${perPacketUs.toFixed(0)} us per packet on a batch of ${frames.length} (three runs; the bound is ${SLOW_US} us)`;
      return { failure: { property: 'time-per-packet', message }, perPacketUs, sent: verdicts.sent };
    }
    return { perPacketUs, sent: verdicts.sent };
  }

  private verdicts(count: number, keep: boolean): { failure?: Failure; sent: (Uint8Array | null)[] } {
    const sent: (Uint8Array | null)[] = [];
    let failure: Failure | undefined;
    for (let i = 0; i < count; i++) {
      const [addr, len, verdict] = [this.batch.get(i, 'addr'), this.batch.get(i, 'len'), this.batch.get(i, 'verdict')];
      const start = this.frameStart(i);
      if (verdict === VERDICT.tx && txAllowed(addr, len, start, this.frameSize)) {
        sent.push(keep ? Uint8Array.from(this.buf.subarray(addr, addr + len)) : NOT_KEPT);
        continue;
      }
      sent.push(null);
      if (failure || verdict === VERDICT.drop) continue;
      const message =
        verdict !== VERDICT.tx
          ? `frame ${i}: verdict ${verdict} is neither DROP (${VERDICT.drop}) nor TX (${VERDICT.tx})`
          : `frame ${i}: TX of ${len} bytes at ${addr - start} into its ${this.frameSize}-byte frame ` +
            '(a TX must be at least 14 bytes, wholly inside the frame)';
      failure = { property: 'valid-verdicts', message };
    }
    return { failure, sent };
  }

  /**
   * Puts memory back in its known state (descriptors and frames zeroed, the host's area restored)
   * and says where the handler wrote outside what it was given, if it did.
   */
  private cleanUp(count: number): string | undefined {
    this.buf.fill(0, BATCH_OFFSET, BATCH_OFFSET + count * DESC_SIZE);
    for (let i = 0; i < count; i++) this.buf.fill(0, this.frameStart(i), this.frameStart(i) + this.frameSize);
    let stray: string | undefined;
    if (!this.hostArea.equals(this.buf.subarray(0, BATCH_OFFSET))) {
      let at = 0;
      while (this.hostArea[at] === this.buf[at]) at++;
      stray = `wrote the host's ${hostPart(at)} at 0x${at.toString(16)}`;
      this.hostArea.copy(this.buf, 0);
    }
    const end = Math.min(this.frameStart(count) + GUARD, HANDLER_BASE);
    const last = this.lastNonZero(BATCH_OFFSET, end);
    if (last >= 0 && !stray) {
      let first = BATCH_OFFSET;
      while (this.buf[first] === 0) first++;
      stray = `wrote at 0x${first.toString(16)}, ${this.whereIs(first, count)}`;
    }
    if (last >= 0) this.buf.fill(0, BATCH_OFFSET, last + 1);
    return stray;
  }

  /** A stricter rule for handlers that edit in place (fuzz's echo): nothing in a frame but its packet is written. */
  private pastPacket(frames: Uint8Array[]): string | undefined {
    for (let i = 0; i < frames.length; i++) {
      const [start, addr, len] = [this.frameStart(i), this.frameStart(i) + XDP_HEADROOM, frames[i]!.length];
      const end = start + this.frameSize;
      if (this.buf.compare(AROUND, 0, XDP_HEADROOM, start, addr) !== 0)
        return `frame ${i}: wrote in the headroom before its packet`;
      if (this.buf.compare(AROUND, 0, end - addr - len, addr + len, end) !== 0) {
        let at = addr + len;
        while (this.buf[at] === 0xa5) at++;
        return `frame ${i}: wrote at ${at - addr}, past its packet of ${len} bytes`;
      }
    }
    return undefined;
  }

  /** Everything outside the host's area and the handler's region that is not zero: a write found late. */
  farStray(): string | undefined {
    const last = this.lastNonZero(BATCH_OFFSET, HANDLER_BASE);
    if (last < 0) return undefined;
    this.buf.fill(0, BATCH_OFFSET, HANDLER_BASE);
    return `wrote at 0x${last.toString(16)}, in the UMEM far from any frame of its batch`;
  }

  private whereIs(at: number, count: number): string {
    if (at < UMEM_OFFSET) {
      const desc = Math.floor((at - BATCH_OFFSET) / DESC_SIZE);
      return `in descriptor ${desc}, past the ${count} of its batch`;
    }
    const frame = Math.floor((at - UMEM_OFFSET) / this.frameSize);
    const offset = (at - UMEM_OFFSET) % this.frameSize;
    const before = frame / 2 - 1; // frames are laid at odd slots: an even one follows frame before
    if (frame % 2 === 0 && frame > 0 && before < count) {
      return `${offset} bytes past the end of frame ${before}'s ${this.frameSize}-byte frame (outside its frame)`;
    }
    return `in the UMEM outside every frame of its batch (${count} frames)`;
  }

  /** A batch that grew the handler's region is run again: growing on every run is allocating per packet. */
  private growsOnRepeat(frames: Uint8Array[]): string | undefined {
    if (!this.grew()) return undefined;
    const from = this.highWater;
    for (let n = 0; n < REPEATS; n++) {
      const t = this.runOnce(frames);
      this.cleanUp(frames.length);
      if (t instanceof Error || !this.grew()) return undefined;
    }
    return (
      `the same batch of ${frames.length} frame${frames.length > 1 ? 's' : ''}, run ${REPEATS} more times, ` +
      `wrote ${this.highWater - from} more bytes of its region each time ` +
      `(now up to HANDLER_BASE + 0x${(this.highWater - HANDLER_BASE).toString(16)})`
    );
  }

  /** Whether the handler wrote above its highest written byte so far (looked for in windows above it). */
  private grew(): boolean {
    const before = this.highWater;
    const top = HANDLER_BASE + HANDLER_REGION_SIZE;
    for (;;) {
      const end = Math.min(this.highWater + WINDOW, top);
      const last = this.lastNonZero(this.highWater, end);
      if (last < 0) break;
      this.highWater = last + 1;
    }
    return this.highWater > before;
  }

  /** The last nonzero byte in [from, to), or -1; memcmp against zeros, a megabyte at a time. */
  private lastNonZero(from: number, to: number): number {
    for (let end = to; end > from; end -= ZERO.length) {
      const start = Math.max(from, end - ZERO.length);
      if (this.buf.compare(ZERO, 0, end - start, start, end) === 0) continue;
      let at = end - 1;
      while (this.buf[at] === 0) at--;
      return at;
    }
    return -1;
  }

  private compare(frames: Uint8Array[], sent: (Uint8Array | null)[], reference: Reference): string | undefined {
    for (let i = 0; i < frames.length; i++) {
      const want = reference(frames[i]!, this.config) ?? null;
      const got = sent[i] ?? null;
      if (want === null && got === null) continue;
      if (want === null) return `frame ${i}: sent ${got!.length} bytes where the reference drops`;
      if (got === null) return `frame ${i}: dropped where the reference sends ${want.length} bytes`;
      if (Buffer.compare(want, got) !== 0) return `frame ${i}: ${describeDifference(want, got)}`;
    }
    return undefined;
  }

  /** The handler's region bytes written so far, above its base (its footprint). */
  get footprint(): number {
    return this.highWater - HANDLER_BASE;
  }
}

function describeDifference(want: Uint8Array, got: Uint8Array): string {
  if (want.length !== got.length) return `sent ${got.length} bytes where the reference sends ${want.length}`;
  const at = want.findIndex((b, i) => b !== got[i]);
  return `reply differs from the reference at byte ${at} (0x${got[at]!.toString(16)}, expected 0x${want[at]!.toString(16)})`;
}

function hostPart(at: number): string {
  if (at < COUNTERS_OFFSET) return 'control words';
  if (at < HANDLER_CONFIG_OFFSET) return 'counters';
  return 'config block';
}
