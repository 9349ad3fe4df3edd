// --user: serve without root. Started as root, afxdp-wasm attaches, binds,
// starts its workers and opens its control socket; then it hands the control
// socket to the user, switches groups, gid and uid, and keeps only the
// capabilities it still needs (KEPT), with no_new_privs (shim/privileges.cc
// does the switch for every thread).
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, statSync } from 'node:fs';
import { UserError } from '../lib/errors.js';
import { controlDir, runDir } from '../lib/paths.js';
import type { Shim } from './shim.js';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
  /** Supplementary groups, the user's own from the group database. */
  groups: number[];
}

/**
 * What a dropped process still does and what it takes, found by trying each without it:
 * - CAP_NET_ADMIN (12): detaching the XDP program at exit (netlink RTM_SETLINK); without it
 *   the program stayed on the interface.
 * Nothing else: stats (XDP_STATISTICS), the watchdog's SO_ERROR, swaps (a new wasm instance),
 * --fair's admission (an mmap of its map), TX kicks and polls work on what is already open.
 */
export const KEPT = { CAP_NET_ADMIN: 12 } as const;
export const KEPT_NAMES = Object.keys(KEPT).join(', ');

/**
 * What setting up takes without root (found with the systemd unit's bounding set, one taken away
 * at a time): CAP_NET_RAW to create an AF_XDP socket, CAP_SYS_ADMIN for libxdp, which opens
 * programs by id, and CAP_NET_ADMIN, CAP_IPC_LOCK, CAP_BPF for the program, the UMEM and the maps.
 */
export const START_NEEDS = { CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_SYS_ADMIN: 21, CAP_BPF: 39 };
export const START_NEEDS_NAMES = Object.keys(START_NEEDS).join(', ');

function idOf(name: string, flag: '-u' | '-g' | '-G'): number[] {
  const res = spawnSync('id', [flag, '--', name], { encoding: 'utf8' });
  if (res.error) throw new UserError(`--user: cannot look up '${name}' (${res.error.message})`);
  if (res.status !== 0) throw new UserError(`--user: no user named '${name}' (getent passwd lists them)`);
  return res.stdout.trim().split(/\s+/).map(Number);
}

/** The user --user names, looked up before anything is attached; one line if it cannot be. */
export function userToRunAs(name: string): RunAs {
  if (process.geteuid?.() !== 0) {
    throw new UserError(`--user ${name} drops root after set-up, so it needs to start as root: run it with sudo`);
  }
  const [uid] = idOf(name, '-u');
  const [gid] = idOf(name, '-g');
  if (uid === 0) throw new UserError(`--user ${name} is root (uid 0): name a user without privileges`);
  return { name, uid: uid!, gid: gid!, groups: idOf(name, '-G') };
}

/**
 * The control socket becomes the user's, and its folder too, so that `ctl` works as that
 * user and the socket is removed at exit; root can still use it. The run dir is opened for
 * passing through (0711: the user can reach ctl/ in it, list nothing else). The ownership
 * records (ports/) stay root's: the next start removes a record whose process is gone.
 */
function handOverControl(user: RunAs, socket: string): void {
  const run = runDir();
  chmodSync(run, statSync(run).mode | 0o111);
  // The socket before its folder: once the folder is the user's (0700), root without
  // CAP_DAC_OVERRIDE (a unit's CapabilityBoundingSet) can no longer reach into it.
  chownSync(socket, user.uid, user.gid);
  chownSync(controlDir(), user.uid, user.gid);
}

/** The switch; a failure part-way cannot be undone, so the caller stops the data plane on it. */
export function dropTo(shim: Shim, user: RunAs, socket: string): void {
  handOverControl(user, socket);
  try {
    shim.dropPrivileges(user.uid, user.gid, user.groups, Object.values(KEPT));
  } catch (err) {
    throw new UserError(
      `cannot switch to user ${user.name}: ${(err as Error).message}; ` +
        '--user needs CAP_SETUID, CAP_SETGID, CAP_SETPCAP and CAP_CHOWN at start',
    );
  }
}
