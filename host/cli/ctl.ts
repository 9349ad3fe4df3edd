// afxdp-wasm ctl <swap FILE | status | stats>: talks to a running afxdp-wasm
// through its control socket.
import { resolve } from 'node:path';
import { findSocket, request } from '../control/client.js';
import { COMMANDS, type Request } from '../control/protocol.js';
import { UserError } from '../lib/errors.js';
import { command, flag, optional, text } from './table.js';

const SYNOPSIS = 'usage: afxdp-wasm ctl <swap [--check] FILE.wasm | status | stats> [-d DEV | --socket PATH]';

export const ctlCommand = command({
  summary: 'swap the handler of a running afxdp-wasm, or ask its status and stats',
  prog: 'afxdp-wasm',
  synopsis: SYNOPSIS,
  about: 'Talk to a running afxdp-wasm through its control socket.',
  options: {
    dev: optional('ifname', 'the instance serving this interface (default: the only one running)', text, 'd'),
    socket: optional('path', 'this control socket instead', text),
    check: flag('swap: run afxdp-wasm check on the handler first (under 1 s); refuse it if it fails'),
  },
  positionals: true,
  run: async ({ dev, socket, check }, [cmd, arg]) => {
    const req = requestOf(cmd, arg, check);
    const reply = await request(await findSocket(dev, socket), req);
    if (!reply.ok) throw new UserError(reply.error);
    const { ok: _ok, ...rest } = reply;
    if (req.cmd === 'status') {
      for (const q of rest.queues as { queue: number; handler: string; hash: string; since: string }[]) {
        console.log(`queue ${q.queue}: ${q.handler} (sha256 ${q.hash}) since ${q.since}`);
      }
    } else if (req.cmd === 'swap') {
      console.log(String(rest.message));
    } else {
      console.log(JSON.stringify(rest));
    }
  },
});

function requestOf(cmd: string | undefined, arg: string | undefined, check: boolean): Request {
  if (!cmd || !COMMANDS.includes(cmd)) throw new UserError(cmd ? `unknown command '${cmd}'; ${SYNOPSIS}` : SYNOPSIS);
  if (cmd !== 'swap') return { cmd: cmd as 'status' | 'stats' };
  if (!arg) throw new UserError('swap needs a handler file: afxdp-wasm ctl swap FILE.wasm');
  return { cmd, path: resolve(arg), ...(check ? { check } : {}) };
}
