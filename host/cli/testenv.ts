// afxdp-wasm testenv: the lesson's testenv.sh, as a command. Each of its
// commands has its own option table; ping, exec, enter and tcpdump pass the
// words that are not theirs on to the tool they run.
import { UserError } from '../lib/errors.js';
import { requireRoot, runInteractive } from '../lib/exec.js';
import { distFile } from '../lib/paths.js';
import { MAX_QUEUES, removeEnv, setup, status, teardown, validateName } from '../testenv/env.js';
import {
  DEFAULT_NAME,
  type EnvState,
  INNER_IF,
  currentName,
  innerAddr,
  loadEnv,
  outerAddr,
  outerAddr4,
} from '../testenv/state.js';
import {
  type Command,
  type Table,
  type Values,
  flag,
  integer,
  optional,
  optionLines,
  parseCommandLine,
  takeOwnOptions,
  text,
  value,
} from './table.js';

const NAME = optional('name', 'the environment (default: the last one set up)', text);
const SETUP = {
  name: value('name', 'the environment, also its namespace and outer interface', DEFAULT_NAME, text),
  'legacy-ip': flag('IPv4 addresses too (10.11.N.1/24 and .2)'),
  vlan: flag('VLAN ids 1 and 2 on both ends (needs 802.1Q in the kernel)'),
  queues: value('n', 'RX and TX queues of the veth', '1', integer(1, MAX_QUEUES)),
  'no-static-neigh': flag('no permanent neighbour entries: Neighbour Discovery must work'),
};

const NAMED = { name: NAME };
const PING = { name: NAME, 'legacy-ip': flag('ping its IPv4 address') };
const TCPDUMP = { name: NAME, inner: flag('capture inside, on its veth end') };

interface Sub<T extends Table> {
  about: string;
  options: T;
  run(argv: string[]): void;
}
const sub = <T extends Table>(s: Sub<T>) => s as Sub<Table>;

const SUBCOMMANDS: Record<string, Sub<Table>> = {
  setup: sub({ about: 'make an environment', options: SETUP, run: (argv) => setUp(parsed(SETUP, argv)) }),
  reset: sub({ about: 'remove it and make it again, as it was', options: SETUP, run: (a) => reset(parsed(SETUP, a)) }),
  teardown: sub({ about: 'remove it', options: NAMED, run: (argv) => tearDown(parsed(NAMED, argv).name) }),
  status: sub({ about: 'the current environment and all others', options: {}, run: (a) => showStatus(parsed({}, a)) }),
  ping: sub({ about: 'ping the outer address from inside (other words go to ping)', options: PING, run: ping }),
  exec: sub({ about: 'run a command inside: exec [--name N] CMD...', options: NAMED, run: (a) => inside(a, false) }),
  enter: sub({ about: 'a shell inside', options: NAMED, run: (argv) => inside(argv, true) }),
  tcpdump: sub({ about: 'capture on the outer end (other words go to tcpdump)', options: TCPDUMP, run: tcpdump }),
  alias: sub({ about: 'print "alias t=...", use: eval "$(npm run -s testenv -- alias)"', options: {}, run: alias }),
};

function usage(): string {
  const subs = Object.entries(SUBCOMMANDS).map(([name, s]) => {
    const options = Object.keys(s.options).length ? `\n${optionLines(s.options).replace(/^/gm, '    ')}` : '';
    return `  ${name.padEnd(9)} ${s.about}${options}`;
  });
  return [
    'usage: afxdp-wasm testenv <command> [options]   (npm run testenv -- <command>)',
    'A network namespace joined to this one by a veth pair: a real interface to serve, a real peer to ping.',
    '',
    ...subs,
    '',
    'The last environment set up is the default --name.',
  ].join('\n');
}

export const testenvCommand: Command = {
  summary: "the lesson's test environment: a namespace and a veth pair to serve and ping",
  prog: 'testenv',
  help: usage,
  main: (argv) => {
    const [name, ...rest] = argv;
    if (name === undefined || name === 'help' || name === '-h' || name === '--help') return void console.log(usage());
    const chosen = SUBCOMMANDS[name];
    if (!chosen) throw new UserError(`unknown command '${name}'; one of: ${Object.keys(SUBCOMMANDS).join(' ')}`);
    chosen.run(rest);
  },
};

function parsed<T extends Table>(table: T, argv: string[]): Values<T> {
  const { values, help } = parseCommandLine(table, argv);
  if (help) {
    console.log(usage());
    process.exit(0);
  }
  return values;
}

function envNamed(name: string | undefined): EnvState {
  const chosen = name ?? currentName();
  if (chosen === undefined) {
    throw new UserError(`no environment yet; make one with: testenv setup --name ${DEFAULT_NAME}`);
  }
  validateName(chosen);
  const env = loadEnv(chosen);
  if (!env) throw new UserError(`no environment named '${chosen}'; make it with: testenv setup --name ${chosen}`);
  return env;
}

function describe(env: EnvState): string {
  const v4 = env.legacyIp ? `, ${outerAddr4(env)} <-> 10.11.${env.id}.2` : '';
  return (
    `${env.name}: ${outerAddr(env)} (outer, ${env.name}) <-> ${innerAddr(env)} (inside, ${INNER_IF})${v4}` +
    `${env.queues > 1 ? `, ${env.queues} queues` : ''}${env.staticNeighbours ? '' : ', no static neighbours'}`
  );
}

const setupOptions = (v: Values<typeof SETUP>) => ({
  name: v.name,
  legacyIp: v['legacy-ip'],
  vlan: v.vlan,
  queues: v.queues,
  staticNeighbours: !v['no-static-neigh'],
});

function setUp(v: Values<typeof SETUP>): void {
  const env = setup(setupOptions(v));
  console.log(`Set up ${describe(env)}`);
  console.log(`Ping it with: npm run testenv -- ping`);
}

function reset(v: Values<typeof SETUP>): void {
  const opts = setupOptions(v);
  const old = loadEnv(opts.name);
  requireRoot('the test environment');
  removeEnv(opts.name);
  const asBefore = old && { legacyIp: old.legacyIp, queues: old.queues, staticNeighbours: old.staticNeighbours };
  const env = setup({ ...opts, ...asBefore });
  console.log(`Reset ${describe(env)}`);
}

function tearDown(given: string | undefined): void {
  const name = given ?? currentName();
  if (name === undefined) throw new UserError('no environment to tear down; give --name');
  teardown(name);
  console.log(`Removed ${name}`);
}

function showStatus(_: object): void {
  const current = currentName();
  const all = status();
  console.log(`Current environment: ${current ?? '(none)'}`);
  if (all.length === 0) console.log('No environments.');
  for (const env of all) {
    const up = env.xdp ? `XDP program ${env.xdp} attached` : 'up';
    const state = env.alive ? up : 'GONE (teardown removes what is left)';
    console.log(`${env.name === current ? '*' : ' '} ${describe(env)} [${state}]`);
  }
}

function ping(argv: string[]): void {
  const { values, rest } = takeOwnOptions(PING, argv);
  const env = envNamed(values.name);
  if (values['legacy-ip'] && !env.legacyIp) {
    throw new UserError(`'${env.name}' has no IPv4; make it with setup --legacy-ip`);
  }
  const target = values['legacy-ip'] ? ['-4', outerAddr4(env)] : ['-6', outerAddr(env)];
  console.log('Running ping from inside test environment:\n');
  process.exitCode = runInteractive(['ip', 'netns', 'exec', env.name, 'ping', ...target, ...rest]);
}

/** exec CMD... or enter: our options come first, everything from the first other word on is the command's. */
function inside(argv: string[], shell: boolean): void {
  const { values, rest } = takeOwnOptions(NAMED, argv, true);
  const env = envNamed(values.name);
  if (!shell && rest.length === 0) throw new UserError('exec needs a command, e.g.: testenv exec ip addr');
  const cmd = shell ? [process.env.SHELL ?? '/bin/bash'] : rest;
  process.exitCode = runInteractive(['ip', 'netns', 'exec', env.name, ...cmd]);
}

function tcpdump(argv: string[]): void {
  const { values, rest } = takeOwnOptions(TCPDUMP, argv);
  const env = envNamed(values.name);
  const where = values.inner
    ? ['ip', 'netns', 'exec', env.name, 'tcpdump', '-i', INNER_IF]
    : ['tcpdump', '-i', env.name];
  process.exitCode = runInteractive([...where, '-nn', '-e', ...rest]);
}

function alias(argv: string[]): void {
  parsed({}, argv);
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  console.log(`alias t='${sudo}${process.execPath} ${distFile('testenv.js')}'`);
}
