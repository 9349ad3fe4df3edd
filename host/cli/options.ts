// The command line of afxdp-wasm: the lesson's af_xdp_user options plus our own.
// Parsed with node:util parseArgs (Node's own, maintained with Node: no dependency).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from '../lib/errors.js';
import type { DataplaneOptions, DataplaneSetting } from '../dataplane/dataplane.js';
import { MAX_BATCH, MAX_UMEM } from '../dataplane/layout.js';
import { checkCpus, parseCpuList } from '../dataplane/placement.js';
import { XDP_COPY, XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, XDP_USE_NEED_WAKEUP, XDP_ZEROCOPY, projectRoot } from '../dataplane/shim.js';

/**
 * The RX queueing delay admission control holds by default (--fair): well
 * under the tens of milliseconds a full 16384-slot ring holds. 3000 us kept
 * a ping as well and answered no more of a flood on this machine.
 */
export const DEFAULT_TARGET_DELAY_US = 1000;

export const USAGE = `Usage: afxdp-wasm [options]   (npm start -- [options])
Serve one queue of an interface through AF_XDP with a WebAssembly handler.
Without -d it serves the test environment veth-adv03, making it if needed.

  -d, --dev <ifname>     interface to serve
  -Q, --queue <ids>      RX queue(s) to serve: 0 (default), a list 0,2,3, or all
  -S, --skb-mode         attach XDP in SKB (generic) mode
  -N, --native-mode      attach XDP in native (driver) mode
  -A, --auto-mode        let the kernel choose (default)
  -F, --force            replace an XDP program already on the interface
      --steer <name>     a built-in XDP program: echo (only echo requests; the rest
                         stays with the kernel), all, every-other (lesson assignment 2),
                         fair (all, with admission control: --fair)
      --fair             under overload, drop in XDP per flow (source /64, IPv4 address
                         or MAC) so the RX queue stays short and sparse flows get through
      --target-delay <us>  the RX queueing delay --fair holds (default ${DEFAULT_TARGET_DELAY_US}; implies --fair)
      --no-fair          no admission control
      --filename <obj>   load this XDP object instead (it must have an XSKMAP xsks_map)
      --progname <name>  the program in it (default: its first)
  -c, --copy             force copy mode
  -z, --zero-copy        force zero-copy mode
  -p, --poll-mode        wait in poll() when idle instead of spinning
      --coalesce <us>    poll mode (implied): after a wake-up that finds less than a
                         full batch, sleep this long so packets gather into one batch,
                         when they arrive fast enough to gather 4 or more (like a NIC's
                         adaptive rx-usecs); less CPU per packet, up to <us> more latency
      --busy-poll <us>   busy-poll the driver from our own calls (SO_PREFER_BUSY_POLL)
      --no-need-wakeup   bind without XDP_USE_NEED_WAKEUP (kick the kernel every time)
      --cpu <list>       pin each queue's worker thread alone to a core of the list (1, 2,3
                         or 2-5; one per worker) and keep Node's other threads off them
  -q, --quiet            no stats lines
      --handler <file>   wasm handler (default build/asm/echo.wasm)
      --watch            swap in the handler file again whenever it changes
      --frames <n>       UMEM frames per queue (default 16384)
      --frame-size <n>   2048 or 4096 (default 2048)
      --ring-size <n>    size of each of the four rings, a power of two (default 16384)
      --batch <n>        most descriptors per batch, 1..${MAX_BATCH} (default 256)
      --addr <address>   the interface's IPv6 or IPv4 address for replies to multicast
                         (default: the interface's own; may be given twice)
      --hop-limit <n>    hop limit / TTL of replies (default 64)
      --interval <s>     seconds between stats lines (default 2)
      --json             one JSON object per stats period instead of text
      --verbose          show libxdp's and libbpf's own messages
  -h, --help             this text

While it runs: kill -HUP <pid> reloads the handler file; afxdp-wasm ctl swap FILE.wasm
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
  intervalMs: number;
  json: boolean;
  help: boolean;
}

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`--${name} must be a whole number from ${min} to ${max}, not '${value}'`);
  return n;
}

function checkAddr(addr: string): string {
  if (!isIP(addr)) throw new UserError(`--addr '${addr}' is not an IPv6 or IPv4 address`);
  return addr;
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

export function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dev: { type: 'string', short: 'd' },
      queue: { type: 'string', short: 'Q' },
      'skb-mode': { type: 'boolean', short: 'S' },
      'native-mode': { type: 'boolean', short: 'N' },
      'auto-mode': { type: 'boolean', short: 'A' },
      force: { type: 'boolean', short: 'F' },
      copy: { type: 'boolean', short: 'c' },
      'zero-copy': { type: 'boolean', short: 'z' },
      'poll-mode': { type: 'boolean', short: 'p' },
      steer: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      filename: { type: 'string' },
      progname: { type: 'string' },
      handler: { type: 'string' },
      watch: { type: 'boolean' },
      frames: { type: 'string' },
      'frame-size': { type: 'string' },
      'ring-size': { type: 'string' },
      batch: { type: 'string' },
      interval: { type: 'string' },
      addr: { type: 'string', multiple: true },
      'hop-limit': { type: 'string' },
      'busy-poll': { type: 'string' },
      coalesce: { type: 'string' },
      'no-need-wakeup': { type: 'boolean' },
      cpu: { type: 'string' },
      fair: { type: 'boolean' },
      'no-fair': { type: 'boolean' },
      'target-delay': { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (positionals.length > 0) throw new UserError(`unexpected argument '${positionals[0]}' (options start with -; see --help)`);
  if (values.dev === '') throw new UserError('-d needs an interface name, e.g. -d veth-adv03');
  const modes = [values['skb-mode'], values['native-mode'], values['auto-mode']].filter(Boolean).length;
  if (modes > 1) throw new UserError('choose one of -S, -N and -A');
  if (values.copy && values['zero-copy']) throw new UserError('choose one of -c and -z');
  if (values.progname !== undefined && values.filename === undefined) throw new UserError('--progname needs --filename (the object it is in)');
  if (values.steer !== undefined && values.filename !== undefined) throw new UserError('choose one of --steer and --filename');
  // Defaults from npm run bench -- --tuning: under a flood, 16384-slot rings answered 1.2-1.3x
  // what 4096-slot ones did (measured, not explained; the UMEM size alone made no difference),
  // at the price of a longer queue when overloaded. 16384 x 2048-byte frames: 32 MiB per queue.
  const frameSize = integer('frame-size', values['frame-size'], 2048, 2048, 4096);
  if (frameSize !== 2048 && frameSize !== 4096) throw new UserError(`--frame-size must be 2048 or 4096 (AF_XDP needs a power of two the page holds), not ${frameSize}`);
  const frames = integer('frames', values.frames, 16384, 64, Math.floor(MAX_UMEM / frameSize));
  const ringSize = integer('ring-size', values['ring-size'], 16384, 64, 65536);
  if (!isPowerOfTwo(ringSize)) throw new UserError(`--ring-size must be a power of two, not ${ringSize}`);
  const seconds = Number(values.interval ?? '2');
  if (!(seconds >= 0.05 && seconds <= 3600)) throw new UserError(`--interval must be seconds from 0.05 to 3600, not '${values.interval}'`);
  const coalesceUs = integer('coalesce', values.coalesce, 0, 0, 10_000);
  const admissionTargetUs = admissionTarget(values);
  let bindFlags = values['no-need-wakeup'] ? 0 : XDP_USE_NEED_WAKEUP;
  if (values.copy) bindFlags |= XDP_COPY;
  if (values['zero-copy']) bindFlags |= XDP_ZEROCOPY;
  return {
    dev: values.dev,
    queues: parseQueues(values.queue ?? '0'),
    program: values.steer !== undefined ? steerProgram(values.steer)
      : values.filename !== undefined ? userProgram(values.filename, values.progname ?? '')
      : admissionTargetUs > 0 ? steerProgram('fair') : undefined,
    admissionTargetUs,
    xdpFlags: values['skb-mode'] ? XDP_FLAGS_SKB_MODE : values['native-mode'] ? XDP_FLAGS_DRV_MODE : 0,
    bindFlags,
    zeroCopy: values['zero-copy'] ?? false,
    force: values.force ?? false,
    pollMode: (values['poll-mode'] ?? false) || coalesceUs > 0,
    coalesceUs,
    quiet: values.quiet ?? false,
    handlerPath: resolve(values.handler ?? join(projectRoot(), 'build', 'asm', 'echo.wasm')),
    watch: values.watch ?? false,
    frames,
    frameSize,
    ringSize,
    batch: integer('batch', values.batch, 256, 1, MAX_BATCH),
    intervalMs: Math.round(seconds * 1000),
    addrs: (values.addr ?? []).map(checkAddr),
    hopLimit: integer('hop-limit', values['hop-limit'], 64, 1, 255),
    busyPollUs: integer('busy-poll', values['busy-poll'], 0, 0, 1_000_000),
    cpus: values.cpu === undefined ? undefined : checkCpus(parseCpuList(values.cpu, '--cpu')),
    json: values.json ?? false,
    verbose: values.verbose ?? false,
    help: values.help ?? false,
  };
}

function parseQueues(value: string): number[] | 'all' {
  if (value === 'all') return 'all';
  const ids = value.split(',').map((q) => integer('queue', q, 0, 0, 1023));
  if (new Set(ids).size !== ids.length) throw new UserError(`-Q ${value} names a queue twice`);
  return ids;
}

/** 0: admission control off; else its target delay. --fair and --target-delay need its program, xsk_fair. */
interface AdmissionValues {
  fair?: boolean; 'no-fair'?: boolean; 'target-delay'?: string; steer?: string; filename?: string;
}
function admissionTarget(values: AdmissionValues): number {
  const asked = values.fair === true || values['target-delay'] !== undefined;
  if (values['no-fair']) {
    if (asked) throw new UserError('choose --fair (or --target-delay) or --no-fair, not both');
    return 0;
  }
  if (!asked && values.steer !== 'fair') return 0;
  const other = values.filename !== undefined ? `--filename ${values.filename}`
    : values.steer !== undefined && values.steer !== 'fair' ? `--steer ${values.steer}` : undefined;
  if (other) {
    throw new UserError(`--fair drops in its own XDP program (--steer fair), so it cannot go with ${other}; drop one`);
  }
  return integer('target-delay', values['target-delay'], DEFAULT_TARGET_DELAY_US, 10, 1_000_000);
}

/** --steer names for the built-in programs in build/bpf/. */
export const STEER = {
  echo: { file: 'xsk_steer.o', progname: 'xsk_echo_steer' },
  all: { file: 'xsk_steer.o', progname: 'xsk_redirect_all' },
  'every-other': { file: 'af_xdp_kern.o', progname: 'xdp_sock_prog' },
  fair: { file: 'xsk_fair.o', progname: 'xsk_fair' },
} as const;

function steerProgram(name: string) {
  const steer = STEER[name as keyof typeof STEER];
  if (!steer) throw new UserError(`--steer ${name} is not one of: ${Object.keys(STEER).join(', ')}`);
  return { filename: join(projectRoot(), 'build', 'bpf', steer.file), progname: steer.progname };
}

function userProgram(filename: string, progname: string) {
  if (!existsSync(filename)) throw new UserError(`--filename ${filename}: no such file (built programs are in build/bpf/)`);
  return { filename, progname };
}

// CAP_NET_ADMIN (12), CAP_IPC_LOCK (14), CAP_BPF (39): what AF_XDP and XDP need.
const NEEDED_CAPS = [12n, 14n, 39n];

export function checkPrivileges(): void {
  const status = readFileSync('/proc/self/status', 'utf8');
  const eff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  if (NEEDED_CAPS.some((bit) => ((eff >> bit) & 1n) === 0n)) {
    throw new UserError('AF_XDP needs root (or CAP_NET_ADMIN, CAP_BPF and CAP_IPC_LOCK): run it with sudo');
  }
}

/** The interface exists, is up, and has the queues asked for; returns them. */
export function checkInterface(ifname: string, queues: number[] | 'all'): { queues: number[]; rxQueues: number } {
  const sys = `/sys/class/net/${ifname}`;
  if (ifname.includes('/') || !existsSync(sys)) throw new UserError(`no interface named '${ifname}' (ip link lists them; npm run testenv -- setup makes one)`);
  const flags = parseInt(readFileSync(`${sys}/flags`, 'utf8'), 16);
  if ((flags & 1) === 0) throw new UserError(`interface ${ifname} is down; bring it up: ip link set dev ${ifname} up`);
  const rxQueues = readdirSync(`${sys}/queues`).filter((q) => q.startsWith('rx-')).length;
  if (queues === 'all') return { queues: Array.from({ length: rxQueues }, (_, i) => i), rxQueues };
  const missing = queues.find((q) => q >= rxQueues);
  if (missing !== undefined) {
    throw new UserError(`${ifname} has ${rxQueues} RX queue${rxQueues === 1 ? '' : 's'} (0..${rxQueues - 1}); -Q ${missing} does not exist`);
  }
  return { queues, rxQueues };
}
