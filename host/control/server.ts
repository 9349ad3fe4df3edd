// The control socket a running afxdp-wasm owns: a Unix socket only its owner
// may open (0600 in a 0700 folder), removed at exit.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { controlDir, controlSocket } from '../lib/paths.js';
import { COMMANDS, type Reply, type Request } from './protocol.js';

export interface ControlHandlers {
  swap(path: string, check: boolean): Promise<Record<string, unknown>>;
  status(): Record<string, unknown>;
  stats(): Record<string, unknown>;
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
  return req as Request;
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
    process.once('exit', () => rmSync(path, { force: true }));
    return new ControlServer(server, path);
  }

  close(): void {
    this.server.close();
    rmSync(this.path, { force: true });
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
    handlers.swap(req.path, req.check === true).then(
      (result) => reply({ ok: true, ...result }),
      (err: Error) => reply({ ok: false, error: err.message }),
    );
  });
}
