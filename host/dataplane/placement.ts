// Thread placement (--cpu): each worker alone on the core it is given, and
// every other thread of the process (Node's main thread, V8's platform
// threads, libuv's pool) on the other cores. Without this, a user who pins
// the process to a core (taskset, as every AF_XDP guide says) has Node's own
// threads preempting the worker there, and its latency tail grows to
// milliseconds. Threads started later by the main thread inherit its mask,
// so they stay off the workers' cores too.
import { readFileSync, readdirSync } from 'node:fs';
import { UserError } from '../lib/errors.js';
import type { Shim } from './shim.js';

/** "0-3,8,10-11" -> [0, 1, 2, 3, 8, 10, 11], the kernel's CPU list format. */
export function parseCpuList(text: string, what: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const [lo, hi] = [Number(m?.[1]), Number(m?.[2] ?? m?.[1])];
    if (!m || hi < lo) throw new UserError(`${what} '${text}' is not a CPU list like 1, 2,3 or 2-5`);
    for (let cpu = lo; cpu <= hi; cpu++) cpus.push(cpu);
  }
  if (new Set(cpus).size !== cpus.length) throw new UserError(`${what} '${text}' names a CPU twice`);
  return cpus;
}

export const onlineCpus = (): number[] =>
  parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'), 'online CPUs');

/** --cpu: every CPU must exist and be online. */
export function checkCpus(cpus: number[]): number[] {
  const online = onlineCpus();
  const missing = cpus.find((c) => !online.includes(c));
  if (missing !== undefined) {
    throw new UserError(`--cpu ${missing}: no such CPU online (this machine has ${online.join(',')}); pick from those`);
  }
  return cpus;
}

/**
 * Moves every thread of this process but the workers onto the online CPUs no worker has.
 * Returns a line for the user when there is none left (every core serves a queue).
 */
export function keepOffWorkerCpus(shim: Shim, workerTids: number[], workerCpus: number[]): string | undefined {
  const rest = onlineCpus().filter((c) => !workerCpus.includes(c));
  if (rest.length === 0) return `Note: --cpu gives every core to a worker; Node's own threads share them.`;
  for (const name of readdirSync('/proc/self/task')) {
    const tid = Number(name);
    if (workerTids.includes(tid)) continue;
    const err = shim.setAffinity(tid, rest);
    // A thread that ended meanwhile (ESRCH) needs no place; a cpuset that forbids the rest (EINVAL) is said.
    if (err === 22)
      return `Note: this process may not run on CPUs ${rest.join(',')} (its cpuset); Node's own threads share the workers' cores.`;
  }
  return undefined;
}
