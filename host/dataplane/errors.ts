// What the user reads when the shim fails to open a port or load a program. The shim says
// which stage failed and the errno; this one table turns the pair into one line naming the
// problem and the fix. Library wording (libbpf's log, the verifier's last lines) may be
// shown in a message, but never decides which message it is.
import { constants } from 'node:os';
import { START_NEEDS_NAMES } from './privileges.js';
import type { Shim, ShimError, Stage } from './shim.js';

/** A shim error with its stage named. */
export interface Failure {
  stage: Stage;
  errno: number;
  reason: string;
  /** The shim's own one-line account ("cannot create the AF_XDP socket: ..."). */
  message: string;
  log: string[];
  program?: string;
  programs?: string[];
  verifierLog?: string;
}

/** What was being done when it failed. */
export interface FailureContext {
  ifname: string;
  queue?: number;
  zeroCopy?: boolean;
  /** The XDP program's object file (--filename, --steer). */
  filename?: string;
  progname?: string;
  /** The interface's driver, asked only when a message names it. */
  driver: () => string;
}

type ErrnoName = keyof typeof constants.errno;
type Message = (f: Failure, c: FailureContext) => string;
/** Per errno name, and `other` for the rest. */
type StageMessages = Partial<Record<ErrnoName, Message>> & { other: Message };

/** The name of an errno (EBUSY), or libbpf's own code as a number. */
export const errnoName = (errno: number): string =>
  Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;

const lastLines = (lines: string[], n: number) =>
  lines
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ');
const queueOf = (c: FailureContext) => `${c.ifname} queue ${c.queue ?? '?'}`;
const programIn = (f: Failure, c: FailureContext) => `${f.program ?? c.progname ?? 'the program'} in ${c.filename}`;
const notPermitted: Message = (f) =>
  `not permitted to create an AF_XDP socket (${f.reason}): ` + `run as root, or with ${START_NEEDS_NAMES}`;
const cannotServe: Message = (f, c) => `cannot serve ${queueOf(c)}: ${f.message} (--verbose shows libxdp's own words)`;
/** The verifier's last words, without its closing statistics line. */
const verifierWords = (f: Failure) =>
  lastLines(
    (f.verifierLog ?? '').split('\n').filter((l) => !l.startsWith('processed ')),
    2,
  );

/** Opening a port: any of its stages may meet these. */
const socketMessages: StageMessages = {
  EOPNOTSUPP: (f, c) =>
    c.zeroCopy
      ? `${c.ifname} (driver ${c.driver()}) has no zero-copy AF_XDP; run without -z: copy mode (-c) works`
      : `${c.ifname} (driver ${c.driver()}) does not support AF_XDP in this mode (${f.reason}); try -S (SKB mode)`,
  EBUSY: (_f, c) => `queue ${c.queue} of ${c.ifname} is busy: another AF_XDP socket is bound to it`,
  EINVAL: (f, c) =>
    `the kernel refused the socket on ${queueOf(c)} (${f.reason}); check --frame-size, --frames and the queue`,
  EPERM: notPermitted,
  ENOMEM: (f, c) => `not enough memory for the UMEM and rings of ${queueOf(c)} (${f.reason}); try fewer --frames`,
  other: cannotServe,
};

export const MESSAGES: Record<Stage, StageMessages> = {
  FIND_INTERFACE: { other: (_f, c) => `no interface named '${c.ifname}'` },
  RESERVE_SLOT: { other: (f) => `too many ports or XDP programs in one process (${f.reason}); serve fewer queues` },
  CHECK_LAYOUT: {
    other: (f, c) => `the memory layout does not fit ${queueOf(c)} (${f.reason}); check --frames and --batch`,
  },
  ALLOCATE: socketMessages,
  CREATE_UMEM: socketMessages,
  CREATE_SOCKET: socketMessages,
  SET_BUSY_POLL: {
    EPERM: (f) => `not permitted to set busy polling (${f.reason}): --busy-poll needs CAP_NET_ADMIN`,
    other: (f, c) => `cannot set busy polling on ${queueOf(c)} (${f.reason}); run without --busy-poll`,
  },
  OPEN_OBJECT: {
    ENOENT: (_f, c) => `--filename ${c.filename}: no such file`,
    other: (f, c) => `cannot open ${c.filename} as a BPF object (${f.reason}); build it with clang -target bpf`,
  },
  FIND_PROGRAM: {
    other: (f, c) =>
      f.programs?.length
        ? `${c.filename} has no XDP program named '${c.progname}'; ` +
          `name one of its programs with --progname: ${f.programs.join(', ')}`
        : `${c.filename} has no program at all; put one in a section SEC("xdp")`,
  },
  FIND_XSKS_MAP: {
    other: (_f, c) =>
      `${c.filename} has no XSKMAP named xsks_map, which AF_XDP needs to find its sockets; ` +
      'declare one (see bpf/xsks_map.h)',
  },
  LOAD_PROGRAM: {
    EACCES: (f, c) => `the kernel's verifier refused ${programIn(f, c)} (${f.reason}): ${verifierWords(f)}`,
    EINVAL: (f, c) => `the kernel's verifier refused ${programIn(f, c)} (${f.reason}): ${verifierWords(f)}`,
    EPERM: (f, c) =>
      `not permitted to load ${programIn(f, c)} (${f.reason}): run as root, or with CAP_BPF and CAP_NET_ADMIN`,
    other: (f, c) => `the kernel did not load ${programIn(f, c)} (${f.reason}); --verbose shows libbpf's own words`,
  },
  ATTACH_PROGRAM: {
    EOPNOTSUPP: (f, c) =>
      `${c.ifname} (driver ${c.driver()}) cannot run ${programIn(f, c)} in this mode (${f.reason}); try -S (SKB mode)`,
    EBUSY: (f, c) => `${c.ifname} already has an XDP program attached (${f.reason}); add -F to replace it`,
    EEXIST: (f, c) => `${c.ifname} already has an XDP program attached (${f.reason}); add -F to replace it`,
    other: (f, c) => `cannot attach ${c.filename}: ${f.reason}${f.log.length ? `: ${lastLines(f.log, 2)}` : ''}`,
  },
  MAP_FAIR_QUEUES: {
    other: (f, c) =>
      `${c.filename}'s fair_queues map cannot be used (${f.reason}); declare it as bpf/xsk_fair.c does (mmap-able)`,
  },
  ENTER_XSKS_MAP: {
    other: (f, c) =>
      `cannot enter the socket of ${queueOf(c)} in xsks_map of ${c.filename} (${f.reason}); ` +
      'give xsks_map an entry for every queue (max_entries)',
  },
  SET_ADMISSION: {
    other: (f, c) =>
      `queue ${c.queue} has no entry in fair_queues of ${c.filename} (${f.reason}); give it one per queue`,
  },
  OPEN_SPARSE_LANE: {
    other: (f, c) =>
      `cannot open the sparse lane of ${queueOf(c)} (${f.reason}); --no-fair runs without admission control`,
  },
  ENTER_XSKS_LANE: {
    other: (f, c) =>
      `cannot enter the sparse lane of ${queueOf(c)} in xsks_lane of ${c.filename} (${f.reason}); ` +
      'give xsks_lane an entry for every queue (max_entries)',
  },
};

/** The message for a failure: its stage's entry for its errno, or for any other. */
export function describeFailure(f: Failure, c: FailureContext): string {
  const messages = MESSAGES[f.stage];
  // By value: some errnos have two names (ENOTSUP and EOPNOTSUPP are both 95 on Linux).
  const named = (Object.keys(messages) as ErrnoName[]).find((name) => constants.errno[name] === f.errno);
  return (named ? messages[named]! : messages.other)(f, c);
}

/** Names the stage of what the shim threw; undefined when it is not a shim error (a bug of ours). */
export function failureOf(shim: Shim, err: unknown): Failure | undefined {
  const e = err as Partial<ShimError> | null;
  if (typeof e?.stage !== 'number' || typeof e.errno !== 'number') return undefined;
  const stage = (Object.keys(shim.stages) as Stage[]).find((name) => shim.stages[name] === e.stage);
  if (!stage) return undefined;
  return {
    stage,
    errno: e.errno,
    reason: e.reason ?? '',
    message: e.message ?? '',
    log: e.log ?? [],
    program: e.program,
    programs: e.programs,
    verifierLog: e.verifierLog,
  };
}
