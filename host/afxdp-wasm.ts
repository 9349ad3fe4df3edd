// afxdp-wasm: serve one queue of an interface through AF_XDP with a wasm handler.
// Checks everything it can before touching the interface, prints stats every
// period, and on any way out detaches what it attached.
import { existsSync } from 'node:fs';
import { USAGE, checkInterface, checkPrivileges, parseOptions } from './cli/options.js';
import { Swapper } from './cli/swapper.js';
import { ctl } from './control/client.js';
import { gen } from './gen/generator.js';
import { ControlServer } from './control/server.js';
import { statsJson, statsText, totalsJson, totalsText } from './cli/stats.js';
import { Dataplane } from './dataplane/dataplane.js';
import { loadHandler } from './dataplane/handler.js';
import { runMain } from './lib/errors.js';
import { setup } from './testenv/env.js';
import { DEFAULT_NAME, loadEnv, outerAddr } from './testenv/state.js';

/** Without -d: the lesson's test environment, made if it is not there. */
function defaultInterface(say: (line: string) => void): string {
  const env = loadEnv(DEFAULT_NAME) ?? setup({ name: DEFAULT_NAME });
  say(`Using test environment ${env.name}; ping it with: npm run testenv -- ping (it answers for ${outerAddr(env)})`);
  return env.name;
}

/** A bug or a lost terminal ends the process; its 'exit' hooks still detach our program. */
function dieOn(err: unknown): never {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== 'EPIPE') console.error(err);
  process.exit(1);
}

async function main(): Promise<void> {
  process.on('uncaughtException', dieOn);
  process.on('unhandledRejection', dieOn);
  process.stdout.on('error', dieOn);
  process.stderr.on('error', dieOn);
  if (process.argv[2] === 'ctl') return ctl(process.argv.slice(3));
  if (process.argv[2] === 'gen') return gen(process.argv.slice(3));
  const opts = parseOptions(process.argv.slice(2));
  if (opts.help) return void console.log(USAGE);
  const say = (line: string) => console.error(line);
  const handler = loadHandler(opts.handlerPath);
  checkPrivileges();
  const ifname = opts.dev ?? defaultInterface(say);
  const { queues, rxQueues } = checkInterface(ifname, opts.queues);
  if (queues.length < rxQueues) {
    say(`Note: ${ifname} has ${rxQueues} RX queues and only ${queues.join(',')} ${queues.length === 1 ? 'is' : 'are'} served: ` +
      `packets hashed to the others never reach us. Serve them all with -Q all, or steer flows: ` +
      `ethtool -N ${ifname} flow-type udp6 action ${queues[0]}, or ethtool -L ${ifname} combined 1.`);
  }

  // A signal that comes while we start is kept, and acted on once there is something to stop.
  let stopRequest: string | undefined;
  let stop = async (why: string) => void (stopRequest = why);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(signal));

  const dp = await Dataplane.start({ ...opts, ifname, queues, handler, say });
  let stopping = false;

  const swapper = new Swapper(dp, handler.path, say);
  let control: ControlServer;
  try {
    control = await ControlServer.listen(ifname, {
      swap: (path) => swapper.swap(path, 'ctl swap'),
      status: () => ({ interface: ifname, program: dp.program ?? null, queues: dp.status() }),
      stats: () => ({ counters: dp.counters(), reasons: dp.reasons(), queues: dp.perQueue(), xdp: dp.statistics() ?? null }),
    });
  } catch (err) {
    await dp.stop();
    throw err;
  }
  say(`Control socket: ${control.path} (afxdp-wasm ctl status -d ${ifname}; kill -HUP ${process.pid} reloads the handler).`);
  if (opts.watch) swapper.watch();
  say(`Serving ${ifname} queue${queues.length > 1 ? 's' : ''} ${queues.join(',')} with ${handler.path} (sha256 ${handler.hash}); XDP program ${dp.program?.name ?? '?'} (id ${dp.program?.id ?? '?'}, ${dp.program?.mode ?? '?'}). Ctrl-C stops.`);
  let prev = dp.counters();
  let prevAt = performance.now();
  const timer = setInterval(() => {
    const now = dp.counters();
    const at = performance.now();
    const period = (at - prevAt) / 1000;
    const perQueue = dp.perQueue();
    if (opts.json) console.log(statsJson(now, prev, period, dp.reasons(), perQueue));
    else if (!opts.quiet) console.log(statsText(now, prev, period, perQueue));
    prev = now;
    prevAt = at;
  }, opts.intervalMs);

  stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    swapper.close();
    control.close();
    const xdp = await dp.stop();
    const totals = dp.counters();
    if (opts.json) console.log(totalsJson(totals, xdp, dp.reasons(), dp.perQueue()));
    else console.log(totalsText(totals, xdp, dp.reasons(), dp.perQueue()));
    const gone = !existsSync(`/sys/class/net/${ifname}`);
    say(`Stopped (${why}); ${gone ? `${ifname} is gone, and its XDP program with it` : 'XDP program detached'}.`);
  };
  process.on('SIGHUP', () => swapper.trySwap(swapper.path, 'SIGHUP'));
  dp.onFailure((why) => {
    if (stopping) return;
    process.exitCode = 1;
    void stop(why);
  });
  if (stopRequest) void stop(stopRequest);
}

runMain('afxdp-wasm', main);
