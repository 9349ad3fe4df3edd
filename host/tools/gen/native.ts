// The load generator's native addon (shim/gen/), typed. Loaded by path: esbuild leaves it alone.
import { createRequire } from 'node:module';
import { addonFile } from '../../lib/paths.js';

/** The sink's round-trip histogram, summed over CPUs: bucket upper bounds (percentiles 0 without samples). */
export interface LatencyNs {
  samples: number;
  p50Ns: number;
  p90Ns: number;
  p99Ns: number;
  p999Ns: number;
  maxNs: number;
}

/** How the paced sender kept to its schedule. */
export interface Pace {
  sent: number;
  /** Frames the schedule wanted that were given up after a stall. */
  skipped: number;
  /** Times it found itself further behind than it may catch up. */
  stalls: number;
  /** Frames: the furthest behind its schedule it was. */
  worstLag: number;
}

export interface GenNative {
  /** Loads xdp_gen.o (its transmit program, sink and maps). */
  open(objPath: string): void;
  /** Flat out: the kernel transmits the frame `repeat` times, each stamped; blocks meanwhile. */
  run(ifname: string, frame: Uint8Array, repeat: number, batch: number): void;
  sink(ifname: string, attach: boolean): boolean;
  /** Zeroes the sink's counters and histogram. */
  reset(): void;
  counts(): { replies: number; other: number };
  latency(): LatencyNs;
  /** The paced sender: a transmit-only AF_XDP socket on the queue, every frame the request. */
  txOpen(ifname: string, queue: number, frame: Uint8Array): void;
  /**
   * Sends `rate` stamped frames a second for `seconds`; blocks meanwhile. Held off its CPU, it
   * catches up at most maxLag frames (0: all of them) and gives up the rest.
   */
  txPaced(rate: number, seconds: number, maxLag: number): Pace;
  txClose(): void;
}

export const GEN_ADDON_PATH = addonFile('shim/gen', 'afxdp_gen');

let native: GenNative | undefined;
export function loadGenNative(): GenNative {
  native ??= createRequire(import.meta.url)(GEN_ADDON_PATH) as GenNative;
  return native;
}
