// What check asks of every handler, apart from the harness that checks it: the CLI's --help lists
// these, and loading the harness (its scratch buffers) is left to the runs that need it.
import type { InterfaceConfig } from '../../dataplane/iface-config.js';

/** An input slower than this per packet fails: echo takes well under a microsecond. */
export const SLOW_US = 100;

/** What each property asks of a handler (check --help lists them). */
export const PROPERTIES = {
  'no-trap': 'it never traps',
  'writes-inside': 'it writes only inside its batch descriptors, their frames and its own region',
  'valid-verdicts': 'every verdict is DROP or a TX of at least 14 bytes inside its own frame',
  'no-allocation': 'what it writes in its own region stops growing (no allocation per packet)',
  'time-per-packet': `no input takes over ${SLOW_US} us per packet`,
  'matches-reference': 'it sends exactly what the reference model sends, byte for byte',
} as const;
export type Property = keyof typeof PROPERTIES;

export interface Failure {
  property: Property;
  message: string;
}

/** A reference model: the frame a handler should send for a received one, or null for a drop. */
export type Reference = (frame: Uint8Array, config: InterfaceConfig) => Uint8Array | null | undefined;
