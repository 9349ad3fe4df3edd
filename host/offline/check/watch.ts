// How check sees a handler that never returns: the thread that runs the check counts each call of
// process() in and out on shared memory, and writes down each case before it runs; the thread
// that started it reads that count, and when one call has gone on past the bound, ends the check
// and takes the case it was in from what was written down.
import { FRAME_SIZES, MAX_BATCH, XDP_HEADROOM } from '../../dataplane/layout.js';

/** One frame's room at most: the largest UMEM frame less its headroom. */
const ROOM = Math.max(...FRAME_SIZES) - XDP_HEADROOM;
/** Int32 words before the lengths: calls, frame size, frame count, cases, frames, then the config's name. */
const HEAD = 5;
const NAME_BYTES = 16;
const LENGTHS = HEAD + NAME_BYTES / 4;
const BYTES_AT = (LENGTHS + MAX_BATCH) * 4;

/** The shared memory a watch lives in: pages not written are never touched. */
export const newWatchMemory = (): SharedArrayBuffer => new SharedArrayBuffer(BYTES_AT + MAX_BATCH * ROOM);

/** The check's side: cheap enough for every call (two atomic adds; a copy of each case's frames). */
export class CallWatch {
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(shared: SharedArrayBuffer) {
    this.words = new Int32Array(shared);
    this.bytes = new Uint8Array(shared);
  }

  /** The case about to run, written where the watching thread can read it if a call never returns. */
  record(config: string, frameSize: number, batch: Uint8Array[]): void {
    const w = this.words;
    w[3]!++;
    w[4]! += batch.length;
    [w[1], w[2]] = [frameSize, batch.length];
    this.bytes.fill(0, HEAD * 4, LENGTHS * 4);
    this.bytes.set(Buffer.from(config).subarray(0, NAME_BYTES), HEAD * 4);
    let at = BYTES_AT;
    batch.forEach((frame, i) => {
      w[LENGTHS + i] = frame.length;
      this.bytes.set(frame, at);
      at += frame.length;
    });
  }

  /** Odd while inside process(), even outside it. */
  entering(): void {
    Atomics.add(this.words, 0, 1);
  }

  returned(): void {
    Atomics.add(this.words, 0, 1);
  }
}

/** The case a call never returned from, and how many cases and frames ran before it. */
export interface StuckCase {
  config: string;
  frameSize: number;
  batch: Uint8Array[];
  casesBefore: number;
  framesBefore: number;
}

/** The watching side: calls stuck() once some call has gone on for boundMs; returns what stops watching. */
export function watchCalls(shared: SharedArrayBuffer, boundMs: number, stuck: (c: StuckCase) => void): () => void {
  const words = new Int32Array(shared);
  let seen = 0;
  let since = performance.now();
  const timer = setInterval(
    () => {
      const calls = Atomics.load(words, 0);
      if (calls !== seen) [seen, since] = [calls, performance.now()];
      else if (calls % 2 === 1 && performance.now() - since >= boundMs) {
        clearInterval(timer);
        stuck(readCase(shared));
      }
    },
    Math.min(100, boundMs / 10),
  );
  return () => clearInterval(timer);
}

function readCase(shared: SharedArrayBuffer): StuckCase {
  const words = new Int32Array(shared);
  const bytes = new Uint8Array(shared);
  const name = Buffer.from(bytes.subarray(HEAD * 4, LENGTHS * 4));
  const count = words[2]!;
  const batch: Uint8Array[] = [];
  for (let i = 0, at = BYTES_AT; i < count; at += words[LENGTHS + i]!, i++)
    batch.push(bytes.slice(at, at + words[LENGTHS + i]!));
  return {
    config: name.subarray(0, name.indexOf(0) < 0 ? NAME_BYTES : name.indexOf(0)).toString(),
    frameSize: words[1]!,
    batch,
    casesBefore: words[3]! - 1,
    framesBefore: words[4]! - count,
  };
}
