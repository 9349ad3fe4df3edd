// Which XDP program on an interface is ours, so that we never leave one
// behind and never remove someone else's.
//
// libxdp attaches its default program through netlink, which outlives the
// process. So at start we note the program's id in the run dir's ports/;
// at exit, and at the next start after a SIGKILL, we detach exactly that id
// (XDP_FLAGS_REPLACE: never a program attached since).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { UserError } from '../lib/errors.js';
import { ownerFile, portsDir } from '../lib/paths.js';
import type { AttachedProgram, Shim } from './shim.js';

interface Owner {
  pid: number;
  program: AttachedProgram;
}

function readOwner(ifname: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(ownerFile(ifname), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

function isLiveAfxdp(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('afxdp-wasm');
  } catch {
    return false;
  }
}

const describe = (p: AttachedProgram) => `'${p.name}' (id ${p.id}, ${p.mode})`;

/**
 * Makes the interface free for us: removes a program a killed run of ours
 * left, or (with force) whatever is there. Returns lines worth telling the user.
 */
export function claimInterface(shim: Shim, ifname: string, force: boolean): string[] {
  const attached = shim.xdpQuery(ifname);
  const owner = readOwner(ifname);
  if (!attached) {
    if (owner && !isLiveAfxdp(owner.pid)) rmSync(ownerFile(ifname), { force: true });
    return [];
  }
  if (owner && owner.program.id === attached.id) {
    if (isLiveAfxdp(owner.pid)) {
      throw new UserError(`${ifname} is already served by afxdp-wasm (pid ${owner.pid}); stop that one first`);
    }
    shim.xdpDetach(ifname, attached.id, attached.mode);
    rmSync(ownerFile(ifname), { force: true });
    return [`Removed XDP program ${describe(attached)} that a killed afxdp-wasm (pid ${owner.pid}) left on ${ifname}.`];
  }
  if (!force) {
    throw new UserError(
      `${ifname} already has XDP program ${describe(attached)} attached; add -F to replace it, or remove it: xdp-loader unload ${ifname} --all`,
    );
  }
  if (!shim.xdpDetach(ifname, attached.id, attached.mode))
    throw new UserError(`cannot detach XDP program ${describe(attached)} from ${ifname}`);
  return [`Replaced XDP program ${describe(attached)} on ${ifname} (-F).`];
}

// Whatever way the process ends (process.exit, an uncaught error), the
// 'exit' event still runs synchronously: the last chance to detach.
const releaseAtExit = new Map<string, () => void>();

/** Notes the program now on the interface as ours, and arranges its release at exit. */
export function recordOwnership(shim: Shim, ifname: string): AttachedProgram | undefined {
  const program = shim.xdpQuery(ifname) ?? undefined;
  if (!program) return undefined;
  shim.holdProgram(program.id); // for the detach at exit, after --user dropped root
  mkdirSync(portsDir(), { recursive: true, mode: 0o700 });
  writeFileSync(ownerFile(ifname), `${JSON.stringify({ pid: process.pid, program } satisfies Owner)}\n`);
  const release = () => releaseInterface(shim, ifname, program);
  releaseAtExit.set(ifname, release);
  process.once('exit', release);
  return program;
}

/** Detaches our program if it is still there and forgets it. Safe to call twice, and from an exit handler. */
export function releaseInterface(shim: Shim, ifname: string, program: AttachedProgram | undefined): void {
  const atExit = releaseAtExit.get(ifname);
  if (atExit) {
    releaseAtExit.delete(ifname);
    process.removeListener('exit', atExit);
  }
  if (program && existsSync(`/sys/class/net/${ifname}`)) {
    const now = shim.xdpQuery(ifname);
    if (now && now.id === program.id && !shim.xdpDetach(ifname, program.id, program.mode)) {
      console.error(
        `Cannot detach XDP program ${describe(program)} from ${ifname}; ` +
          `remove it with xdp-loader unload ${ifname} --all (the next start of afxdp-wasm on ${ifname} does too).`,
      );
    }
  }
  const owner = readOwner(ifname);
  if (owner && owner.pid === process.pid) rmSync(ownerFile(ifname), { force: true });
}
