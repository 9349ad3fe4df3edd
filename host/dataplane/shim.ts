// The native addon (shim/), typed. Loaded by path: esbuild leaves it alone.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export interface Shim {
  open(config: PortConfig): number;
  step(port: number): number;
  settle(port: number): void;
  abortBatch(port: number): number;
  /** Settles the last batch, then poll()s; coalesceUs > 0: a wake-up short of a full batch sleeps that long too. */
  wait(port: number, timeoutMs: number, coalesceUs?: number): number;
  waitAny(ports: number[], timeoutMs: number, coalesceUs?: number): number;
  close(port: number): void;
  statistics(port: number): XdpStatistics;
  xdpQuery(ifname: string): AttachedProgram | null;
  xdpDetach(ifname: string, progId: number, mode: string): boolean;
  loadProgram(ifname: string, filename: string, progname: string, xdpFlags: number): { handle: number; id: number; name: string };
  bindToProgram(port: number, handle: number): void;
  closeProgram(handle: number): void;
  takeLog(): string[];
  versions(): { libbpf: string };
}

/** The repository root, from dist/ or build/test/ alike. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const ADDON_PATH = join(projectRoot(), 'shim', 'build', 'Release', 'afxdp_shim.node');

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
