// The options of afxdp-wasm serve: the lesson's af_xdp_user options plus our
// own, as one table (table.ts), and what the table cannot check alone.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { UserError } from '../lib/errors.js';
import { bpfObject, handlerFile } from '../lib/paths.js';
import type { DataplaneOptions, DataplaneSetting } from '../dataplane/dataplane.js';
import { MAX_BATCH, MAX_UMEM } from '../dataplane/layout.js';
import { checkCpus, parseCpuList } from '../dataplane/placement.js';
import { KEPT_NAMES } from '../dataplane/privileges.js';
import {
  XDP_COPY,
  XDP_FLAGS_DRV_MODE,
  XDP_FLAGS_SKB_MODE,
  XDP_USE_NEED_WAKEUP,
  XDP_ZEROCOPY,
} from '../dataplane/shim.js';
import { DEFAULT_METRICS_HOST, type ListenAddress, parseMetricsAddress } from './metrics.js';
import { type Parser, type Values, flag, integer, list, nonEmpty, optional, seconds, text, value } from './table.js';
import { START_NEEDS, START_NEEDS_NAMES } from '../dataplane/privileges.js';

/**
 * The RX queueing delay admission control (on by default: --fair) holds: well
 * under the tens of milliseconds a full 16384-slot ring holds. 3000 us kept
 * a ping as well and answered no more of a flood on this machine.
 */
export const DEFAULT_TARGET_DELAY_US = 1000;

/** --steer names for the built-in programs in build/bpf/. */
export const STEER = {
  echo: { file: 'xsk_steer.o', progname: 'xsk_echo_steer' },
  all: { file: 'xsk_steer.o', progname: 'xsk_redirect_all' },
  'every-other': { file: 'af_xdp_kern.o', progname: 'xdp_sock_prog' },
  fair: { file: 'xsk_fair.o', progname: 'xsk_fair' },
} as const;
type SteerName = keyof typeof STEER;

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

const device: Parser<string> = (raw) => {
  if (raw === '') throw new UserError('-d needs an interface name, e.g. -d veth-adv03');
  return raw;
};

export const frameSize: Parser<number> = (raw) => {
  if (raw !== '2048' && raw !== '4096') {
    throw new UserError(`--frame-size must be 2048 or 4096 (AF_XDP needs a power of two the page holds), not ${raw}`);
  }
  return Number(raw);
};

const ringSize: Parser<number> = (raw, name) => {
  const n = integer(64, 65536)(raw, name);
  if (!isPowerOfTwo(n)) throw new UserError(`${name} must be a power of two, not ${n}`);
  return n;
};

const queueList: Parser<number[] | 'all'> = (raw) => {
  if (raw === 'all') return 'all';
  const ids = raw.split(',').map((q) => integer(0, 1023)(q, '--queue'));
  if (new Set(ids).size !== ids.length) throw new UserError(`-Q ${raw} names a queue twice`);
  return ids;
};

const address: Parser<string> = (raw) => {
  if (!isIP(raw)) throw new UserError(`--addr '${raw}' is not an IPv6 or IPv4 address`);
  return raw;
};

const steerName: Parser<SteerName> = (raw) => {
  if (!(raw in STEER)) throw new UserError(`--steer ${raw} is not one of: ${Object.keys(STEER).join(', ')}`);
  return raw as SteerName;
};

const existingObject: Parser<string> = (raw) => {
  if (!existsSync(raw)) throw new UserError(`--filename ${raw}: no such file (built programs are in build/bpf/)`);
  return raw;
};

// Defaults from npm run bench -- --tuning: under a flood, 16384-slot rings answered 1.2-1.3x
// what 4096-slot ones did (measured, not explained; the UMEM size alone made no difference),
// at the price of a longer queue when overloaded. 16384 x 2048-byte frames: 32 MiB per queue.
export const SERVE_OPTIONS = {
  dev: optional('ifname', 'interface to serve (default: the test environment veth-adv03, made if needed)', device, 'd'),
  queue: value('ids', 'RX queue(s) to serve: one, a list 0,2,3, or all', '0', queueList, 'Q'),
  'skb-mode': flag('attach XDP in SKB (generic) mode', 'S'),
  'native-mode': flag('attach XDP in native (driver) mode', 'N'),
  'auto-mode': flag('let the kernel choose (the default)', 'A'),
  force: flag('replace an XDP program already on the interface', 'F'),
  steer: optional(
    'name',
    'a built-in XDP program: echo (only echo requests; the rest\n' +
      'stays with the kernel), all, every-other (lesson assignment 2),\n' +
      'fair (all, with admission control: --fair)',
    steerName,
  ),
  fair: flag(
    'under overload, drop in XDP per flow (source /64, IPv4 address\n' +
      'or MAC) so the RX queue stays short, and serve sparse flows\n' +
      'first (the default, unless --steer or --filename names another program)',
  ),
  'target-delay': optional(
    'us',
    `the RX queueing delay --fair holds (default ${DEFAULT_TARGET_DELAY_US}; implies --fair)`,
    integer(10, 1_000_000),
  ),
  'no-fair': flag("no admission control: libxdp's own XDP program, as the lesson has it"),
  filename: optional('obj', 'load this XDP object instead (it must have an XSKMAP xsks_map)', existingObject),
  progname: optional('name', 'the program in it (default: its first)', text),
  copy: flag('force copy mode', 'c'),
  'zero-copy': flag('force zero-copy mode', 'z'),
  'poll-mode': flag('wait in poll() when idle instead of spinning', 'p'),
  coalesce: value(
    'us',
    'poll mode (implied): after a wake-up that finds less than a\n' +
      'full batch, sleep this long so packets gather into one batch,\nwhen they arrive fast enough to gather 4 or more ' +
      "(like a NIC's\nadaptive rx-usecs); less CPU per packet, up to <us> more latency",
    '0',
    integer(0, 10_000),
  ),
  'busy-poll': value('us', 'busy-poll the driver from our own calls (SO_PREFER_BUSY_POLL)', '0', integer(0, 1_000_000)),
  'no-need-wakeup': flag('bind without XDP_USE_NEED_WAKEUP (kick the kernel every time)'),
  cpu: optional(
    'list',
    "pin each queue's worker thread alone to a core of the list (1, 2,3\n" +
      "or 2-5; one per worker) and keep Node's other threads off them",
    (raw) => checkCpus(parseCpuList(raw, '--cpu')),
  ),
  quiet: flag('no stats lines', 'q'),
  handler: value('file', 'wasm handler', handlerFile('echo.wasm'), (raw) => resolve(raw)),
  watch: flag('swap in the handler file again whenever it changes'),
  check: flag(
    'before a swap (--watch, SIGHUP, ctl swap): run afxdp-wasm check (under 1 s); refuse a handler that fails',
  ),
  frames: value('n', 'UMEM frames per queue', '16384', integer(64, Math.floor(MAX_UMEM / 2048))),
  'frame-size': value('n', '2048 or 4096', '2048', frameSize),
  'ring-size': value('n', 'size of each of the four rings, a power of two', '16384', ringSize),
  batch: value('n', `most descriptors per batch, 1..${MAX_BATCH}`, '256', integer(1, MAX_BATCH)),
  addr: list(
    'address',
    "the interface's IPv6 or IPv4 address for replies to multicast\n" +
      "(default: the interface's own; may be given twice)",
    address,
  ),
  'hop-limit': value('n', 'hop limit / TTL of replies', '64', integer(1, 255)),
  interval: value('s', 'seconds between stats lines', '2', seconds(0.05, 3600)),
  json: flag('one JSON object per stats period instead of text'),
  verbose: flag("show libxdp's and libbpf's own messages"),
  metrics: optional(
    'port',
    `serve Prometheus /metrics over HTTP on ${DEFAULT_METRICS_HOST}:<port>, or on\n` +
      '<addr>:<port> (IPv6 in brackets: [::1]:9100); port 0: any free one',
    (raw, flag) => parseMetricsAddress(raw, flag),
  ),
  user: optional(
    'name',
    `after set-up, run as this user, keeping only ${KEPT_NAMES}\n(to detach at exit); start as root`,
    nonEmpty('afxdp'),
  ),
};

export const SERVE_NOTES = `While it runs: kill -HUP <pid> reloads the handler file; afxdp-wasm ctl swap FILE.wasm
swaps in another one; afxdp-wasm ctl status / stats ask how it is doing.`;

/** The command line: the data plane's settings as they are, plus what only the CLI knows. */
export interface Options extends Pick<DataplaneOptions, DataplaneSetting> {
  dev: string | undefined;
  /** 'all', or the queue ids asked for. */
  queues: number[] | 'all';
  program: { filename: string; progname: string } | undefined;
  quiet: boolean;
  handlerPath: string;
  watch: boolean;
  check: boolean;
  intervalMs: number;
  json: boolean;
  metrics: ListenAddress | undefined;
  /** --user: the user to run as after set-up. */
  user: string | undefined;
}

type ServeValues = Values<typeof SERVE_OPTIONS>;

/** What one option cannot check alone: choices that exclude each other, and what follows from them. */
function checkCombinations(v: ServeValues): void {
  if ([v['skb-mode'], v['native-mode'], v['auto-mode']].filter(Boolean).length > 1) {
    throw new UserError('choose one of -S, -N and -A');
  }
  if (v.copy && v['zero-copy']) throw new UserError('choose one of -c and -z');
  if (v.progname !== undefined && v.filename === undefined) {
    throw new UserError('--progname needs --filename (the object it is in)');
  }
  if (v.steer !== undefined && v.filename !== undefined) throw new UserError('choose one of --steer and --filename');
  const maxFrames = Math.floor(MAX_UMEM / v['frame-size']);
  if (v.frames > maxFrames) {
    const size = v['frame-size'];
    throw new UserError(
      `--frames must be a whole number from 64 to ${maxFrames} with --frame-size ${size}, ` + `not '${v.frames}'`,
    );
  }
}

export function optionsFrom(v: ServeValues): Options {
  checkCombinations(v);
  const admissionTargetUs = admissionTarget(v);
  let bindFlags = v['no-need-wakeup'] ? 0 : XDP_USE_NEED_WAKEUP;
  if (v.copy) bindFlags |= XDP_COPY;
  if (v['zero-copy']) bindFlags |= XDP_ZEROCOPY;
  return {
    dev: v.dev,
    queues: v.queue,
    program:
      v.steer !== undefined
        ? steerProgram(v.steer)
        : v.filename !== undefined
          ? { filename: v.filename, progname: v.progname ?? '' }
          : admissionTargetUs > 0
            ? steerProgram('fair')
            : undefined,
    admissionTargetUs,
    xdpFlags: v['skb-mode'] ? XDP_FLAGS_SKB_MODE : v['native-mode'] ? XDP_FLAGS_DRV_MODE : 0,
    bindFlags,
    zeroCopy: v['zero-copy'],
    force: v.force,
    pollMode: v['poll-mode'] || v.coalesce > 0,
    coalesceUs: v.coalesce,
    quiet: v.quiet,
    handlerPath: v.handler,
    watch: v.watch,
    check: v.check,
    frames: v.frames,
    frameSize: v['frame-size'],
    ringSize: v['ring-size'],
    batch: v.batch,
    intervalMs: Math.round(v.interval * 1000),
    addrs: v.addr,
    hopLimit: v['hop-limit'],
    busyPollUs: v['busy-poll'],
    cpus: v.cpu,
    json: v.json,
    metrics: v.metrics,
    verbose: v.verbose,
    user: v.user,
  };
}

/**
 * 0: admission control off; else its target delay. It is on unless --no-fair, or --steer or
 * --filename names another program; --fair or --target-delay with another program is an error.
 */
function admissionTarget(v: ServeValues): number {
  const asked = v.fair || v['target-delay'] !== undefined;
  if (v['no-fair']) {
    if (asked) throw new UserError('choose --fair (or --target-delay) or --no-fair, not both');
    return 0;
  }
  const other =
    v.filename !== undefined
      ? `--filename ${v.filename}`
      : v.steer !== undefined && v.steer !== 'fair'
        ? `--steer ${v.steer}`
        : undefined;
  if (other && asked) {
    throw new UserError(`--fair drops in its own XDP program (--steer fair), so it cannot go with ${other}; drop one`);
  }
  if (other) return 0;
  return v['target-delay'] ?? DEFAULT_TARGET_DELAY_US;
}

function steerProgram(name: SteerName) {
  return { filename: bpfObject(STEER[name].file), progname: STEER[name].progname };
}

export function checkPrivileges(): void {
  const status = readFileSync('/proc/self/status', 'utf8');
  const eff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  if (Object.values(START_NEEDS).some((bit) => ((eff >> BigInt(bit)) & 1n) === 0n)) {
    throw new UserError(`AF_XDP needs root (or ${START_NEEDS_NAMES}): run it with sudo`);
  }
}

/** The interface exists, is up, and has the queues asked for; returns them. */
export function checkInterface(ifname: string, queues: number[] | 'all'): { queues: number[]; rxQueues: number } {
  const sys = `/sys/class/net/${ifname}`;
  if (ifname.includes('/') || !existsSync(sys))
    throw new UserError(`no interface named '${ifname}' (ip link lists them; npm run testenv -- setup makes one)`);
  const flags = parseInt(readFileSync(`${sys}/flags`, 'utf8'), 16);
  if ((flags & 1) === 0) throw new UserError(`interface ${ifname} is down; bring it up: ip link set dev ${ifname} up`);
  const rxQueues = readdirSync(`${sys}/queues`).filter((q) => q.startsWith('rx-')).length;
  if (queues === 'all') return { queues: Array.from({ length: rxQueues }, (_, i) => i), rxQueues };
  const missing = queues.find((q) => q >= rxQueues);
  if (missing !== undefined) {
    throw new UserError(
      `${ifname} has ${rxQueues} RX queue${rxQueues === 1 ? '' : 's'} (0..${rxQueues - 1}); -Q ${missing} does not exist`,
    );
  }
  return { queues, rxQueues };
}
