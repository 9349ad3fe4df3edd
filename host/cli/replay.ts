// afxdp-wasm replay: run a handler over every frame of a capture and write
// what it would transmit, or compare it with a golden capture. No NIC, no root.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { loadHandler } from '../dataplane/handler.js';
import { addressBytes, macBytes } from '../lib/addr.js';
import { UserError } from '../lib/errors.js';
import { differenceLines, firstDifference } from '../offline/golden.js';
import { type Capture, readCapture, writePcap } from '../offline/pcap.js';
import { OfflineRunner } from '../offline/runner.js';
import { type Values, command, flag, integer, list, optional, text, value } from './table.js';

const SYNOPSIS =
  'usage: npm run replay -- --handler <file.wasm> <in.pcap|in.pcapng> <out.pcap> [options]  ' +
  '(or afxdp-wasm replay; with --expect golden.pcap, out.pcap may be left out)';

const address = (raw: string): string => {
  if (!isIP(raw)) throw new UserError(`--addr '${raw}' is not an IPv6 or IPv4 address`);
  return raw;
};

const REPLAY_OPTIONS = {
  handler: optional('file.wasm', 'the handler to run (required)', text),
  addr: list('address', "the interface's IPv6 or IPv4 address the handler is given (may be given twice)", address),
  mac: optional('mac', "the interface's MAC the handler is given", macBytes),
  'hop-limit': value('n', 'hop limit / TTL the handler is given', '64', integer(1, 255)),
  'allow-truncated': flag('replay the complete frames of a capture cut short'),
  expect: optional(
    'golden.pcap',
    "compare what it sends with this capture, frame by frame; exit 1 at\nthe first difference, shown decoded (ours, and tshark's if installed)",
    text,
  ),
  update: flag('with --expect: write what it sends to the golden file instead'),
};

export const replayCommand = command({
  summary: 'run a handler over a capture and write what it would send (no NIC, no root)',
  prog: 'replay',
  synopsis: SYNOPSIS,
  about:
    'Run a handler over every frame of a capture (pcap or pcapng) and write what it would transmit,\n' +
    'or check it against a golden capture of what it should transmit (--expect).',
  options: REPLAY_OPTIONS,
  positionals: true,
  run: replay,
});

type ReplayValues = Values<typeof REPLAY_OPTIONS>;

function replay(values: ReplayValues, positionals: string[]): void {
  const [input, output] = positionals;
  const outputOk = values.expect !== undefined || output !== undefined;
  if (!values.handler || !input || !outputOk || positionals.length > 2) throw new UserError(SYNOPSIS);
  if (values.update && values.expect === undefined) throw new UserError('--update needs --expect <golden.pcap>');
  const frames = readInput(input, values['allow-truncated']);
  const { sent, sentFrom, tally, reasons } = runHandler(values, frames);
  if (output) writeOutput(output, writePcap(sent));
  const where = output ? ` (written to ${output})` : '';
  console.log(
    `${frames.length} frames in: ${tally.tx} transmitted${where}, ${tally.drop} dropped, ` +
      `${tally.invalid} refused verdicts, ${tally.trap} in trapped batches${tally.tooBig ? `, ${tally.tooBig} larger than a frame` : ''}`,
  );
  if (reasons) console.log(`handler's reasons: ${reasons}`);
  if (values.expect !== undefined) compareGolden(values.expect, values.update, sent, sentFrom);
}

/** Runs the handler over the frames, 64 to a batch; what it sent, and for each the input frame it answered. */
function runHandler(values: ReplayValues, frames: Uint8Array[]) {
  const runner = new OfflineRunner(loadHandler(values.handler!), {
    mac: values.mac,
    ...addressBytes(values.addr),
    hopLimit: values['hop-limit'],
  });
  const sent: Uint8Array[] = [];
  const sentFrom: number[] = [];
  const tally = { tx: 0, drop: 0, invalid: 0, trap: 0, tooBig: 0 };
  const room = runner.frameRoom;
  for (let i = 0; i < frames.length; i += 64) {
    const indices = frames
      .slice(i, i + 64)
      .map((f, k) => (f.length <= room ? i + k : -1))
      .filter((k) => k >= 0);
    tally.tooBig += Math.min(64, frames.length - i) - indices.length;
    runner.run(indices.map((k) => frames[k]!)).forEach((outcome, k) => {
      tally[outcome.verdict]++;
      if (outcome.verdict !== 'tx') return;
      sent.push(outcome.bytes);
      sentFrom.push(indices[k]!);
    });
  }
  const reasons = Object.entries(runner.reasons())
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return { sent, sentFrom, tally, reasons };
}

/** --expect: equal, or exit code 1 and the first difference shown; --update writes the golden file. */
function compareGolden(golden: string, update: boolean, sent: Uint8Array[], sentFrom: number[]): void {
  if (update) {
    writeOutput(golden, writePcap(sent));
    console.log(`Updated ${golden}: ${sent.length} frames.`);
    return;
  }
  if (!existsSync(golden)) throw new UserError(`${golden}: no such file; --update writes it from this run`);
  const expected = readInput(golden, false);
  const diff = firstDifference(expected, sent);
  if (!diff) {
    console.log(`Same as ${golden}: ${sent.length} frames.`);
    return;
  }
  for (const line of differenceLines(diff, golden, sentFrom)) console.error(line);
  console.error(`replay --expect: differs from ${golden}; --update rewrites it if the new replies are right`);
  process.exitCode = 1;
}

/** The capture's complete frames; a capture cut short is refused unless the user allows it. */
function readInput(input: string, allowTruncated: boolean): Uint8Array[] {
  let capture: Capture;
  try {
    capture = readCapture(readFileSync(input), input);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read ${input}: ${(err as Error).message}`);
  }
  const { frames, cut, outbound } = capture;
  if (outbound) console.error(`replay: ${outbound} frames the capture marks outbound (sent) are left out`);
  if (cut && !allowTruncated) {
    throw new UserError(`${cut}; --allow-truncated replays its ${frames.length} complete frames`);
  }
  if (cut) console.error(`replay: warning: ${cut}; replaying its ${frames.length} complete frames`);
  return frames;
}

function writeOutput(output: string, bytes: Buffer): void {
  try {
    writeFileSync(output, bytes);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const folder = dirname(resolve(output));
    if (code === 'ENOENT') throw new UserError(`cannot write ${output}: the folder ${folder} does not exist`);
    if (code === 'EISDIR') throw new UserError(`cannot write ${output}: it is a folder; name a file for the replies`);
    throw new UserError(`cannot write ${output}: ${(err as Error).message}`);
  }
}
