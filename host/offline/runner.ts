// Runs a handler without a NIC or root: frames are laid into wasm memory the
// way the kernel lays them (one per UMEM frame, after XDP_HEADROOM bytes),
// and verdicts are checked the way the shim checks them (shim/port.cc).
import { Batch, txAllowed } from '../dataplane/batch.js';
import { type Handler, type HandlerInstance, instantiate, readCounters } from '../dataplane/handler.js';
import { type InterfaceConfig, writeInterfaceConfig } from '../dataplane/iface-config.js';
import { BATCH_OFFSET, MAX_BATCH, UMEM_OFFSET, VERDICT, XDP_HEADROOM, newMemory } from '../dataplane/layout.js';

export type Outcome =
  | { verdict: 'tx'; bytes: Uint8Array }
  | { verdict: 'drop' }
  | { verdict: 'invalid' } // a verdict the shim would refuse
  | { verdict: 'trap'; error: string };

export class OfflineRunner {
  readonly memory = newMemory();
  readonly instance: HandlerInstance;
  private readonly bytes: Uint8Array;
  readonly batch: Batch;

  constructor(
    handler: Handler,
    config: Partial<InterfaceConfig> = {},
    readonly frameSize = 2048,
  ) {
    writeInterfaceConfig(this.memory, { mac: undefined, ipv6: undefined, ipv4: undefined, hopLimit: 64, ...config });
    this.instance = instantiate(handler, this.memory);
    this.bytes = new Uint8Array(this.memory.buffer);
    this.batch = new Batch(this.memory);
  }

  /** The most bytes a received packet can have: its frame less the headroom. */
  get frameRoom(): number {
    return this.frameSize - XDP_HEADROOM;
  }

  frameStart(i: number): number {
    return UMEM_OFFSET + i * this.frameSize;
  }

  /** Lays the frames out as one batch, runs process(), and reads the verdicts. */
  run(frames: Uint8Array[]): Outcome[] {
    if (frames.length > MAX_BATCH) throw new Error(`at most ${MAX_BATCH} frames per batch`);
    frames.forEach((frame, i) => {
      if (frame.length > this.frameRoom) {
        throw new Error(`frame ${i} is ${frame.length} bytes; a ${this.frameSize}-byte frame holds ${this.frameRoom}`);
      }
      const addr = this.frameStart(i) + XDP_HEADROOM;
      this.bytes.set(frame, addr);
      this.batch.lay(i, addr, frame.length);
    });
    try {
      this.instance.process(BATCH_OFFSET, frames.length);
    } catch (err) {
      return frames.map(() => ({ verdict: 'trap', error: (err as Error).message }));
    }
    return frames.map((_, i) => this.outcome(i));
  }

  private outcome(i: number): Outcome {
    const [addr, len, verdict] = [this.batch.get(i, 'addr'), this.batch.get(i, 'len'), this.batch.get(i, 'verdict')];
    if (verdict === VERDICT.drop) return { verdict: 'drop' };
    const allowed = verdict === VERDICT.tx && txAllowed(addr, len, this.frameStart(i), this.frameSize);
    if (!allowed) return { verdict: 'invalid' };
    return { verdict: 'tx', bytes: this.bytes.slice(addr, addr + len) };
  }

  reasons(): Record<string, number> {
    return readCounters(this.instance.counters, this.memory);
  }
}
