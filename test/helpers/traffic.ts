// Traffic from inside a test environment: ping, trafgen bursts, our generator, captures.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Latency, PaceResult } from '../../host/tools/gen/generator.js';
export type { Latency };
import { type EnvState, INNER_IF, innerAddr, outerAddr } from '../../host/testenv/state.js';
import { echo6Frame, trafgenConfig } from './packets.js';
import { macOf as envMac } from '../../host/testenv/env.js';
import { sleep } from './afxdp.js';
import { ROOT } from './testenv.js';

const scratch = mkdtempSync(join(tmpdir(), 'afxdp-traffic-'));

/** The MAC of the inner end (inside) or the outer end of a test environment. */
export const macOf = (env: EnvState, inside: boolean): string =>
  envMac(inside ? env.name : undefined, inside ? INNER_IF : env.name);

export interface GenJson {
  sent: number;
  seconds: number;
  rate: number;
  replies: number;
  starvedSeconds: number | null;
  lost: number;
  pace: PaceResult | null;
  latency: Latency | null;
}

const genArgv = (env: EnvState, args: string[]) => [
  process.execPath,
  join(ROOT, 'dist', 'afxdp-wasm.js'),
  'gen',
  '--name',
  env.name,
  '--json',
  ...args,
];

function genResult(args: string[], status: number | null, stdout: string, stderr: string): GenJson {
  if (status !== 0) throw new Error(`gen ${args.join(' ')} failed: ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').pop()!) as GenJson; // the result is its last line
}

/** afxdp-wasm gen against the environment (flat out, or --rate PPS, --trafgen ...); throws if it fails. */
export function gen(env: EnvState, ...args: string[]): GenJson {
  const argv = genArgv(env, args);
  const res = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return genResult(args, res.status, res.stdout, res.stderr);
}

/** The same without blocking, run by prefix (such as taskset -c 0), so other traffic can go beside it. */
export function genAsync(env: EnvState, prefix: string[], ...args: string[]): Promise<GenJson> {
  return new Promise((resolve, reject) => {
    const argv = [...prefix, ...genArgv(env, args)];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => {
      try {
        resolve(genResult(args, code, out, err));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** The generator's sending process: `afxdp-wasm gen --inside`, running in the environment's namespace. */
export function generatorPid(netns: string): number | undefined {
  const inode = statSync(`/run/netns/${netns}`).ino;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (!argv.includes('--inside') || !argv.includes('gen')) continue;
      if (statSync(`/proc/${name}/ns/net`).ino === inode) return Number(name);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

/** ping -6 from inside to the outer address; returns how many replies came back. */
export function ping6(env: EnvState, count: number, interval = 0.05): { sent: number; received: number; out: string } {
  const res = spawnSync(
    'ip',
    ['netns', 'exec', env.name, 'ping', '-6', '-c', String(count), '-i', String(interval), '-W', '1', outerAddr(env)],
    {
      encoding: 'utf8',
    },
  );
  const m = /(\d+) packets transmitted, (\d+) received/.exec(res.stdout);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), out: res.stdout };
}

/** Sends `count` echo requests as fast as trafgen can, from inside, and waits for it. */
export function burst(env: EnvState, count: number): void {
  const frame = echo6Frame({
    srcMac: macOf(env, true),
    dstMac: macOf(env, false),
    src: innerAddr(env),
    dst: outerAddr(env),
    id: 7,
  });
  const cfg = join(scratch, `${env.name}.cfg`);
  writeFileSync(cfg, trafgenConfig(frame));
  const res = spawnSync(
    'ip',
    ['netns', 'exec', env.name, 'trafgen', '--no-sock-mem', '-P', '1', '-i', cfg, '-o', INNER_IF, '-n', String(count)],
    {
      encoding: 'utf8',
    },
  );
  if (res.status !== 0) throw new Error(`trafgen failed: ${res.stderr}`);
}

export interface Flood {
  /** Stops trafgen and its worker processes, and waits for them. */
  stop(): Promise<void>;
}

/**
 * Starts trafgen sending without end (flat out, or one frame per gapUs).
 * trafgen forks a worker per CPU: killing the one process we started would
 * leave the worker sending, so it runs in its own process group and stop()
 * kills the group.
 */
export function flood(env: EnvState, gapUs?: number): Flood {
  const frame = echo6Frame({
    srcMac: macOf(env, true),
    dstMac: macOf(env, false),
    src: innerAddr(env),
    dst: outerAddr(env),
    id: 9,
  });
  const cfg = join(scratch, `${env.name}-flood.cfg`);
  writeFileSync(cfg, trafgenConfig(frame));
  const gap = gapUs === undefined ? [] : ['-t', `${gapUs}us`];
  const child = spawn(
    'ip',
    ['netns', 'exec', env.name, 'trafgen', '--no-sock-mem', '-P', '1', '-i', cfg, '-o', INNER_IF, ...gap],
    { stdio: 'ignore', detached: true },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
      for (let i = 0; i < 50 && groupAlive(child.pid!); i++) await sleep(20);
    },
  };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Captures on the inner end while fn runs; returns the pcap's path. */
export function captureInside(env: EnvState, filter: string, fn: () => Promise<void> | void): Promise<string> {
  return capture(['ip', 'netns', 'exec', env.name, 'tcpdump', '-i', INNER_IF], `${env.name}-in`, filter, fn);
}

/** Captures on the outer end (the served interface) while fn runs. */
export function captureOuter(env: EnvState, filter: string, fn: () => Promise<void> | void): Promise<string> {
  return capture(['tcpdump', '-i', env.name], `${env.name}-out`, filter, fn);
}

async function capture(
  tcpdump: string[],
  tag: string,
  filter: string,
  fn: () => Promise<void> | void,
): Promise<string> {
  const pcap = join(scratch, `${tag}-${Date.now()}.pcap`);
  // --immediate-mode: without it the last packets can sit in the kernel's capture ring when tcpdump stops.
  const dump = spawn(tcpdump[0]!, [...tcpdump.slice(1), '--immediate-mode', '-U', '-w', pcap, filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  dump.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    for (let i = 0; i < 100 && !err.includes('listening on'); i++) await sleep(20);
    await fn();
    await sleep(200);
  } finally {
    dump.kill('SIGINT');
    await new Promise((resolve) => dump.once('exit', resolve));
  }
  return pcap;
}

/** tcpdump -vv's reading of each packet in a capture, one line each. */
export function decode(pcap: string): string[] {
  const res = spawnSync('tcpdump', ['-nn', '-vv', '-r', pcap], { encoding: 'utf8' });
  return res.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** The XDP program attached to an interface, as the kernel reports it, or undefined. */
export function attachedProgram(ifname: string): string | undefined {
  const res = spawnSync('ip', ['-j', 'link', 'show', 'dev', ifname], { encoding: 'utf8' });
  const [link] = JSON.parse(res.stdout || '[{}]') as { xdp?: { prog?: { name?: string } } }[];
  return link?.xdp?.prog?.name;
}
