// The test environment of the lesson (its testenv.sh): a network namespace
// joined to this one by a veth pair, with IPv6 (and optionally IPv4)
// addresses and permanent neighbour entries, so AF_XDP has a real interface
// to work on and `ping` a real peer, without touching any other network.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { UserError } from '../lib/errors.js';
import { CommandError, requireCommands, requireRoot, run, sleepSync, succeeds } from '../lib/exec.js';
import {
  type EnvState,
  INNER_IF,
  allEnvs,
  forgetEnv,
  innerAddr,
  innerAddr4,
  loadEnv,
  outerAddr,
  outerAddr4,
  saveEnv,
} from './state.js';

export interface SetupOptions {
  name: string;
  legacyIp?: boolean;
  vlan?: boolean;
  queues?: number;
  /** false: no permanent neighbour entries, so Neighbour Discovery must work. */
  staticNeighbours?: boolean;
  /** Skip the closing ping (used when a program on the interface would eat it). */
  noPing?: boolean;
}

const IFNAMSIZ = 15; // longest interface name the kernel takes
/** The most RX and TX queues a test environment's veth gets. */
export const MAX_QUEUES = 64;

export function validateName(name: string): void {
  if (name.length === 0 || name.length > IFNAMSIZ) {
    throw new UserError(
      `environment name '${name}' must be 1 to ${IFNAMSIZ} characters (it names an interface); pick a shorter --name`,
    );
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new UserError(
      `environment name '${name}' may hold only letters, digits, '_', '.' and '-'; pick another --name`,
    );
  }
}

const netnsExists = (name: string) => existsSync(`/run/netns/${name}`);
const linkExists = (name: string) => existsSync(`/sys/class/net/${name}`);
const nsRun = (ns: string, argv: string[]) => run(['ip', 'netns', 'exec', ns, ...argv]);

/** The lowest environment number that neither a saved environment nor a live address uses. */
function freeId(): number {
  const used = new Set(allEnvs().map((e) => e.id));
  const addrs = run(['ip', '-6', '-o', 'addr', 'show']);
  for (const m of addrs.matchAll(/fc00:dead:cafe:([0-9a-f]{1,4})::/g)) used.add(parseInt(m[1]!, 16));
  for (let id = 1; id < 256; id++) if (!used.has(id)) return id;
  throw new UserError('all 255 test environments are in use; tear some down (testenv status lists them)');
}

// Quiet IPv6: no duplicate address detection, no router solicitations or
// adverts, and the MLD reports a group join sends (and repeats after up to a
// second) all sent within a millisecond, during setup: afterwards the only
// packets on the link are the ones a test sends.
const QUIET_IPV6 = {
  accept_dad: '0',
  dad_transmits: '0',
  accept_ra: '0',
  router_solicitations: '0',
  mldv1_unsolicited_report_interval: '1',
  mldv2_unsolicited_report_interval: '1',
};
const MLD_SETTLE_MS = 30;

function quietOuter(ifname: string): void {
  for (const [key, value] of Object.entries(QUIET_IPV6))
    writeFileSync(`/proc/sys/net/ipv6/conf/${ifname}/${key}`, value);
}

function quietInner(ns: string): void {
  nsRun(ns, [
    'sysctl',
    '-q',
    '-w',
    ...Object.entries(QUIET_IPV6).map(([k, v]) => `net.ipv6.conf.${INNER_IF}.${k}=${v}`),
  ]);
}

/** The MAC of an interface, in this namespace (ns undefined) or in ns. */
export const macOf = (ns: string | undefined, ifname: string): string => {
  if (ns === undefined) return readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
  return nsRun(ns, ['cat', `/sys/class/net/${ifname}/address`]).trim();
};

function waitUntilNotTentative(ns: string, timeoutMs = 5000): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outer = run(['ip', '-6', 'addr', 'show', 'dev', ns, 'tentative']).trim();
    const inner = run(['ip', '-n', ns, '-6', 'addr', 'show', 'dev', INNER_IF, 'tentative']).trim();
    if (outer === '' && inner === '') return;
    if (Date.now() > deadline) throw new UserError(`addresses of '${ns}' stayed tentative for ${timeoutMs} ms`);
    sleepSync(50);
  }
}

function addVlans(env: EnvState): void {
  // VLAN ids 1 and 2 on both ends. Needs the kernel's 802.1Q module.
  try {
    for (const id of [1, 2]) {
      run([
        'ip',
        'link',
        'add',
        'link',
        env.name,
        'name',
        `${env.name.slice(0, 10)}.${id}`,
        'type',
        'vlan',
        'id',
        String(id),
      ]);
      run([
        'ip',
        '-n',
        env.name,
        'link',
        'add',
        'link',
        INNER_IF,
        'name',
        `${INNER_IF}.${id}`,
        'type',
        'vlan',
        'id',
        String(id),
      ]);
    }
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    throw new UserError(
      '--vlan needs 802.1Q support (CONFIG_VLAN_8021Q), which this kernel lacks; set up without --vlan (VLAN handling is tested with raw tagged frames)',
    );
  }
}

/** What setup() is asked for, checked before anything is made. */
function checkSetup(opts: SetupOptions): number {
  validateName(opts.name);
  requireRoot('the test environment');
  requireCommands('ip', 'ethtool', 'ping', 'sysctl');
  const queues = opts.queues ?? 1;
  if (!Number.isInteger(queues) || queues < 1 || queues > MAX_QUEUES) {
    throw new UserError(`--queues must be a whole number from 1 to ${MAX_QUEUES}, not '${opts.queues}'`);
  }
  if (loadEnv(opts.name) || netnsExists(opts.name) || linkExists(opts.name)) {
    throw new UserError(
      `environment '${opts.name}' already exists; use it, or remove it first with: testenv teardown --name ${opts.name}`,
    );
  }
  return queues;
}

/** The namespace, the veth pair between it and here, quiet IPv6, VLAN offload off, links up. */
function makeLinks(env: EnvState): void {
  const ns = env.name;
  const q = env.queues > 1 ? ['numtxqueues', String(env.queues), 'numrxqueues', String(env.queues)] : [];
  run(['ip', 'link', 'add', 'dev', ns, ...q, 'type', 'veth', 'peer', 'name', INNER_IF, 'netns', ns, ...q]);
  quietOuter(ns);
  quietInner(ns);
  // The lesson's handlers parse VLAN tags from the frame itself, so the kernel must not strip them.
  run(['ethtool', '-K', ns, 'rxvlan', 'off', 'txvlan', 'off']);
  nsRun(ns, ['ethtool', '-K', INNER_IF, 'rxvlan', 'off', 'txvlan', 'off']);
  run(['ip', 'link', 'set', 'dev', ns, 'up']);
  run(['ip', '-n', ns, 'link', 'set', 'dev', INNER_IF, 'up']);
  run(['ip', '-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
}

/** Addresses on both ends, the inner side's route, and (unless asked not to) permanent neighbour entries. */
function addAddresses(env: EnvState): void {
  const ns = env.name;
  const [outerMac, innerMac] = [macOf(undefined, ns), macOf(ns, INNER_IF)];
  const families = [
    { outer: outerAddr(env), inner: innerAddr(env), prefix: 64, route: 'fc00:dead:cafe::/48', nodad: ['nodad'] },
    ...(env.legacyIp
      ? [{ outer: outerAddr4(env), inner: innerAddr4(env), prefix: 24, route: '10.11.0.0/16', nodad: [] }]
      : []),
  ];
  for (const f of families) {
    run(['ip', 'addr', 'add', `${f.outer}/${f.prefix}`, 'dev', ns, ...f.nodad]);
    run(['ip', '-n', ns, 'addr', 'add', `${f.inner}/${f.prefix}`, 'dev', INNER_IF, ...f.nodad]);
    run(['ip', '-n', ns, 'route', 'add', f.route, 'via', f.outer, 'dev', INNER_IF]);
    if (!env.staticNeighbours) continue;
    run(['ip', 'neigh', 'add', f.inner, 'lladdr', innerMac, 'dev', ns, 'nud', 'permanent']);
    run(['ip', '-n', ns, 'neigh', 'add', f.outer, 'lladdr', outerMac, 'dev', INNER_IF, 'nud', 'permanent']);
  }
}

export function setup(opts: SetupOptions): EnvState {
  const queues = checkSetup(opts);
  const env: EnvState = {
    name: opts.name,
    id: freeId(),
    legacyIp: opts.legacyIp ?? false,
    queues,
    staticNeighbours: opts.staticNeighbours ?? true,
  };
  const ns = env.name;
  let made = false;
  try {
    run(['ip', 'netns', 'add', ns]);
    made = true;
    makeLinks(env);
    addAddresses(env);
    if (opts.vlan) addVlans(env);
    waitUntilNotTentative(ns);
    sleepSync(MLD_SETTLE_MS);
    saveEnv(env);
    if (!opts.noPing && !succeeds(['ip', 'netns', 'exec', ns, 'ping', '-6', '-c', '1', '-W', '2', outerAddr(env)])) {
      throw new UserError(`environment '${ns}' was made but its first ping got no answer`);
    }
    return env;
  } catch (err) {
    if (made) removeEnv(ns);
    throw err instanceof CommandError ? new UserError(`setup of '${ns}' failed: ${err.message}`) : err;
  }
}

/** Removes whatever exists of an environment; returns whether anything did. */
export function removeEnv(name: string): boolean {
  let found = loadEnv(name) !== undefined;
  if (linkExists(name)) {
    found = true;
    succeeds(['ip', 'link', 'del', 'dev', name]); // takes the peer and any XDP program with it
  }
  if (netnsExists(name)) {
    found = true;
    succeeds(['ip', 'netns', 'del', name]);
  }
  forgetEnv(name);
  return found;
}

export function teardown(name: string): void {
  validateName(name);
  requireRoot('the test environment');
  if (!removeEnv(name)) throw new UserError(`no environment named '${name}' (testenv status lists them)`);
}

export interface EnvStatus extends EnvState {
  alive: boolean;
  xdp: string | undefined;
}

export function status(): EnvStatus[] {
  return allEnvs().map((env) => {
    const alive = netnsExists(env.name) && linkExists(env.name);
    let xdp: string | undefined;
    if (alive) {
      const [link] = JSON.parse(run(['ip', '-j', '-d', 'link', 'show', 'dev', env.name])) as {
        xdp?: { prog?: { name?: string } };
      }[];
      xdp = link?.xdp?.prog?.name;
    }
    return { ...env, alive, xdp };
  });
}
