// afxdp-wasm-testenv: the lesson's testenv.sh, as a command.
//   setup [--name N] [--legacy-ip] [--vlan] [--queues Q] [--no-static-neigh]
//   teardown | reset | status | ping [ping args] | exec <cmd...> | enter | tcpdump [--inner] | alias
import { realpathSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UserError, runMain } from './lib/errors.js';
import { requireRoot, runInteractive } from './lib/exec.js';
import { removeEnv, setup, status, teardown, validateName } from './testenv/env.js';
import {
  DEFAULT_NAME, type EnvState, INNER_IF, currentName, innerAddr, loadEnv, outerAddr, outerAddr4,
} from './testenv/state.js';

const USAGE = `usage: afxdp-wasm-testenv <command> [--name NAME] [options]
  setup     make an environment (--name, default ${DEFAULT_NAME}; --legacy-ip, --vlan, --queues N, --no-static-neigh)
  teardown  remove it                 reset    remove and make it again
  status    current and all           ping     ping the outer address from inside (--legacy-ip, --vlan; other args go to ping)
  exec CMD  run CMD inside            enter    a shell inside
  tcpdump   capture on the outer end (--inner: inside)
  alias     print "alias t=...", use: eval "$(npm run -s testenv -- alias)"
The last environment set up is the default --name.`;

/** Our own flags out of a command line whose other words belong to another tool. */
function splitOwnFlags(argv: string[], flags: string[]): { name?: string; set: Set<string>; rest: string[] } {
  const set = new Set<string>();
  const rest: string[] = [];
  let name: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--name') name = argv[++i];
    else if (arg.startsWith('--name=')) name = arg.slice(7);
    else if (flags.includes(arg)) set.add(arg);
    else rest.push(arg);
  }
  return { name, set, rest };
}

function envNamed(name: string | undefined): EnvState {
  const chosen = name ?? currentName();
  if (chosen === undefined) throw new UserError(`no environment yet; make one with: testenv setup --name ${DEFAULT_NAME}`);
  validateName(chosen);
  const env = loadEnv(chosen);
  if (!env) throw new UserError(`no environment named '${chosen}'; make it with: testenv setup --name ${chosen}`);
  return env;
}

function parseSetup(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' }, 'legacy-ip': { type: 'boolean' }, vlan: { type: 'boolean' },
      queues: { type: 'string' }, 'no-static-neigh': { type: 'boolean' },
    },
  });
  return {
    name: values.name ?? DEFAULT_NAME,
    legacyIp: values['legacy-ip'],
    vlan: values.vlan,
    queues: values.queues === undefined ? 1 : Number(values.queues),
    staticNeighbours: !values['no-static-neigh'],
  };
}

function describe(env: EnvState): string {
  const v4 = env.legacyIp ? `, ${outerAddr4(env)} <-> 10.11.${env.id}.2` : '';
  return `${env.name}: ${outerAddr(env)} (outer, ${env.name}) <-> ${innerAddr(env)} (inside, ${INNER_IF})${v4}` +
    `${env.queues > 1 ? `, ${env.queues} queues` : ''}${env.staticNeighbours ? '' : ', no static neighbours'}`;
}

function main(): void {
  const [command, ...argv] = process.argv.slice(2);
  switch (command) {
    case 'setup': {
      const env = setup(parseSetup(argv));
      console.log(`Set up ${describe(env)}`);
      console.log(`Ping it with: npm run testenv -- ping`);
      return;
    }
    case 'reset': {
      const opts = parseSetup(argv);
      const old = loadEnv(opts.name);
      requireRoot('the test environment');
      removeEnv(opts.name);
      const env = setup(old ? { ...opts, legacyIp: old.legacyIp, queues: old.queues, staticNeighbours: old.staticNeighbours } : opts);
      console.log(`Reset ${describe(env)}`);
      return;
    }
    case 'teardown': {
      const { values } = parseArgs({ args: argv, options: { name: { type: 'string' } } });
      const name = values.name ?? currentName();
      if (name === undefined) throw new UserError('no environment to tear down; give --name');
      teardown(name);
      console.log(`Removed ${name}`);
      return;
    }
    case 'status': {
      const all = status();
      const current = currentName();
      console.log(`Current environment: ${current ?? '(none)'}`);
      if (all.length === 0) console.log('No environments.');
      for (const env of all) {
        const state = env.alive ? (env.xdp ? `XDP program ${env.xdp} attached` : 'up') : 'GONE (teardown removes what is left)';
        console.log(`${env.name === current ? '*' : ' '} ${describe(env)} [${state}]`);
      }
      return;
    }
    case 'ping': {
      const { name, set, rest } = splitOwnFlags(argv, ['--legacy-ip', '--vlan']);
      const env = envNamed(name);
      if (set.has('--vlan')) throw new UserError('--vlan needs 802.1Q support (CONFIG_VLAN_8021Q), which this kernel lacks');
      if (set.has('--legacy-ip') && !env.legacyIp) throw new UserError(`'${env.name}' has no IPv4; make it with setup --legacy-ip`);
      const target = set.has('--legacy-ip') ? ['-4', outerAddr4(env)] : ['-6', outerAddr(env)];
      console.log('Running ping from inside test environment:\n');
      process.exitCode = runInteractive(['ip', 'netns', 'exec', env.name, 'ping', ...target, ...rest]);
      return;
    }
    case 'exec':
    case 'enter': {
      // Our flags come before the command: everything from the first other word on is the command's.
      const first = argv.findIndex((a, i) => !a.startsWith('--name') && argv[i - 1] !== '--name');
      const own = first < 0 ? argv : argv.slice(0, first);
      const cmd = first < 0 ? [] : argv.slice(first);
      const env = envNamed(splitOwnFlags(own, []).name);
      const shell = process.env['SHELL'] ?? '/bin/bash';
      if (command === 'exec' && cmd.length === 0) throw new UserError('exec needs a command, e.g.: testenv exec ip addr');
      process.exitCode = runInteractive(['ip', 'netns', 'exec', env.name, ...(command === 'enter' ? [shell] : cmd)]);
      return;
    }
    case 'tcpdump': {
      const { name, set, rest } = splitOwnFlags(argv, ['--inner']);
      const env = envNamed(name);
      const where = set.has('--inner') ? ['ip', 'netns', 'exec', env.name, 'tcpdump', '-i', INNER_IF] : ['tcpdump', '-i', env.name];
      process.exitCode = runInteractive([...where, '-nn', '-e', ...rest]);
      return;
    }
    case 'alias': {
      const self = realpathSync(process.argv[1]!);
      const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
      console.log(`alias t='${sudo}${process.execPath} ${self}'`);
      return;
    }
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      console.log(USAGE);
      return;
    default:
      throw new UserError(`unknown command '${command}'; one of: setup teardown reset status ping exec enter tcpdump alias`);
  }
}

runMain('testenv', main);
