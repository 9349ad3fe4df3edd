// The control socket's protocol: one JSON request line, one JSON reply line.

export type Request = { cmd: 'swap'; path: string } | { cmd: 'status' } | { cmd: 'stats' };
export type Reply = { ok: true; [key: string]: unknown } | { ok: false; error: string };

export const COMMANDS = ['swap', 'status', 'stats'];
