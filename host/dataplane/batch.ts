// A batch of descriptors in a port's wasm memory (asm/CONTRACT.md), read and written by field name.
// Everything in the host that touches a descriptor goes through here.
import { BATCH_OFFSET, DESC, DESC_SIZE, MAX_BATCH, TX_MIN_LEN, VERDICT } from './layout.js';

export type DescField = keyof typeof DESC;

const WORDS_PER_DESC = DESC_SIZE / 4;

export class Batch {
  private readonly words: Uint32Array;

  constructor(memory: WebAssembly.Memory) {
    this.words = new Uint32Array(memory.buffer, BATCH_OFFSET, MAX_BATCH * WORDS_PER_DESC);
  }

  get(i: number, field: DescField): number {
    return this.words[i * WORDS_PER_DESC + DESC[field] / 4]!;
  }

  set(i: number, field: DescField, value: number): void {
    this.words[i * WORDS_PER_DESC + DESC[field] / 4] = value;
  }

  /** Fills descriptor i the way the shim hands a received packet over: len bytes at addr, verdict DROP. */
  lay(i: number, addr: number, len: number, queue = 0): void {
    this.set(i, 'addr', addr);
    this.set(i, 'len', len);
    this.set(i, 'verdict', VERDICT.drop);
    this.set(i, 'queue', queue);
  }

  /** Sets the first count descriptors to DROP: their frames go back to the kernel for RX. */
  dropAll(count: number): void {
    for (let i = 0; i < count; i++) this.set(i, 'verdict', VERDICT.drop);
  }
}

/**
 * Whether the shim honours a TX verdict (shim/port.cc, tx_ok): at least TX_MIN_LEN bytes, wholly
 * inside the frame the packet arrived in.
 */
export function txAllowed(addr: number, len: number, frameStart: number, frameSize: number): boolean {
  return len >= TX_MIN_LEN && addr >= frameStart && addr + len <= frameStart + frameSize;
}
