// afxdp-wasm replay: run a handler over every frame of a capture and write
// what it would transmit. No NIC, no root.
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { loadHandler } from '../dataplane/handler.js';
import { addressBytes, macBytes } from '../lib/addr.js';
import { UserError } from '../lib/errors.js';
import { type Capture, readCapture, writePcap } from '../offline/pcap.js';
import { OfflineRunner } from '../offline/runner.js';
import { type Values, command, flag, integer, list, optional, text, value } from './table.js';

const SYNOPSIS =
  'usage: npm run replay -- --handler <file.wasm> <in.pcap|in.pcapng> <out.pcap> [options]  ' +
  '(or afxdp-wasm replay)';

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
};

export const replayCommand = command({
  summary: 'run a handler over a capture and write what it would send (no NIC, no root)',
  prog: 'replay',
  synopsis: SYNOPSIS,
  about: 'Run a handler over every frame of a capture (pcap or pcapng) and write what it would transmit.',
  options: REPLAY_OPTIONS,
  positionals: true,
  run: replay,
});

function replay(values: Values<typeof REPLAY_OPTIONS>, positionals: string[]): void {
  const [input, output] = positionals;
  if (!values.handler || !input || !output || positionals.length > 2) throw new UserError(SYNOPSIS);
  const handler = loadHandler(values.handler);
  const frames = readInput(input, values['allow-truncated']);
  const runner = new OfflineRunner(handler, {
    mac: values.mac,
    ...addressBytes(values.addr),
    hopLimit: values['hop-limit'],
  });
  const sent: Uint8Array[] = [];
  const tally = { tx: 0, drop: 0, invalid: 0, trap: 0, tooBig: 0 };
  const room = runner.frameRoom;
  for (let i = 0; i < frames.length; i += 64) {
    const batch = frames.slice(i, i + 64).filter((f) => f.length <= room);
    tally.tooBig += Math.min(64, frames.length - i) - batch.length;
    for (const outcome of runner.run(batch)) {
      tally[outcome.verdict]++;
      if (outcome.verdict === 'tx') sent.push(outcome.bytes);
    }
  }
  writeOutput(output, writePcap(sent));
  const reasons = Object.entries(runner.reasons())
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  console.log(
    `${frames.length} frames in: ${tally.tx} transmitted (written to ${output}), ${tally.drop} dropped, ` +
      `${tally.invalid} refused verdicts, ${tally.trap} in trapped batches${tally.tooBig ? `, ${tally.tooBig} larger than a frame` : ''}`,
  );
  if (reasons) console.log(`handler's reasons: ${reasons}`);
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
