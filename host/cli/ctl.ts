// afxdp-wasm ctl <swap FILE | status | stats | capture FILE|->: talks to a running afxdp-wasm
// through its control socket.
import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { capture, findSocket, request } from '../control/client.js';
import { CAPTURE_BUFFER, COMMANDS, type CaptureRequest, type Request } from '../control/protocol.js';
import { UserError } from '../lib/errors.js';
import { BLOCK, DIRECTION, DIRECTION_MASK, EPB_FLAGS, ISB_DROPPED, optionOf } from '../offline/pcapng.js';
import { type Values, command, flag, integer, optional, seconds, text } from './table.js';

const SYNOPSIS =
  'usage: afxdp-wasm ctl <swap [--check] FILE.wasm | status | stats | capture FILE|-> [-d DEV | --socket PATH]\n' +
  '       afxdp-wasm ctl capture -d DEV [--queue Q] [--count N] [--seconds S] [--buffer KIB] FILE|-';

const OPTIONS = {
  dev: optional('ifname', 'the instance serving this interface (default: the only one running)', text, 'd'),
  socket: optional('path', 'this control socket instead', text),
  check: flag('swap: run afxdp-wasm check on the handler first (under 1 s); refuse it if it fails'),
  queue: optional('q', 'capture: only this RX queue (default: every served queue)', integer(0, 2 ** 31 - 1)),
  count: optional('n', 'capture: end after n frames received (with what was sent for them)', integer(1, 2 ** 31 - 1)),
  seconds: optional('s', 'capture: end after s seconds', seconds(0.001, 365 * 86400)),
  buffer: optional(
    'kib',
    `capture: KiB of ring per packet worker (default ${CAPTURE_BUFFER.default / 1024}); ` +
      'a frame that finds it full is counted as lost',
    integer(CAPTURE_BUFFER.min / 1024, CAPTURE_BUFFER.max / 1024),
  ),
};

export const ctlCommand = command({
  summary: 'swap the handler of a running afxdp-wasm, ask its status and stats, or capture what it handles',
  prog: 'afxdp-wasm',
  synopsis: SYNOPSIS,
  about: 'Talk to a running afxdp-wasm through its control socket.',
  options: OPTIONS,
  notes:
    'capture writes pcapng (FILE, or - for stdout): each frame the handler was given, as it came in, and each\n' +
    'it sent, with its direction (epb_flags), and a comment: queue, verdict, and the reason where the\n' +
    "handler's counters tell it. It ends with --count, --seconds or Ctrl-C; the file is complete either way.",
  positionals: true,
  run: async (values, [cmd, arg]) => {
    if (cmd === 'capture') return captureTo(values, arg);
    const req = requestOf(cmd, arg, values.check);
    const reply = await request(await findSocket(values.dev, values.socket), req);
    if (!reply.ok) throw new UserError(reply.error);
    const { ok: _ok, ...rest } = reply;
    if (req.cmd === 'status') {
      for (const q of rest.queues as { queue: number; handler: string; hash: string; since: string }[]) {
        console.log(`queue ${q.queue}: ${q.handler} (sha256 ${q.hash}) since ${q.since}`);
      }
    } else if (req.cmd === 'swap') {
      console.log(String(rest.message));
    } else {
      console.log(JSON.stringify(rest));
    }
  },
});

function requestOf(cmd: string | undefined, arg: string | undefined, check: boolean): Request {
  if (!cmd || !COMMANDS.includes(cmd)) throw new UserError(cmd ? `unknown command '${cmd}'; ${SYNOPSIS}` : SYNOPSIS);
  if (cmd !== 'swap') return { cmd: cmd as 'status' | 'stats' };
  if (!arg) throw new UserError('swap needs a handler file: afxdp-wasm ctl swap FILE.wasm');
  return { cmd, path: resolve(arg), ...(check ? { check } : {}) };
}

/** Where the blocks go: a file, or stdout for -. */
function output(name: string): { write(b: Buffer): void; close(): void } {
  if (name === '-') return { write: (b) => void process.stdout.write(b), close: () => {} };
  let fd: number;
  try {
    fd = openSync(name, 'w');
  } catch (err) {
    throw new UserError(`cannot write ${name}: ${(err as Error).message}`);
  }
  return { write: (b) => writeSync(fd, b), close: () => closeSync(fd) };
}

/** ctl capture: streams the capture into FILE or stdout, whole blocks only, until it ends. */
async function captureTo(values: Values<typeof OPTIONS>, file: string | undefined): Promise<void> {
  if (!file) throw new UserError('capture needs a file to write, or - for stdout: afxdp-wasm ctl capture -d DEV FILE');
  if (file === '-' && process.stdout.isTTY)
    throw new UserError('capture to - writes pcapng: pipe it (| tshark -r -) or name a FILE instead of a terminal');
  const req: CaptureRequest = { cmd: 'capture', queue: values.queue, count: values.count, seconds: values.seconds };
  if (values.buffer !== undefined) req.buffer = values.buffer * 1024;
  const socket = await findSocket(values.dev, values.socket);
  const out = output(file);
  const tally = { in: 0, out: 0, lost: 0 };
  let queues = '';
  const client = capture(
    socket,
    req,
    (reply: Record<string, unknown>) => {
      queues = (reply.queues as number[]).join(',');
      console.error(`Capturing ${String(reply.interface)} queue ${queues} to ${file}; Ctrl-C ends it.`);
    },
    (b) => {
      out.write(b);
      count(b, tally);
    },
  );
  // Ctrl-C asks the responder to end the capture; its last blocks still come. A second one leaves at once.
  let asked = false;
  const onSignal = () => {
    if (asked) process.exit(130);
    asked = true;
    client.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', () => client.stop()); // - into a pipe whose reader went away
  try {
    const { complete } = await client.done;
    const lost = tally.lost
      ? `; ${tally.lost} frames lost: the capture buffer was full (a larger --buffer keeps more)`
      : '';
    console.error(`Captured ${tally.in} frames in and ${tally.out} out of queue ${queues} to ${file}${lost}.`);
    if (!complete)
      console.error('The responder stopped before the capture ended; the file holds what came until then.');
  } finally {
    out.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function count(b: Buffer, tally: { in: number; out: number; lost: number }): void {
  const type = b.readUInt32LE(0);
  if (type === BLOCK.statistics) tally.lost += Number(optionOf(b, ISB_DROPPED)?.readBigUInt64LE(0) ?? 0n);
  if (type !== BLOCK.enhancedPacket) return;
  const flags = optionOf(b, EPB_FLAGS)?.readUInt32LE(0) ?? 0;
  if ((flags & DIRECTION_MASK) === DIRECTION.outbound) tally.out++;
  else tally.in++;
}
