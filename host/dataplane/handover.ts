// A swap, with or without state (asm/CONTRACT.md, *Swaps*): the old handler's
// blob, if it offers one, is copied to the hand-over area; the new handler is
// instantiated on a fresh region and given the copy through state_restore. If
// the new one fails (in _start, init or state_restore), the old region comes
// back as it was and the old instance goes on serving: its globals live in the
// instance, the rest of its state in the region.
//
// The region is kept by moving its pages aside (the shim's mremap), not by
// copying: a copy of the 16 MiB region took 3-4 ms, all of it a pause in the
// data path; the move takes tens of microseconds.
import { type Handler, type HandlerInstance, instantiate } from './handler.js';
import { HANDLER_BASE, HANDLER_REGION_SIZE, STATE_HANDOVER_OFFSET, STATE_MAX_LEN } from './layout.js';
import type { Shim } from './shim.js';

/** Keeps a memory's handler region while a new handler is tried. */
export interface RegionKeeper {
  /** Moves the region's bytes aside; the region then reads as zeros. Returns a name for them. */
  setAside(memory: Uint8Array): number;
  /** The bytes set aside replace the region's. */
  putBack(aside: number, memory: Uint8Array): void;
  /** The bytes set aside are not needed any more. */
  dropAside(aside: number): void;
  /** The hand-over area reads as zeros again, and holds no memory. */
  clearHandover(memory: Uint8Array): void;
}

export function shimKeeper(shim: Shim): RegionKeeper {
  return {
    setAside: (memory) => shim.setAside(memory, HANDLER_BASE, HANDLER_REGION_SIZE),
    putBack: (aside, memory) => shim.putBack(aside, memory, HANDLER_BASE),
    dropAside: (aside) => shim.dropAside(aside),
    clearHandover: (memory) => shim.discard(memory, STATE_HANDOVER_OFFSET, STATE_MAX_LEN),
  };
}

/** One queue's memory and the handler instance serving it. */
export interface Seat {
  memory: WebAssembly.Memory;
  instance: HandlerInstance;
}

/** Where an old instance's state blob lies, inside its region. */
export interface Blob {
  ptr: number;
  len: number;
}

/** What one worker's swap did with the state: bytes handed over, or why the new handler started fresh. */
export type Handover = { bytes: number } | { fresh: string };

const describe = (h: Handler) => `${h.path} (${h.hash})`;
const messageOf = (err: unknown) => String((err as Error)?.message ?? err);

/** The blob each old instance offers, or why the new handler starts fresh. */
export function offeredState(seats: Seat[], old: Handler, next: Handler): Blob[] | string {
  const lacks: string[] = [];
  if (!old.keepsState) lacks.push(`the old handler ${describe(old)} exports no state_ptr/state_len`);
  if (!next.restoresState) lacks.push(`the new one ${describe(next)} exports no state_restore`);
  if (lacks.length > 0) return lacks.join(', and ');
  const blobs: Blob[] = [];
  for (const seat of seats) {
    const blob = blobOf(seat.instance);
    if (typeof blob === 'string') return `the old handler ${describe(old)} ${blob}`;
    blobs.push(blob);
  }
  return blobs;
}

function blobOf(instance: HandlerInstance): Blob | string {
  const ex = instance.exports as Record<string, () => number>;
  let ptr: number;
  let len: number;
  try {
    ptr = ex.state_ptr!() >>> 0;
    len = ex.state_len!() >>> 0;
  } catch (err) {
    return `trapped in state_ptr/state_len (${messageOf(err)})`;
  }
  if (len > STATE_MAX_LEN) return `gives ${len} bytes of state, over the limit of ${STATE_MAX_LEN}`;
  if (ptr < HANDLER_BASE || ptr + len > HANDLER_BASE + HANDLER_REGION_SIZE) {
    return `gives a state blob at 0x${ptr.toString(16)} (${len} bytes), outside its region`;
  }
  return { ptr, len };
}

const FAILED = {
  setAside: 'could not be tried: the old region was not set aside',
  start: 'failed to start',
  state_restore: 'trapped in state_restore',
};

/**
 * Instantiates next on every seat, on a fresh region, handing each its blob (none: next starts
 * fresh). Returns the new instances, or why the swap is refused: then every region is as it
 * was, and the seats' old instances serve on.
 */
export function handOver(
  seats: Seat[],
  next: Handler,
  blobs: Blob[] | undefined,
  keeper: RegionKeeper,
): HandlerInstance[] | string {
  const asides: number[] = [];
  const instances: HandlerInstance[] = [];
  const views = seats.map((seat) => new Uint8Array(seat.memory.buffer));
  let stage: keyof typeof FAILED = 'setAside';
  try {
    seats.forEach((seat, i) => {
      const blob = blobs?.[i];
      if (blob) views[i]!.copyWithin(STATE_HANDOVER_OFFSET, blob.ptr, blob.ptr + blob.len);
      stage = 'setAside';
      asides.push(keeper.setAside(views[i]!));
      stage = 'start';
      const instance = instantiate(next, seat.memory);
      stage = 'state_restore';
      if (blob) (instance.exports.state_restore as (ptr: number, len: number) => void)(STATE_HANDOVER_OFFSET, blob.len);
      instances.push(instance);
    });
  } catch (err) {
    asides.forEach((aside, i) => {
      keeper.putBack(aside, views[i]!);
    });
    return `the new handler ${describe(next)} ${FAILED[stage]} (${messageOf(err)})`;
  } finally {
    if (blobs) for (const view of views) keeper.clearHandover(view);
  }
  for (const aside of asides) keeper.dropAside(aside);
  return instances;
}

/** The swap message's part on state, for the outcomes of every worker (in queue order). */
export function describeHandover(outcomes: { queues: number[]; handover: Handover }[]): string {
  const texts = outcomes.map(({ handover }) =>
    'bytes' in handover ? 'state handed over' : `started fresh: ${handover.fresh}`,
  );
  if (texts.every((t) => t === texts[0])) {
    if (!('bytes' in outcomes[0]!.handover)) return texts[0]!;
    const bytes = outcomes.reduce((sum, { handover }) => sum + ('bytes' in handover ? handover.bytes : 0), 0);
    return `state handed over (${bytes} bytes)`;
  }
  return outcomes
    .map(({ queues, handover }, i) => {
      const text = 'bytes' in handover ? `state handed over (${handover.bytes} bytes)` : texts[i];
      return `queue${queues.length > 1 ? 's' : ''} ${queues.join(',')}: ${text}`;
    })
    .join('; ');
}
