// The check itself: generated batches through a CheckHarness until a
// property fails (then fast-check shrinks the batch to the smallest that
// still fails) or the runs are done. Used by afxdp-wasm check, fuzz, and the
// check before a swap.
import fc from 'fast-check';
import type { Handler } from '../../dataplane/handler.js';
import type { InterfaceConfig } from '../../dataplane/iface-config.js';
import { XDP_HEADROOM } from '../../dataplane/layout.js';
import { OUR, batchArbitrary } from './frames.js';
import { CheckHarness } from './harness.js';
import { type Failure, NOTHING_RUN, type Reference } from './properties.js';
import type { CallWatch } from './watch.js';

/** The two configurations a handler is checked under: the interface's addresses known, and none known. */
export const CONFIGS: Record<string, InterfaceConfig> = {
  full: { mac: OUR.mac, ipv6: OUR.ipv6, ipv4: OUR.ipv4, hopLimit: 64 },
  bare: { mac: undefined, ipv6: undefined, ipv4: undefined, hopLimit: 200 },
};
type ConfigName = keyof typeof CONFIGS;

export interface CheckOptions {
  handler: Handler;
  /** How many batches. */
  runs: number;
  seed: number;
  /** UMEM frame sizes to check in (each batch picks one): 2048, 4096 or both. */
  frameSizes: readonly number[];
  corpus?: Uint8Array[];
  reference?: Reference;
  /** Frames from another generator than check's own (fuzz: echo requests, mostly answerable). */
  frames?: fc.Arbitrary<Uint8Array>;
  /** Also fail a write anywhere in a frame but its packet (fuzz: echo edits in place). */
  packetOnly?: boolean;
  /** Stop generating after this long (the check before a swap); what ran by then counts. */
  timeLimitMs?: number;
  /** Where each case and call is told, for a thread that ends the check if a call never returns. */
  watch?: CallWatch;
}

export interface CheckResult {
  batches: number;
  frames: number;
  seconds: number;
  /** Of the frames of a clean run, how many the handler sent (in differential mode: the reply path's share). */
  sent: number;
  perPacketUs: { median: number; p99: number; max: number };
  /** Bytes of its own region the handler has written, above HANDLER_BASE. */
  footprint: number;
  failure?: Failure & { batch: Uint8Array[]; config: ConfigName; frameSize: number };
}

interface Case {
  config: ConfigName;
  frameSize: number;
  batch: Uint8Array[];
}

/** How many batches pass between scans of the whole UMEM for writes far from any batch. */
const FAR_SCAN_EVERY = 2000;

/**
 * A harness per configuration and frame size, each with the handler started on it; or, where its
 * _start or init traps (as some do only on a configuration with addresses), the check's no-trap failure.
 */
function startHarnesses(opts: CheckOptions): { harnesses: Record<string, CheckHarness> } | { refused: CheckResult } {
  const harnesses: Record<string, CheckHarness> = {};
  for (const [config, iface] of Object.entries(CONFIGS))
    for (const frameSize of opts.frameSizes) {
      try {
        harnesses[`${config}/${frameSize}`] = new CheckHarness(opts.handler, iface, frameSize, opts.watch);
      } catch (err) {
        if (!(err instanceof WebAssembly.RuntimeError)) throw err;
        const message = `trapped in _start or init on the ${config} configuration: ${err.message}`;
        return {
          refused: {
            ...NOTHING_RUN,
            seconds: 0,
            failure: { property: 'no-trap', message, batch: [], config, frameSize },
          },
        };
      }
    }
  return { harnesses };
}

export function runCheck(opts: CheckOptions): CheckResult {
  const prepared = startHarnesses(opts);
  if ('refused' in prepared) return prepared.refused;
  const { harnesses } = prepared;
  const times: number[] = [];
  const counts = { batches: 0, frames: 0, sent: 0 };
  let failure: Failure | undefined;
  let sinceScan = 0;
  // A write found by a far scan cannot be pinned on a batch: from then on every batch is scanned.
  let scanEvery = FAR_SCAN_EVERY;
  const check = ({ config, frameSize, batch }: Case): Failure | undefined => {
    const harness = harnesses[`${config}/${frameSize}`]!;
    opts.watch?.record(config, frameSize, batch);
    const out = harness.check(batch, opts.reference, opts.packetOnly);
    if (++sinceScan >= scanEvery || out.failure) {
      sinceScan = 0;
      const far = harness.farStray();
      if (far && !out.failure) {
        scanEvery = 1;
        return { property: 'writes-inside', message: far };
      }
    }
    if (out.failure) return out.failure;
    times.push(out.perPacketUs);
    counts.batches++;
    counts.frames += batch.length;
    counts.sent += out.sent?.filter((s) => s !== null).length ?? 0;
    return undefined;
  };
  const configName = fc.constantFrom(...(Object.keys(CONFIGS) as ConfigName[]));
  const cases = fc.oneof(
    ...opts.frameSizes.map((size) => {
      const room = size - XDP_HEADROOM;
      const corpus = opts.corpus?.filter((f) => f.length <= room);
      return fc.record({
        config: configName,
        frameSize: fc.constant(size),
        batch: batchArbitrary(room, corpus, opts.frames),
      });
    }),
  );
  const property = fc.property(cases, (c) => {
    const found = check(c);
    if (found) failure = found;
    return found === undefined;
  });
  const started = performance.now();
  const out = fc.check(property, {
    numRuns: opts.runs,
    seed: opts.seed,
    interruptAfterTimeLimit: opts.timeLimitMs,
    markInterruptAsFailure: false,
  });
  const seconds = (performance.now() - started) / 1000;
  const footprint = Math.max(...Object.values(harnesses).map((h) => h.footprint));
  const result = { ...counts, seconds, perPacketUs: percentiles(times), footprint };
  if (!out.failed && !out.interrupted) {
    // The last scan: every write anywhere, by any batch of the run.
    const far = Object.values(harnesses)
      .map((h) => h.farStray())
      .find((s) => s);
    if (far)
      return {
        ...result,
        failure: { property: 'writes-inside', message: far, batch: [], config: 'full', frameSize: 0 },
      };
  }
  if (!out.failed || !failure) return result;
  const counterexample = out.counterexample![0] as Case;
  // The last failure seen belongs to the last case that failed: the shrunk counterexample.
  const found = { ...(failure as Failure), ...counterexample };
  return { ...result, failure: aloneIfItFails(found, harnesses[`${found.config}/${found.frameSize}`]!, opts) };
}

/**
 * Each frame alone, in turn, on one fresh instance: which of a batch a call never returned from is
 * found by the thread that watches (in-worker.ts), which ends this one there.
 */
export function runAlone(handler: Handler, config: string, frameSize: number, frames: Uint8Array[], watch: CallWatch) {
  const harness = new CheckHarness(handler, CONFIGS[config]!, frameSize, watch);
  for (const frame of frames) {
    watch.record(config, frameSize, [frame]);
    harness.check([frame]);
  }
}

/**
 * Shrinking keeps a batch of a frame's truncations whole: when one of its frames fails the same
 * property on its own, that frame alone is the smaller answer.
 */
function aloneIfItFails(found: NonNullable<CheckResult['failure']>, harness: CheckHarness, opts: CheckOptions) {
  if (found.batch.length === 1) return found;
  for (const frame of found.batch) {
    opts.watch?.record(found.config, found.frameSize, [frame]);
    const out = harness.check([frame], opts.reference, opts.packetOnly);
    if (out.failure?.property === found.property) return { ...found, ...out.failure, batch: [frame] };
  }
  return found;
}

function percentiles(samples: number[]): CheckResult['perPacketUs'] {
  if (samples.length === 0) return { median: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}
