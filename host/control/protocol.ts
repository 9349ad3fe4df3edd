// The control socket's protocol: one JSON request line, one JSON reply line.

/** swap: check runs afxdp-wasm check's short check first and refuses a handler that fails it. */
export type Request = { cmd: 'swap'; path: string; check?: boolean } | { cmd: 'status' } | { cmd: 'stats' };
export type Reply = { ok: true; [key: string]: unknown } | { ok: false; error: string };

export const COMMANDS = ['swap', 'status', 'stats'];
