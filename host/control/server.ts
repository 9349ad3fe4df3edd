// The control socket a running afxdp-wasm owns: a Unix socket only its owner
// may open (0600 in a 0700 folder), removed at exit.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { controlDir, controlSocket } from '../lib/paths.js';
import { CAPTURE_BUFFER, COMMANDS, type CaptureRequest, type Reply, type Request } from './protocol.js';

export interface ControlHandlers {
  swap(path: string, check: boolean): Promise<Record<string, unknown>>;
  status(): Record<string, unknown>;
  stats(): Record<string, unknown>;
  /** Takes the connection over: replies, then streams the capture (host/control/capture-stream.ts). */
  capture(req: CaptureRequest, conn: Socket): void;
}

const MAX_REQUEST = 64 * 1024;
/** How long a connection may take to send its one request line. */
export const REQUEST_TIMEOUT_MS = 5000;
const ONE_LINE = 'a request is one line of JSON ending in a newline, e.g. {"cmd":"status"}';

function parse(line: string): Request | string {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return ONE_LINE;
  }
  const cmd = (req as { cmd?: unknown } | null)?.cmd;
  if (typeof cmd !== 'string' || !COMMANDS.includes(cmd))
    return `unknown command '${String(cmd)}'; one of: ${COMMANDS.join(', ')}`;
  if (cmd === 'swap' && typeof (req as { path?: unknown }).path !== 'string')
    return 'swap needs the path of a .wasm file';
  if (cmd === 'capture') return captureProblem(req as CaptureRequest) ?? (req as Request);
  return req as Request;
}

function captureProblem(req: CaptureRequest): string | undefined {
  const whole = (v: unknown, min: number, max: number) =>
    v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max);
  if (!whole(req.queue, 0, 2 ** 31 - 1)) return 'capture: queue must be a whole number from 0';
  if (!whole(req.count, 1, 2 ** 31 - 1)) return 'capture: count must be a whole number from 1';
  if (req.seconds !== undefined && !(typeof req.seconds === 'number' && req.seconds > 0))
    return 'capture: seconds must be a number above 0';
  if (!whole(req.buffer, CAPTURE_BUFFER.min, CAPTURE_BUFFER.max))
    return `capture: buffer must be bytes from ${CAPTURE_BUFFER.min} to ${CAPTURE_BUFFER.max}`;
  return undefined;
}

export class ControlServer {
  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  static async listen(ifname: string, handlers: ControlHandlers): Promise<ControlServer> {
    mkdirSync(controlDir(), { recursive: true, mode: 0o700 });
    const path = controlSocket(ifname);
    rmSync(path, { force: true }); // a stale socket: ownership of the interface was checked before
    const server = createServer((conn) => serve(conn, handlers));
    const umask = process.umask(0o177); // the socket is born 0600: no window where others may connect
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(path, 0o600);
    server.unref();
    process.once('exit', () => removeSocket(path));
    return new ControlServer(server, path);
  }

  close(): void {
    this.server.close();
    removeSocket(this.path);
  }
}

/** A socket we cannot remove (its folder went to --user's user, the switch then failed) is left to the next start. */
function removeSocket(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // the next listen() on this interface removes it
  }
}

function serve(conn: Socket, handlers: ControlHandlers): void {
  let buffer = '';
  const reply = (r: Reply) => {
    clearTimeout(timer);
    conn.removeAllListeners('data');
    conn.end(`${JSON.stringify(r)}\n`);
  };
  // A client that never finishes its line would hold the connection (and its buffer) forever.
  const late = `no complete request in ${REQUEST_TIMEOUT_MS / 1000} s; ${ONE_LINE}`;
  const timer = setTimeout(() => reply({ ok: false, error: late }), REQUEST_TIMEOUT_MS).unref();
  conn.setEncoding('utf8');
  conn.on('error', () => conn.destroy());
  conn.on('close', () => clearTimeout(timer));
  conn.on('data', (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_REQUEST) return reply({ ok: false, error: 'request too long' });
    const nl = buffer.indexOf('\n');
    if (nl < 0) return;
    const req = parse(buffer.slice(0, nl));
    clearTimeout(timer);
    conn.removeAllListeners('data');
    if (typeof req === 'string') return reply({ ok: false, error: req });
    if (req.cmd === 'status') return reply({ ok: true, ...handlers.status() });
    if (req.cmd === 'stats') return reply({ ok: true, ...handlers.stats() });
    if (req.cmd === 'capture') return handlers.capture(req, conn);
    handlers.swap(req.path, req.check === true).then(
      (result) => reply({ ok: true, ...result }),
      (err: Error) => reply({ ok: false, error: err.message }),
    );
  });
}
