// afxdp-wasm check <handler.wasm>: fuzz any handler against the contract's
// properties offline (no NIC, no root), or against a reference model
// (--reference). Exit 0 when all holds, 1 when a property fails (the shrunk
// batch is written as a pcap for replay), 2 for a usage error.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadHandlerInThread } from '../dataplane/handler.js';
import { FRAME_SIZES, XDP_HEADROOM } from '../dataplane/layout.js';
import { UserError, isArgumentError } from '../lib/errors.js';
import { checkInWorker } from '../offline/check/in-worker.js';
import { PROPERTIES } from '../offline/check/properties.js';
import type { CheckResult } from '../offline/check/run.js';
import { readCapture, writeFailure } from '../offline/pcap.js';
import { frameSize } from './options.js';
import { type Command, command, flag, integer, optional, text, value } from './table.js';

const SYNOPSIS = 'usage: afxdp-wasm check <handler.wasm> [options]';

export const CHECK_OPTIONS = {
  runs: value('n', 'how many batches (1 to 256 frames each)', '2000', integer(1, Number.MAX_SAFE_INTEGER)),
  seed: optional('s', 'the seed, to repeat a run (default: from the clock)', integer(0, 2 ** 31 - 1)),
  'frame-size': optional('n', 'check in UMEM frames of this size only: 2048 or 4096 (default: both)', frameSize),
  corpus: optional(
    'file|dir',
    'also start from the frames of this capture (pcap or pcapng), or of every one in the folder',
    text,
  ),
  reference: optional(
    'model.js',
    'differential mode: an ES module whose default export (or export named\n' +
      '`reference`) maps (frame, config) to the frame to send, or null to drop',
    text,
  ),
  out: optional('file.pcap', 'where a failing batch goes (default: check-failures/<handler>-seed<S>.pcap)', text),
  json: flag('one JSON object with the result instead of text'),
};

const inner = command({
  summary: 'fuzz any handler against the contract: traps, stray writes, verdicts, allocation, time',
  prog: 'check',
  synopsis: SYNOPSIS,
  about:
    'Feed a handler generated batches (Ethernet, VLAN, ARP, IPv4, IPv6 with extension headers,\n' +
    'ICMP, ICMPv6, UDP, TCP, random bytes, every truncation) and hold it to the contract\n' +
    '(asm/CONTRACT.md). Exit 0 when all holds, 1 when a property fails, 2 for a usage error.',
  options: CHECK_OPTIONS,
  positionals: true,
  notes: [
    'Properties (matches-reference only with --reference):',
    ...Object.entries(PROPERTIES).map(([name, what]) => `  ${name.padEnd(18)} ${what}`),
    'A failure is shrunk to the smallest batch that fails and written as a pcap:',
    'afxdp-wasm replay --handler <handler.wasm> --frame-size <its size> <that.pcap> out.pcap runs it again.',
  ].join('\n'),
  run: async (values, positionals) => {
    const [file, ...extra] = positionals;
    if (!file || extra.length) throw new UserError(SYNOPSIS);
    // Probed in a thread of its own, watched too: a _start or init that never returns is refused.
    const handler = await loadHandlerInThread(resolve(file));
    const seed = values.seed ?? Date.now() % 2 ** 31;
    const frameSizes = values['frame-size'] ? [values['frame-size']] : FRAME_SIZES;
    const corpus = values.corpus ? readCorpus(values.corpus, Math.max(...frameSizes) - XDP_HEADROOM) : [];
    // In a worker thread, watched: a handler that never returns ends the check instead of hanging it.
    const job = { handler, runs: values.runs, seed, frameSizes, corpus, reference: values.reference };
    const result = await checkInWorker(job, { findFrame: true });
    const out = values.out ?? join('check-failures', `${basename(file, '.wasm')}-seed${seed}.pcap`);
    const written = result.failure?.batch.length ? writeFailure(out, result.failure.batch) : undefined;
    const sizeOption = values['frame-size'] ? ` --frame-size ${values['frame-size']}` : '';
    const again = `afxdp-wasm check ${file} --seed ${seed} --runs ${values.runs}${sizeOption}`;
    if (values.json) console.log(JSON.stringify(jsonOf(result, file, seed, written)));
    else report(result, file, seed, written, again);
    if (result.failure) process.exitCode = 1;
  },
});

/** Usage errors exit 2 here (1 means a property failed). */
export const checkCommand: Command = {
  ...inner,
  main: async (argv) => {
    try {
      await inner.main(argv);
    } catch (err) {
      if (!(err instanceof UserError) && !isArgumentError(err)) throw err;
      console.error(`check: ${(err as Error).message}`);
      process.exitCode = 2;
    }
  },
};

function report(r: CheckResult, file: string, seed: number, written: string | undefined, again: string): void {
  const t = r.perPacketUs;
  // A handler that trapped in _start or init ran no batch: the failure alone says it.
  if (r.frames > 0 || !r.failure)
    console.log(
      `${file}: ${r.batches} batches, ${r.frames} frames in ${r.seconds.toFixed(1)} s (${framesPerSecond(r)} frames/s), ` +
        `seed ${seed}; ${r.sent} sent`,
    );
  // A check ended from outside (a call that never returned) has no figures: its thread had them.
  if (t.max > 0)
    console.log(
      `time per packet: median ${us(t.median)}, p99 ${us(t.p99)}, max ${us(t.max)}; ` +
        `own region written: ${r.footprint} bytes`,
    );
  if (!r.failure) return void console.log('all properties hold');
  const f = r.failure;
  console.error(`FAILED ${f.property}: ${f.message}`);
  if (f.batch.length) {
    const which = f.property !== 'returns' ? 'smallest failing batch' : 'never returned from';
    console.error(
      `${which}: ${f.batch.length} frame${f.batch.length > 1 ? 's' : ''} ` +
        `(config ${f.config}, ${f.frameSize}-byte frames)`,
    );
    for (const frame of f.batch.slice(0, 4)) console.error(`  ${Buffer.from(frame).toString('hex')}`);
  }
  if (written && f.property === 'returns') {
    // replay runs the handler in its own thread, unwatched: it would not return either.
    console.error(`written to ${written}; check again: ${again}`);
  } else if (written) {
    const replay = `afxdp-wasm replay --handler ${file} --frame-size ${r.failure!.frameSize} ${written} out.pcap`;
    console.error(`written to ${written}; replay it: ${replay}; check again: ${again}`);
  }
}

const framesPerSecond = (r: CheckResult) => (r.seconds > 0 ? Math.round(r.frames / r.seconds) : 0);
const us = (v: number) => (v < 1 ? `${(v * 1000).toFixed(0)} ns` : `${v.toFixed(1)} us`);

function jsonOf(r: CheckResult, file: string, seed: number, written: string | undefined) {
  const { failure, ...rest } = r;
  return {
    handler: file,
    seed,
    ok: !failure,
    ...rest,
    framesPerSecond: framesPerSecond(r),
    failure: failure && {
      property: failure.property,
      message: failure.message,
      config: failure.config,
      frameSize: failure.frameSize,
      frames: failure.batch.map((f) => Buffer.from(f).toString('hex')),
      pcap: written,
    },
  };
}

/** The frames of a capture, or of every capture in a folder, that fit a frame. */
function readCorpus(path: string, room: number): Uint8Array[] {
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => /\.(pcap|pcapng|cap)$/.test(f))
          .map((f) => join(path, f))
      : [path];
  } catch (err) {
    throw new UserError(
      `--corpus ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`,
    );
  }
  const frames = files.flatMap((f) => readCapture(readFileSync(f), f).frames).filter((f) => f.length <= room);
  if (frames.length === 0) throw new UserError(`--corpus ${path} holds no Ethernet frame of at most ${room} bytes`);
  return frames;
}
