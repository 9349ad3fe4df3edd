// afxdp-wasm --metrics [ADDR:]PORT: /metrics over HTTP in the Prometheus text
// format. A scrape reads the counters the data path keeps in shared memory
// anyway (metrics-families.ts): the workers are never asked, never wait.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { UserError } from '../lib/errors.js';
import { CONTENT_TYPE, exposition } from '../lib/prometheus.js';
import { type MetricsInput, metricFamilies } from './metrics-families.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Loopback only unless told: counters and file paths are nobody else's business by default. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';
const EXAMPLES = 'e.g. --metrics 9100, --metrics 0.0.0.0:9100 or --metrics [::1]:9100';

/** --metrics's value: PORT, IPV4:PORT or [IPV6]:PORT. Port 0 takes any free port (said at start). */
export function parseMetricsAddress(raw: string, flag = '--metrics'): ListenAddress {
  if (raw.trim() === '') throw new UserError(`${flag} needs a port, ${EXAMPLES}`);
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(raw);
  const plain = /^([^:[\]]*):([^:]*)$/.exec(raw);
  let host = DEFAULT_METRICS_HOST;
  let portText = raw;
  if (bracketed) {
    [, host = '', portText = ''] = bracketed;
    if (!isIPv6(host)) throw new UserError(`${flag} ${raw}: '${host}' in brackets is not an IPv6 address; ${EXAMPLES}`);
  } else if (plain) {
    [, host = '', portText = ''] = plain;
    if (!isIPv4(host))
      throw new UserError(
        `${flag} ${raw}: '${host}' is not an IPv4 address (give an address, not a name); ${EXAMPLES}`,
      );
  } else if (raw.includes(':')) {
    throw new UserError(`${flag} ${raw}: an IPv6 address goes in brackets, as in --metrics [::1]:9100`);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    throw new UserError(
      `${flag} ${raw}: the port must be a whole number from 0 to 65535 (0: any free port); ${EXAMPLES}`,
    );
  return { host, port };
}

const shown = ({ host, port }: ListenAddress) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

function listenFailure(addr: ListenAddress, err: NodeJS.ErrnoException): Error {
  const at = `--metrics ${shown(addr)}`;
  if (err.code === 'EADDRINUSE')
    return new UserError(`${at}: the port is in use (by another exporter?); choose another, or 0 for any free port`);
  if (err.code === 'EADDRNOTAVAIL')
    return new UserError(`${at}: this machine has no address ${addr.host}; use one of its own (ip addr) or 127.0.0.1`);
  if (err.code === 'EACCES')
    return new UserError(`${at}: ports below 1024 need CAP_NET_BIND_SERVICE; choose a port from 1024 up`);
  return new UserError(`${at}: cannot listen (${err.message})`);
}

export class MetricsServer {
  /** What a scrape reads; until the data plane runs, a scrape is answered 503. */
  source: (() => MetricsInput) | undefined;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async listen(addr: ListenAddress): Promise<MetricsServer> {
    let self: MetricsServer | undefined;
    const server = createServer((req, res) => self?.answer(req, res));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(addr.port, addr.host, () => resolve());
      });
    } catch (err) {
      throw listenFailure(addr, err as NodeJS.ErrnoException);
    }
    server.unref(); // the data plane keeps the process alive, not a scraper
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : addr.port;
    self = new MetricsServer(server, `http://${shown({ host: addr.host, port })}/metrics`);
    return self;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return void res.writeHead(404).end('afxdp-wasm serves /metrics only\n');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return void res.writeHead(405, { allow: 'GET, HEAD' }).end('GET /metrics\n');
    if (!this.source) return void res.writeHead(503).end('afxdp-wasm is starting\n');
    const body = exposition(metricFamilies(this.source()));
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }
}
