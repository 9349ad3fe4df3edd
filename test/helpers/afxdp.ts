// Runs the real afxdp-wasm command against a test environment and reads what
// it prints: --json stats lines on stdout, one-line messages on stderr.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { request } from '../../host/control/client.js';
import type { Reply, Request } from '../../host/control/protocol.js';
import type { Counters } from '../../host/dataplane/dataplane.js';
import { controlSocket, distFile, ownerFile } from '../../host/lib/paths.js';

export type { Counters };
export interface StatsLine {
  type: 'stats';
  period: number;
  counters: Counters;
  reasons: Record<string, number>;
}
export interface ExitLine {
  type: 'exit';
  counters: Counters;
  reasons: Record<string, number>;
  frames: { total: number; free: number; inFlight: number; balanced: boolean };
  xdp: Record<string, number> | null;
  queues: { queue: number; counters: Counters }[];
}

export class Running {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get stats(): StatsLine[] {
    return this.jsonLines().filter((l): l is StatsLine => l.type === 'stats');
  }

  get exit(): ExitLine | undefined {
    return this.jsonLines().find((l): l is ExitLine => l.type === 'exit');
  }

  private jsonLines(): (StatsLine | ExitLine)[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as StatsLine | ExitLine);
  }

  /** Resolves once it says it serves, rejects if it exits first. */
  async ready(timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stderr.includes('Serving ')) {
      if (this.child.exitCode !== null) throw new Error(`afxdp-wasm exited ${this.child.exitCode}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`afxdp-wasm not ready after ${timeoutMs} ms: ${this.stderr}`);
      await sleep(20);
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** For finally blocks: never leaves the process running. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(3000).then(() => false)]);
    if (!done) this.child.kill('SIGKILL');
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Runs afxdp-wasm on an interface (--json stats every 0.2 s) for the
 * duration of fn, then stops it with SIGTERM, expects exit code 0, and never
 * leaves it running. Returns it, with its exit line.
 */
export async function serving(
  ifname: string,
  args: string[],
  fn: (r: Running) => Promise<void> | void,
): Promise<Running> {
  const r = startAfxdp(['-d', ifname, '--json', '--interval', '0.2', ...args]);
  try {
    await r.ready();
    await fn(r);
    const code = await r.stop('SIGTERM');
    if (code !== 0) throw new Error(`afxdp-wasm exited ${code}: ${r.stderr}`);
  } finally {
    await r.kill();
  }
  return r;
}

/** prefix: a command that runs it, such as taskset -c 1. */
export function startAfxdp(args: string[], prefix: string[] = []): Running {
  const argv = [...prefix, process.execPath, distFile('afxdp-wasm.js'), ...args];
  return new Running(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Runs it to completion (for bad input): exit code and output. */
export async function runAfxdp(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = startAfxdp(args);
  const code = await r.exited;
  return { code, stdout: r.stdout, stderr: r.stderr };
}

/** One request on a running afxdp-wasm's control socket (no process spawned): its JSON reply. */
export const askControl = (sock: string, req: Request): Promise<Reply> => request(sock, req);

/** The real afxdp-wasm ctl, cut off after 8 s: a socket that does not answer fails the test instead of hanging it. */
export function runCtl(...args: string[]): { code: number | null; out: string; err: string } {
  const argv = [distFile('afxdp-wasm.js'), 'ctl', ...args];
  const res = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 8000 });
  return { code: res.status, out: res.stdout.trim(), err: res.stderr.trim() };
}

/** Where a running afxdp-wasm serving ifname keeps its control socket and ownership record. */
export const runFiles = (ifname: string) => ({ socket: controlSocket(ifname), owner: ownerFile(ifname) });
