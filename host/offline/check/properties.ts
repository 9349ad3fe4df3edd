// What check asks of every handler, apart from the harness that checks it: the CLI's --help lists
// these, and loading the harness (its scratch buffers) is left to the runs that need it.
import type { InterfaceConfig } from '../../dataplane/iface-config.js';

/** An input slower than this per packet fails: echo takes well under a microsecond. */
export const SLOW_US = 100;

/**
 * A call of process() still running after this long never returns, as far as check is concerned: a
 * batch of 256 frames at the time-per-packet bound takes 26 ms. The check before a swap has the same bound.
 */
export const RETURNS_WITHIN_MS = 5000;

/** What each property asks of a handler (check --help lists them). */
export const PROPERTIES = {
  'no-trap': 'it never traps, in process() nor in _start or init',
  'writes-inside': 'it writes only inside its batch descriptors, their frames and its own region',
  'valid-verdicts': 'every verdict is DROP or a TX of at least 14 bytes inside its own frame',
  'no-allocation': 'what it writes in its own region stops growing (no allocation per packet)',
  'time-per-packet': `no input takes over ${SLOW_US} us per packet`,
  returns: `every call of process() returns within ${RETURNS_WITHIN_MS / 1000} s (no endless loop)`,
  'matches-reference': 'it sends exactly what the reference model sends, byte for byte',
} as const;
export type Property = keyof typeof PROPERTIES;

/** The figures of a check that ran no batch, or whose thread, which had them, is gone. */
export const NOTHING_RUN = { batches: 0, frames: 0, sent: 0, perPacketUs: { median: 0, p99: 0, max: 0 }, footprint: 0 };

export interface Failure {
  property: Property;
  message: string;
}

/** A reference model: the frame a handler should send for a received one, or null for a drop. */
export type Reference = (frame: Uint8Array, config: InterfaceConfig) => Uint8Array | null | undefined;
