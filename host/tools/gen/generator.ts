// afxdp-wasm gen: a load generator faster than any responder here. From the
// inner side of a test environment it transmits echo requests, and counts the
// replies that come back with an XDP sink on its own interface.
//
// Flat out it uses BPF_PROG_RUN in live-frames mode: the kernel transmits the
// frame itself, millions a second from one core. Each such call costs about
// 25 ms of setup here, so it cannot be paced: at a given --rate it sends
// through an AF_XDP socket of its own (TX only, copy mode, at most 32 frames
// a kick), paced against the clock, in its native addon (shim/gen/).
// --trafgen hands the frame to trafgen.
//
// Both of our own senders stamp every request with the time it leaves
// (bpf/gen_stamp.h); the sink puts each stamped reply's round trip in a
// histogram, read once after the run. trafgen's frames carry no stamp.
//
//   afxdp-wasm gen [--name ENV] [--rate PPS | --trafgen] [--seconds S] [--ipv4] [--napi-thread] [--json]
// (--trafgen: trafgen flat out, a middle load between paced and live frames.
// --napi-thread: our interface receives in a NAPI kernel thread. On veth the
// receiver's work otherwise runs inside the sender's sendto(), so without it
// a responder's CPU time includes our receiving of its replies.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../dataplane/shim.js';
import { UserError } from '../lib/errors.js';
import { requireRoot, sleepSync } from '../lib/exec.js';
import { echo4Frame, echo6Frame, trafgenConfig } from '../lib/frames.js';
import { macOf } from '../testenv/env.js';
import { type GenNative, type LatencyNs, loadGenNative } from './native.js';
import { DEFAULT_NAME, INNER_IF, currentName, innerAddr, innerAddr4, loadEnv, outerAddr, outerAddr4 } from '../testenv/state.js';

const GEN_HELP = `Usage: afxdp-wasm gen [options]
Send echo requests from the inner side of a test environment; count the replies.

      --name <env>    test environment (default: the current one, or veth-adv03)
      --rate <pps>    paced, through an AF_XDP socket (default: flat out, live frames)
      --trafgen       through trafgen instead (flat out, or at --rate)
      --seconds <s>   how long (default 3)
      --ipv4          ICMP echo instead of ICMPv6 (needs setup --legacy-ip)
      --napi-thread   receive in a NAPI kernel thread, so replies are not billed to the responder
      --json          one JSON line (with lost and the round-trip percentiles)
  -h, --help          this text`;

export const GEN_USAGE = 'usage: afxdp-wasm gen [--name ENV] [--rate PPS | --trafgen] [--seconds S] [--ipv4] [--napi-thread] [--json]';

export interface GenResult {
  sent: number;
  seconds: number;
  rate: number;
  replies: number;
  replyRatio: number;
  /** Flat out: wall time the generator wanted to run but did not get the CPU (null when paced or sent by trafgen). */
  starvedSeconds: number | null;
  cpuSeconds: number;
  /** sent - replies. */
  lost: number;
  /** Round trips of the stamped replies; null when nothing was stamped (--trafgen). */
  latency: Latency | null;
}

/** Percentiles are histogram bucket upper bounds (at most 6.25 % high, never above the max); null without samples. */
export interface Latency {
  samples: number;
  p50Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  maxUs: number | null;
}

const FLAT_OUT_CHUNK = 1 << 18;
/** The echo identifier of our requests: the sink (GEN_ECHO_ID in bpf/xdp_gen.c) counts and drops only replies with it. */
const GEN_ECHO_ID = 0x6e6;
const TRAFGEN_FLAT_OUT_PPS = 500_000;
const LAND_MS = 200; // replies still in flight when sending stops

export function gen(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, ipv4: { type: 'boolean' },
      json: { type: 'boolean' }, trafgen: { type: 'boolean' }, 'napi-thread': { type: 'boolean' }, inside: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(GEN_HELP);
  requireRoot('the generator');
  if (values.inside === undefined) return void outside(argv, values.name);
  const rate = values.rate === undefined ? 0 : Number(values.rate);
  const seconds = Number(values.seconds ?? 3);
  if (!(rate >= 0) || !(seconds > 0 && seconds <= 3600)) throw new UserError(`--rate must be packets/s >= 0 (0: flat out) and --seconds 0..3600; ${GEN_USAGE}`);
  const result = run(JSON.parse(values.inside) as Frame, rate, seconds, values.trafgen ?? false, values['napi-thread'] ?? false);
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`sent ${result.sent} echo requests in ${result.seconds.toFixed(3)} s (${(result.rate / 1e6).toFixed(3)} M/s), ` +
      `${result.replies} replies (${(result.replyRatio * 100).toFixed(1)}%)` +
      (result.starvedSeconds === null ? ' (paced)'
        : `; generator CPU ${result.cpuSeconds.toFixed(2)} s, starved ${result.starvedSeconds.toFixed(2)} s`) +
      latencyText(result.latency));
  }
}

function latencyText(l: Latency | null): string {
  if (!l) return '';
  if (l.p50Us === null) return '; RTT: no stamped replies';
  const us = (x: number | null) => `${x!.toFixed(1)}`;
  return `; RTT us p50 ${us(l.p50Us)} p90 ${us(l.p90Us)} p99 ${us(l.p99Us)} p99.9 ${us(l.p999Us)} ` +
    `max ${us(l.maxUs)} (${l.samples} samples)`;
}

function latencyOf(l: LatencyNs): Latency {
  const us = (ns: number) => (l.samples ? ns / 1000 : null);
  return {
    samples: l.samples, p50Us: us(l.p50Ns), p90Us: us(l.p90Ns), p99Us: us(l.p99Ns), p999Us: us(l.p999Ns),
    maxUs: us(l.maxNs),
  };
}

interface Frame { bytes: number[] }

/** In the root namespace: find the environment, build the frame, and run again inside its namespace. */
function outside(argv: string[], name: string | undefined): void {
  const envName = name ?? currentName() ?? DEFAULT_NAME;
  const env = loadEnv(envName);
  if (!env) throw new UserError(`no test environment '${envName}'; make one with: npm run testenv -- setup --name ${envName}`);
  const v4 = argv.includes('--ipv4');
  if (v4 && !env.legacyIp) throw new UserError(`'${env.name}' has no IPv4; make it with setup --legacy-ip`);
  const base = { srcMac: macOf(env.name, INNER_IF), dstMac: macOf(undefined, env.name), id: GEN_ECHO_ID, seq: 1 };
  // 118- and 98-byte frames, padded to a multiple of 8 bytes: the generator program copies words.
  const bytes = v4 ? echo4Frame({ ...base, src: innerAddr4(env), dst: outerAddr4(env), padTo: 104 })
    : echo6Frame({ ...base, src: innerAddr(env), dst: outerAddr(env), padTo: 120 });
  const inside = ['ip', 'netns', 'exec', env.name, process.execPath, process.argv[1]!, 'gen', ...argv, '--inside', JSON.stringify({ bytes })];
  const res = spawnSync(inside[0]!, inside.slice(1), { stdio: 'inherit' });
  process.exitCode = res.status ?? 1;
}

/** Sends with trafgen for `seconds`, paced at rate (0: flat out); returns how many it says went out. */
function trafgen(bytes: Uint8Array, rate: number, seconds: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-gen-'));
  const cfg = join(dir, 'frame.cfg');
  writeFileSync(cfg, trafgenConfig([...bytes]));
  // Both ways it is given a count and stops by itself (stopping trafgen by signal would have to
  // reach its forked worker too); flat out, the count is what it sends here in about that time.
  const count = Math.round((rate > 0 ? rate : TRAFGEN_FLAT_OUT_PPS) * seconds);
  const pace = rate > 0 ? ['-b', `${Math.round(rate)}pps`] : [];
  const res = spawnSync('trafgen', ['--no-sock-mem', '-P', '1', '-i', cfg, '-o', INNER_IF, ...pace, '-n', String(count)], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  const out = /(\d+) packets outgoing/.exec(`${res.stdout}${res.stderr}`);
  if (!out) throw new UserError(`trafgen failed: ${res.stderr.trim().split('\n').pop()}`);
  return Number(out[1]);
}

/**
 * Replies are counted by an XDP sink on our interface, in every mode: it
 * counts echo replies and drops them, so our own stack never spends time on
 * them (which on veth would run in the responder's sendto() and be billed to
 * it). (An earlier note here said that with an XDP program on the sending
 * veth this kernel delivered socket-buffer frames 2-4 times over; that did not
 * reproduce once stray trafgen workers were gone, and a test checks it.)
 */
function replySink(native: GenNative, napiThread: boolean): { replies(): number; release(): void } {
  native.sink(INNER_IF, true);
  // The sink's NAPI exists only once it is attached; threaded stays set until cleared.
  const threaded = (on: boolean) => writeFileSync(`/sys/class/net/${INNER_IF}/threaded`, on ? '1' : '0');
  if (napiThread) threaded(true);
  const release = () => {
    if (napiThread) threaded(false);
    native.sink(INNER_IF, false);
  };
  process.once('exit', release);
  return {
    replies: () => native.counts().replies,
    release: () => {
      release();
      process.removeListener('exit', release);
    },
  };
}

/** Inside the namespace: send for `seconds`, at `rate` (0: flat out), count what comes back. */
function run(frame: Frame, rate: number, seconds: number, viaTrafgen: boolean, napiThread: boolean): GenResult {
  const native = loadGenNative();
  native.open(join(projectRoot(), 'build', 'bpf', 'xdp_gen.o'));
  const bytes = Uint8Array.from(frame.bytes);
  const paced = rate > 0 || viaTrafgen;
  const counter = replySink(native, napiThread);
  try {
    if (rate > 0 && !viaTrafgen) native.txOpen(INNER_IF, 0, bytes);
    native.reset(); // after attaching: only this run's replies count
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const sent = viaTrafgen ? trafgen(bytes, rate, seconds)
      : rate > 0 ? native.txPaced(rate, seconds) : flatOut(native, bytes, t0 + seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    sleepSync(LAND_MS); // the last replies, and the last kicks' completions
    const replies = counter.replies();
    return {
      sent, seconds: wall, rate: sent / wall, replies, replyRatio: sent ? replies / sent : 0,
      // Flat out the generator never sleeps: time it did not run, it was starved. Paced, trafgen runs and waits.
      starvedSeconds: paced ? null : Math.max(0, wall - cpuSeconds), cpuSeconds,
      lost: sent - replies, latency: viaTrafgen ? null : latencyOf(native.latency()),
    };
  } finally {
    native.txClose();
    counter.release();
  }
}

/** Live frames until `end`, a chunk at a time; returns how many went. */
function flatOut(native: GenNative, bytes: Uint8Array, end: number): number {
  let sent = 0;
  while (performance.now() < end) {
    native.run(INNER_IF, bytes, FLAT_OUT_CHUNK, 64);
    sent += FLAT_OUT_CHUNK;
  }
  return sent;
}
