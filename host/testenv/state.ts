// Where the test environments are remembered: one JSON file per environment
// plus `current`, the name used when a command is given no --name.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testenvStateDir } from '../lib/paths.js';

export interface EnvState {
  name: string;
  /** Counts environments; the N in fc00:dead:cafe:N::/64 (hex) and 10.11.N.0/24. */
  id: number;
  legacyIp: boolean;
  queues: number;
  staticNeighbours: boolean;
}

const fileOf = (name: string) => join(testenvStateDir(), `${name}.json`);
const currentFile = () => join(testenvStateDir(), 'current');

export function loadEnv(name: string): EnvState | undefined {
  const file = fileOf(name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as EnvState) : undefined;
}

export function allEnvs(): EnvState[] {
  if (!existsSync(testenvStateDir())) return [];
  return readdirSync(testenvStateDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(testenvStateDir(), f), 'utf8')) as EnvState);
}

export function saveEnv(env: EnvState): void {
  mkdirSync(testenvStateDir(), { recursive: true, mode: 0o700 });
  writeFileSync(fileOf(env.name), `${JSON.stringify(env, null, 2)}\n`);
  writeFileSync(currentFile(), `${env.name}\n`);
}

export function forgetEnv(name: string): void {
  rmSync(fileOf(name), { force: true });
  if (currentName() === name) rmSync(currentFile(), { force: true });
}

export function currentName(): string | undefined {
  return existsSync(currentFile()) ? readFileSync(currentFile(), 'utf8').trim() || undefined : undefined;
}

export const DEFAULT_NAME = 'veth-adv03';

export const ipv6Prefix = (env: EnvState) => `fc00:dead:cafe:${env.id.toString(16)}::`;
export const outerAddr = (env: EnvState) => `${ipv6Prefix(env)}1`;
export const innerAddr = (env: EnvState) => `${ipv6Prefix(env)}2`;
export const outerAddr4 = (env: EnvState) => `10.11.${env.id}.1`;
export const innerAddr4 = (env: EnvState) => `10.11.${env.id}.2`;
/** The interface inside the namespace; the outer one carries the environment's name. */
export const INNER_IF = 'veth0';
