import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvState } from '../../host/testenv/state.js';
import { ROOT } from '../helpers/testenv.js';

export const TICK_NS = 1e9 / 100; // USER_HZ

/** User and system time so far, ns, from a /proc/.../stat file (a process's or a thread's). */
export function cpuTimes(stat: string): { user: number; sys: number } {
  const fields = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) * TICK_NS, sys: Number(fields[12]) * TICK_NS }; // utime, stime
}

/** User plus system time so far, ns, from a /proc/.../stat file. */
export function cpuNs(stat: string): number {
  const { user, sys } = cpuTimes(stat);
  return user + sys;
}

export const processCpuNs = (pid: number): number => cpuNs(`/proc/${pid}/stat`);

export function machineBusyNs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const idle = cpu[3]! + cpu[4]!;
  return (cpu.reduce((a, b) => a + b, 0) - idle) * TICK_NS;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Packets the served (outer) interface has received: what actually reached the responder. */
export const outerRx = (env: EnvState) =>
  Number(readFileSync(`/sys/class/net/${env.name}/statistics/rx_packets`, 'utf8'));

/** Compiles test/bench/<source> with clang -O2 into build/bench/<exe>; returns the executable's path. */
export function buildC(source: string, exe: string, libs: string[] = []): string {
  const dir = join(ROOT, 'build', 'bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, exe);
  const cc = spawnSync('clang', ['-O2', '-o', out, join(ROOT, 'test', 'bench', source), ...libs], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`clang ${source} failed: ${cc.stderr}`);
  return out;
}

/** The q-quantile (0..1) of xs by the nearest-rank method; NaN when there are none. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
