import { readFileSync } from 'node:fs';
import type { EnvState } from '../../host/testenv/state.js';

export const TICK_NS = 1e9 / 100; // USER_HZ

export function processCpuNs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_NS; // utime + stime
}

export function machineBusyNs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const idle = cpu[3]! + cpu[4]!;
  return (cpu.reduce((a, b) => a + b, 0) - idle) * TICK_NS;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Packets the served (outer) interface has received: what actually reached the responder. */
export const outerRx = (env: EnvState) => Number(readFileSync(`/sys/class/net/${env.name}/statistics/rx_packets`, 'utf8'));
