// The control socket's protocol: one JSON request line, one JSON reply line.
import { join } from 'node:path';
import { runDir } from '../dataplane/ownership.js';

export type Request = { cmd: 'swap'; path: string } | { cmd: 'status' } | { cmd: 'stats' };
export type Reply = { ok: true; [key: string]: unknown } | { ok: false; error: string };

export const controlDir = () => join(runDir(), 'ctl');
export const socketPath = (ifname: string) => join(controlDir(), `${ifname}.sock`);
export const COMMANDS = ['swap', 'status', 'stats'];
