// Runs a handler without a NIC or root: frames are laid into wasm memory the
// way the kernel lays them (one per UMEM frame, after 256 bytes of headroom),
// and verdicts are checked the way the shim checks them (shim/port.cc).
import { type Handler, type HandlerInstance, instantiate, readCounters } from '../dataplane/handler.js';
import { type InterfaceConfig, writeInterfaceConfig } from '../dataplane/iface-config.js';
import { BATCH_OFFSET, DESC_SIZE, MAX_BATCH, UMEM_OFFSET, newMemory } from '../dataplane/layout.js';

export const XDP_HEADROOM = 256;

export type Outcome =
  | { verdict: 'tx'; bytes: Uint8Array }
  | { verdict: 'drop' }
  | { verdict: 'invalid' } // a verdict the shim would refuse
  | { verdict: 'trap'; error: string };

export class OfflineRunner {
  readonly memory = newMemory();
  readonly instance: HandlerInstance;
  private readonly bytes: Uint8Array;
  private readonly words: Uint32Array;

  constructor(handler: Handler, config: Partial<InterfaceConfig> = {}, readonly frameSize = 2048) {
    writeInterfaceConfig(this.memory, { mac: undefined, ipv6: undefined, ipv4: undefined, hopLimit: 64, ...config });
    this.instance = instantiate(handler, this.memory);
    this.bytes = new Uint8Array(this.memory.buffer);
    this.words = new Uint32Array(this.memory.buffer);
  }

  frameStart(i: number): number {
    return UMEM_OFFSET + i * this.frameSize;
  }

  /** Lays the frames out as one batch, runs process(), and reads the verdicts. */
  run(frames: Uint8Array[]): Outcome[] {
    if (frames.length > MAX_BATCH) throw new Error(`at most ${MAX_BATCH} frames per batch`);
    const room = this.frameSize - XDP_HEADROOM;
    frames.forEach((frame, i) => {
      if (frame.length > room) throw new Error(`frame ${i} is ${frame.length} bytes; a ${this.frameSize}-byte frame holds ${room}`);
      const addr = this.frameStart(i) + XDP_HEADROOM;
      this.bytes.set(frame, addr);
      const d = (BATCH_OFFSET + i * DESC_SIZE) / 4;
      this.words[d] = addr;
      this.words[d + 1] = frame.length;
      this.words[d + 2] = 0;
      this.words[d + 3] = 0;
    });
    try {
      this.instance.process(BATCH_OFFSET, frames.length);
    } catch (err) {
      return frames.map(() => ({ verdict: 'trap', error: (err as Error).message }));
    }
    return frames.map((_, i) => this.outcome(i));
  }

  private outcome(i: number): Outcome {
    const d = (BATCH_OFFSET + i * DESC_SIZE) / 4;
    const [addr, len, verdict] = [this.words[d]!, this.words[d + 1]!, this.words[d + 2]!];
    if (verdict === 0) return { verdict: 'drop' };
    const start = this.frameStart(i);
    if (verdict !== 1 || len < 14 || addr < start || addr + len > start + this.frameSize) return { verdict: 'invalid' };
    return { verdict: 'tx', bytes: this.bytes.slice(addr, addr + len) };
  }

  reasons(): Record<string, number> {
    return readCounters(this.instance.counters, this.memory);
  }
}
