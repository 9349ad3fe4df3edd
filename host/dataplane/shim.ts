// The native addon (shim/), typed. Loaded by path: esbuild leaves it alone.
import { createRequire } from 'node:module';
import { addonFile } from '../lib/paths.js';

export interface PortConfig {
  ifname: string;
  queue: number;
  memory: Uint8Array;
  umemOffset: number;
  frameSize: number;
  frames: number;
  ringSize: number;
  batchOffset: number;
  batchMax: number;
  countersOffset: number;
  xdpFlags: number;
  bindFlags: number;
  inhibitProgLoad: boolean;
  /** 0: off; else busy polling with SO_PREFER_BUSY_POLL for this many microseconds. */
  busyPollUs?: number;
}

export interface XdpStatistics {
  rx_dropped: number;
  rx_invalid_descs: number;
  tx_invalid_descs: number;
  rx_ring_full: number;
  rx_fill_ring_empty_descs: number;
  tx_ring_empty_descs: number;
}

export interface AttachedProgram {
  id: number;
  name: string;
  mode: 'native' | 'skb' | 'hw' | 'multi';
}

/** Where opening a port or loading a program can fail (shim/stage.h); the addon exports their numbers. */
export const STAGES = [
  'FIND_INTERFACE',
  'RESERVE_SLOT',
  'CHECK_LAYOUT',
  'ALLOCATE',
  'CREATE_UMEM',
  'CREATE_SOCKET',
  'SET_BUSY_POLL',
  'OPEN_OBJECT',
  'FIND_PROGRAM',
  'FIND_XSKS_MAP',
  'LOAD_PROGRAM',
  'ATTACH_PROGRAM',
  'MAP_FAIR_QUEUES',
  'ENTER_XSKS_MAP',
  'SET_ADMISSION',
  'OPEN_SPARSE_LANE',
  'ENTER_XSKS_LANE',
] as const;
export type Stage = (typeof STAGES)[number];

/** What open(), loadProgram(), bindToProgram() and admit() throw: what failed, as data. */
export interface ShimError extends Error {
  /** A value of Shim.stages. */
  stage: number;
  /** Positive; libbpf's own codes are 4000 and up. */
  errno: number;
  /** The errno in words, for the user; nothing decides on it. */
  reason: string;
  /** What libxdp and libbpf said during the call, one line each. */
  log: string[];
  /** loadProgram: the program's name, once found. */
  program?: string;
  /** loadProgram: the programs the object has (filled when the named one is missing). */
  programs?: string[];
  /** loadProgram: the kernel verifier's own words, when it refused the program. */
  verifierLog?: string;
}

export interface Shim {
  stages: Record<Stage, number>;
  open(config: PortConfig): number;
  step(port: number): number;
  /** At the end: settles the last batch and reaps what TX finished, taking no new RX. */
  drain(port: number): void;
  /** Settles the last batch (its replies go out) and refills FILL, taking no new RX. */
  flush(port: number): void;
  abortBatch(port: number): number;
  /**
   * Settles each port's last batch, then poll()s them and wakeFd (-1: none) for up to timeoutMs;
   * coalesceUs > 0: a wake-up short of a full batch sleeps that long too.
   */
  wait(ports: number[], timeoutMs: number, coalesceUs: number, wakeFd: number): number;
  /** An eventfd that ends a wait() given it, at once: wake(fd) rings it. */
  newWaker(): number;
  wake(fd: number): boolean;
  closeWaker(fd: number): void;
  /** The socket's pending error (SO_ERROR, taken): ENETDOWN once its interface is gone. */
  socketError(port: number): number;
  /** Gives a page-aligned range of a wasm memory back to the kernel: it reads as zeros again. */
  discard(memory: Uint8Array, offset: number, length: number): void;
  /**
   * Moves a page-aligned range's pages out of a wasm memory (no copy); the range then reads as
   * zeros. Returns a name for them, for putBack() or dropAside().
   */
  setAside(memory: Uint8Array, offset: number, length: number): number;
  /** The pages set aside replace those at offset. */
  putBack(aside: number, memory: Uint8Array, offset: number): void;
  /** The pages set aside go back to the kernel. */
  dropAside(aside: number): void;
  /** What thread tid, now gone, left set aside goes back to the kernel; returns how many asides. */
  dropAsidesOf(tid: number): number;
  /** Fixes glibc's trim threshold (M_TRIM_THRESHOLD) for every malloc arena; false if glibc refused. */
  setMallocTrimThreshold(bytes: number): boolean;
  /** The calling thread's id. */
  gettid(): number;
  /** Pins thread tid (0: the calling one) to the given CPUs; returns 0 or an errno. */
  setAffinity(tid: number, cpus: number[]): number;
  close(port: number): void;
  statistics(port: number): XdpStatistics;
  xdpQuery(ifname: string): AttachedProgram | null;
  /** Detaches progId only if it is still the one attached; with its held fd (holdProgram) when there is one. */
  xdpDetach(ifname: string, progId: number, mode: string): boolean;
  /**
   * Opens and keeps an fd of program progId for xdpDetach: opening by id needs CAP_SYS_ADMIN,
   * which a process that dropped root (--user) no longer has at exit. False if it cannot.
   */
  holdProgram(progId: number): boolean;
  /**
   * Switches every thread to uid, gid and groups, keeping only the capabilities keep (their
   * numbers) on the calling thread, with no_new_privs on all. Throws an Error with errno and
   * step (the call that failed).
   */
  dropPrivileges(uid: number, gid: number, groups: number[], keep: number[]): void;
  loadProgram(
    ifname: string,
    filename: string,
    progname: string,
    xdpFlags: number,
  ): { handle: number; id: number; name: string };
  bindToProgram(port: number, handle: number): void;
  closeProgram(handle: number): void;
  /** The port holds its queue's RX delay near targetUs through the program's fair_queues map (bpf/xsk_fair.c). */
  admit(port: number, handle: number, targetUs: number): void;
  takeLog(): string[];
}

export const ADDON_PATH = addonFile('shim', 'afxdp_shim');

let shim: Shim | undefined;
export function loadShim(): Shim {
  shim ??= createRequire(import.meta.url)(ADDON_PATH) as Shim;
  return shim;
}

// linux/if_link.h and linux/if_xdp.h
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;
export const XDP_COPY = 1 << 1;
export const XDP_ZEROCOPY = 1 << 2;
export const XDP_USE_NEED_WAKEUP = 1 << 3;
