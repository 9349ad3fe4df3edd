// The load generator's core: from inside a namespace it transmits echo
// requests out of one interface, and counts the replies that come back with
// an XDP sink on that interface. It takes where it sends from and to as plain
// values (GenPath); the gen command resolves a test environment into them.
//
// Flat out it uses BPF_PROG_RUN in live-frames mode: the kernel transmits the
// frame itself, millions a second from one core. Each such call costs about
// 25 ms of setup here, so it cannot be paced: at a given rate it sends
// through an AF_XDP socket of its own (TX only, copy mode, at most 32 frames
// a kick), paced against the clock, in its native addon (shim/gen/). Held
// off its CPU, it catches up at most --catch-up ms of its schedule and counts
// the rest as given up: a paced source that sent a long stall's worth at line
// rate would no longer be paced. Or it hands the frame to trafgen.
//
// Both of our own senders stamp every request with the time it leaves
// (bpf/tools/gen_stamp.h); the sink puts each stamped reply's round trip in a
// histogram, read once after the run. trafgen's frames carry no stamp.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../lib/errors.js';
import { sleepSync } from '../../lib/exec.js';
import { echo4Frame, echo6Frame, trafgenConfig } from '../../lib/frames.js';
import { bpfObject, distFile } from '../../lib/paths.js';
import { type GenNative, type LatencyNs, loadGenNative } from './native.js';

/** Where the requests go out and come back: the sender's end of a link and its peer. */
export interface GenPath {
  /** The network namespace the sending interface is in. */
  netns: string;
  ifname: string;
  srcMac: string;
  dstMac: string;
  /** Both IPv6, or both IPv4 (ICMP echo then). */
  src: string;
  dst: string;
}

/** How to send: rate 0 is flat out (live frames, or trafgen's own pace). */
export interface GenLoad {
  rate: number;
  seconds: number;
  trafgen: boolean;
  /** Our interface receives in a NAPI kernel thread, so a responder is not billed for our receiving. */
  napiThread: boolean;
  /**
   * Paced: after a stall (the sender held off its CPU), catch up at most this many ms of the
   * schedule and give up the rest, so that a stall never turns into a burst at line rate; 0: all.
   */
  catchUpMs: number;
}

/** What the process inside the namespace is given. */
export interface GenPlan extends GenLoad {
  ifname: string;
  frame: number[];
}

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
  /** Paced by our sender: how it kept to its schedule (null otherwise). */
  pace: PaceResult | null;
  /** Round trips of the stamped replies; null when nothing was stamped (--trafgen). */
  latency: Latency | null;
}

/** What the schedule wanted and did not send: what a stall cost, apart from what the responder lost. */
export interface PaceResult {
  /** Frames given up after stalls (beyond the catch-up bound). */
  skipped: number;
  /** Times the sender found itself more than the bound behind. */
  stalls: number;
  /** The furthest behind its schedule it was, in ms of the schedule. */
  worstLagMs: number;
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
/** The echo identifier of our requests: the sink (GEN_ECHO_ID in bpf/tools/xdp_gen.c) counts and drops only replies with it. */
const GEN_ECHO_ID = 0x6e6;
const TRAFGEN_FLAT_OUT_PPS = 500_000;
/** Replies still in flight when sending stops: waited for while they keep coming, up to a bound. */
const LAND_MS = 200;
const LAND_MAX_MS = 2000;

function latencyText(l: Latency | null): string {
  if (!l) return '';
  if (l.p50Us === null) return '; RTT: no stamped replies';
  const us = (x: number | null) => `${x!.toFixed(1)}`;
  return (
    `; RTT us p50 ${us(l.p50Us)} p90 ${us(l.p90Us)} p99 ${us(l.p99Us)} p99.9 ${us(l.p999Us)} ` +
    `max ${us(l.maxUs)} (${l.samples} samples)`
  );
}

function latencyOf(l: LatencyNs): Latency {
  const us = (ns: number) => (l.samples ? ns / 1000 : null);
  return {
    samples: l.samples,
    p50Us: us(l.p50Ns),
    p90Us: us(l.p90Ns),
    p99Us: us(l.p99Ns),
    p999Us: us(l.p999Ns),
    maxUs: us(l.maxNs),
  };
}

/** The echo request that goes out: 118 or 98 bytes, padded to a multiple of 8 (the generator program copies words). */
export function requestFrame(path: GenPath): number[] {
  const base = { srcMac: path.srcMac, dstMac: path.dstMac, id: GEN_ECHO_ID, seq: 1 };
  return isIPv4(path.src)
    ? echo4Frame({ ...base, src: path.src, dst: path.dst, padTo: 104 })
    : echo6Frame({ ...base, src: path.src, dst: path.dst, padTo: 120 });
}

/**
 * Runs the plan inside path's namespace, in a new process of this command
 * (`afxdp-wasm gen --inside PLAN`), which prints the result itself; returns its exit code.
 */
export function generateIn(path: GenPath, load: GenLoad, json: boolean): number {
  const plan: GenPlan = { ...load, ifname: path.ifname, frame: requestFrame(path) };
  const self = [process.execPath, distFile('afxdp-wasm.js')];
  const inside = ['netns', 'exec', path.netns, ...self, 'gen', '--inside', JSON.stringify(plan)];
  const res = spawnSync('ip', json ? [...inside, '--json'] : inside, { stdio: 'inherit' });
  return res.status ?? 1;
}

/** The result as the user reads it: one line. */
export function resultText(result: GenResult): string {
  return (
    `sent ${result.sent} echo requests in ${result.seconds.toFixed(3)} s (${(result.rate / 1e6).toFixed(3)} M/s), ` +
    `${result.replies} replies (${(result.replyRatio * 100).toFixed(1)}%)` +
    (result.starvedSeconds === null
      ? ' (paced)'
      : `; generator CPU ${result.cpuSeconds.toFixed(2)} s, starved ${result.starvedSeconds.toFixed(2)} s`) +
    paceText(result.pace) +
    latencyText(result.latency)
  );
}

function paceText(p: PaceResult | null): string {
  if (!p || p.stalls === 0) return '';
  return `; held off its CPU ${p.stalls} times (worst ${p.worstLagMs.toFixed(1)} ms behind): ${p.skipped} requests given up, not sent`;
}

/** Sends with trafgen for `seconds`, paced at rate (0: flat out); returns how many it says went out. */
function trafgen(ifname: string, bytes: Uint8Array, rate: number, seconds: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-gen-'));
  const cfg = join(dir, 'frame.cfg');
  writeFileSync(cfg, trafgenConfig([...bytes]));
  // Both ways it is given a count and stops by itself (stopping trafgen by signal would have to
  // reach its forked worker too); flat out, the count is what it sends here in about that time.
  const count = Math.round((rate > 0 ? rate : TRAFGEN_FLAT_OUT_PPS) * seconds);
  const pace = rate > 0 ? ['-b', `${Math.round(rate)}pps`] : [];
  const res = spawnSync(
    'trafgen',
    ['--no-sock-mem', '-P', '1', '-i', cfg, '-o', ifname, ...pace, '-n', String(count)],
    { encoding: 'utf8' },
  );
  rmSync(dir, { recursive: true, force: true });
  const out = /(\d+) packets outgoing/.exec(`${res.stdout}${res.stderr}`);
  if (!out) throw new UserError(`trafgen failed: ${res.stderr.trim().split('\n').pop()}`);
  return Number(out[1]);
}

/**
 * Replies are counted by an XDP sink on our interface, in every mode: it
 * counts echo replies and drops them, so our own stack never spends time on
 * them (which on veth would run in the responder's sendto() and be billed to
 * it). A test checks that every paced frame is counted exactly once.
 */
function replySink(native: GenNative, ifname: string, napiThread: boolean): { replies(): number; release(): void } {
  native.sink(ifname, true);
  // The sink's NAPI exists only once it is attached; threaded stays set until cleared.
  const threaded = (on: boolean) => writeFileSync(`/sys/class/net/${ifname}/threaded`, on ? '1' : '0');
  if (napiThread) threaded(true);
  const release = () => {
    if (napiThread) threaded(false);
    native.sink(ifname, false);
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

/** Inside the namespace: sends as planned, counts what comes back. */
export function generate(plan: GenPlan): GenResult {
  const { rate, seconds, trafgen: viaTrafgen, ifname } = plan;
  if (!(rate >= 0) || !(seconds > 0 && seconds <= 3600))
    throw new UserError('the rate must be >= 0 and the seconds 0..3600');
  const native = loadGenNative();
  native.open(bpfObject('xdp_gen.o'));
  const bytes = Uint8Array.from(plan.frame);
  const paced = rate > 0 || viaTrafgen;
  const counter = replySink(native, ifname, plan.napiThread);
  try {
    if (rate > 0 && !viaTrafgen) native.txOpen(ifname, 0, bytes);
    native.reset(); // after attaching: only this run's replies count
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let pace: PaceResult | null = null;
    let sent: number;
    if (viaTrafgen) sent = trafgen(ifname, bytes, rate, seconds);
    else if (rate > 0) {
      const maxLag = Math.max(1, Math.round((rate * plan.catchUpMs) / 1000));
      const p = native.txPaced(rate, seconds, plan.catchUpMs > 0 ? maxLag : 0);
      pace = { skipped: p.skipped, stalls: p.stalls, worstLagMs: (p.worstLag / rate) * 1000 };
      sent = p.sent;
    } else sent = flatOut(native, ifname, bytes, t0 + seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const replies = landed(counter, sent);
    return {
      sent,
      seconds: wall,
      rate: sent / wall,
      replies,
      replyRatio: sent ? replies / sent : 0,
      // Flat out the generator never sleeps: time it did not run, it was starved. Paced, trafgen runs and waits.
      starvedSeconds: paced ? null : Math.max(0, wall - cpuSeconds),
      cpuSeconds,
      lost: sent - replies,
      pace,
      latency: viaTrafgen ? null : latencyOf(native.latency()),
    };
  } finally {
    native.txClose();
    counter.release();
  }
}

/**
 * The reply count once the last replies have landed: a loaded machine (a starved NAPI thread, a
 * responder behind its ring) can still be delivering them LAND_MS after sending stopped, so the
 * wait goes on while the count still moves, up to LAND_MAX_MS.
 */
function landed(counter: { replies(): number }, sent: number): number {
  let replies = -1;
  const end = performance.now() + LAND_MAX_MS;
  for (;;) {
    sleepSync(LAND_MS);
    const now = counter.replies();
    if (now >= sent || now === replies || performance.now() >= end) return now;
    replies = now;
  }
}

/** Live frames until `end`, a chunk at a time; returns how many went. */
function flatOut(native: GenNative, ifname: string, bytes: Uint8Array, end: number): number {
  let sent = 0;
  while (performance.now() < end) {
    native.run(ifname, bytes, FLAT_OUT_CHUNK, 64);
    sent += FLAT_OUT_CHUNK;
  }
  return sent;
}
