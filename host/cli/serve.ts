// afxdp-wasm [serve]: serve queues of an interface through AF_XDP with a wasm
// handler. Checks everything it can before touching the interface, prints
// stats every period, and on any way out detaches what it attached.
import { existsSync } from 'node:fs';
import { endCapture, streamCapture } from '../control/capture-stream.js';
import { ControlServer } from '../control/server.js';
import { Dataplane } from '../dataplane/dataplane.js';
import { type Handler, loadHandlerInThread } from '../dataplane/handler.js';
import { KEPT_NAMES, type RunAs, dropTo, userToRunAs } from '../dataplane/privileges.js';
import { loadShim } from '../dataplane/shim.js';
import { setup } from '../testenv/env.js';
import { DEFAULT_NAME, loadEnv, outerAddr } from '../testenv/state.js';
import { SERVE_NOTES, SERVE_OPTIONS, type Options, checkInterface, checkPrivileges, optionsFrom } from './options.js';
import { statsJson, statsText, totalsJson, totalsText } from './stats.js';
import { MetricsServer } from './metrics.js';
import { Swapper } from './swapper.js';
import { command } from './table.js';

const say = (line: string) => console.error(line);

export const serveCommand = command({
  summary: 'serve queues of an interface with a wasm handler (the default)',
  prog: 'afxdp-wasm',
  synopsis: 'Usage: afxdp-wasm [serve] [options]   (npm start -- [options])',
  about:
    'Serve queues of an interface through AF_XDP with a WebAssembly handler.\n' +
    'Without -d it serves the test environment veth-adv03, making it if needed.',
  options: SERVE_OPTIONS,
  notes: SERVE_NOTES,
  run: (values) => serve(optionsFrom(values)),
});

/** Without -d: the lesson's test environment, made if it is not there. */
function defaultInterface(): string {
  const env = loadEnv(DEFAULT_NAME) ?? setup({ name: DEFAULT_NAME });
  say(`Using test environment ${env.name}; ping it with: npm run testenv -- ping (it answers for ${outerAddr(env)})`);
  return env.name;
}

function noteUnservedQueues(ifname: string, queues: number[], rxQueues: number): void {
  if (queues.length >= rxQueues) return;
  const served = `${queues.join(',')} ${queues.length === 1 ? 'is' : 'are'} served`;
  say(
    `Note: ${ifname} has ${rxQueues} RX queues and only ${served}: ` +
      `packets hashed to the others never reach us. Serve them all with -Q all, or steer flows: ` +
      `ethtool -N ${ifname} flow-type udp6 action ${queues[0]}, or ethtool -L ${ifname} combined 1.`,
  );
}

async function serve(opts: Options): Promise<void> {
  const handler = await loadHandlerInThread(opts.handlerPath);
  const user = opts.user === undefined ? undefined : userToRunAs(opts.user);
  checkPrivileges();
  const ifname = opts.dev ?? defaultInterface();
  const { queues, rxQueues } = checkInterface(ifname, opts.queues);
  noteUnservedQueues(ifname, queues, rxQueues);

  // A signal that comes while we start is kept, and acted on once there is something to stop.
  let stopRequest: string | undefined;
  let stop = async (why: string) => {
    stopRequest = why;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(signal));

  // Before anything is attached: a port in use is one line, with nothing to undo.
  const metrics = opts.metrics && (await MetricsServer.listen(opts.metrics));
  const dp = await Dataplane.start({ ...opts, ifname, queues, handler, say });
  const swapper = new Swapper(dp, handler.path, say, { always: opts.check, frameSize: opts.frameSize });
  const control = await listen(dp, ifname, swapper);
  if (user) await becomeUser(dp, control, user);
  if (opts.watch) swapper.watch();
  if (metrics) {
    metrics.source = () => ({ queues: dp.readings(), swaps: swapper.record, fair: opts.admissionTargetUs > 0 });
    say(`Metrics: ${metrics.url}`);
  }
  announce(dp, ifname, queues, handler);
  const timer = printStats(dp, opts);
  let stopping = false;
  stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    swapper.close();
    endCapture();
    control.close();
    if (metrics) metrics.close();
    await finish(dp, ifname, opts.json, why);
  };
  process.on('SIGHUP', () => swapper.trySwap(swapper.path, 'SIGHUP'));
  dp.onFailure((why) => {
    if (stopping) return;
    process.exitCode = 1;
    void stop(why);
  });
  if (stopRequest) void stop(stopRequest);
}

/** The control socket; when it cannot be made, the data plane stops before the error goes on. */
async function listen(dp: Dataplane, ifname: string, swapper: Swapper): Promise<ControlServer> {
  let control: ControlServer;
  try {
    control = await ControlServer.listen(ifname, {
      swap: (path, check) => swapper.swap(path, 'ctl swap', check),
      status: () => ({ interface: ifname, program: dp.program ?? null, queues: dp.status() }),
      stats: () => ({
        counters: dp.counters(),
        reasons: dp.reasons(),
        queues: dp.perQueue(),
        xdp: dp.statistics() ?? null,
      }),
      capture: (req, conn) => streamCapture(dp, ifname, req, conn),
    });
  } catch (err) {
    await dp.stop();
    throw err;
  }
  say(
    `Control socket: ${control.path} (afxdp-wasm ctl status -d ${ifname}; ` +
      `kill -HUP ${process.pid} reloads the handler).`,
  );
  return control;
}

/** After set-up: the rest runs as the user (privileges.ts); a switch that fails stops everything. */
async function becomeUser(dp: Dataplane, control: ControlServer, user: RunAs): Promise<void> {
  try {
    dropTo(loadShim(), user, control.path);
  } catch (err) {
    await dp.stop();
    control.close();
    throw err;
  }
  say(`Running as ${user.name} (uid ${user.uid}), keeping only ${KEPT_NAMES} (to detach at exit).`);
}

function announce(dp: Dataplane, ifname: string, queues: number[], handler: Handler): void {
  const program = `${dp.program?.name ?? '?'} (id ${dp.program?.id ?? '?'}, ${dp.program?.mode ?? '?'})`;
  say(
    `Serving ${ifname} queue${queues.length > 1 ? 's' : ''} ${queues.join(',')} with ${handler.path} ` +
      `(sha256 ${handler.hash}); XDP program ${program}. Ctrl-C stops.`,
  );
}

function printStats(dp: Dataplane, opts: Options): NodeJS.Timeout {
  let prev = dp.counters();
  let prevAt = performance.now();
  return setInterval(() => {
    const now = dp.counters();
    const at = performance.now();
    const period = (at - prevAt) / 1000;
    const perQueue = dp.perQueue();
    if (opts.json) console.log(statsJson(now, prev, period, dp.reasons(), perQueue));
    else if (!opts.quiet) console.log(statsText(now, prev, period, perQueue));
    prev = now;
    prevAt = at;
  }, opts.intervalMs);
}

async function finish(dp: Dataplane, ifname: string, json: boolean, why: string): Promise<void> {
  const xdp = await dp.stop();
  const totals = dp.counters();
  if (json) console.log(totalsJson(totals, xdp, dp.reasons(), dp.perQueue()));
  else console.log(totalsText(totals, xdp, dp.reasons(), dp.perQueue()));
  const gone = !existsSync(`/sys/class/net/${ifname}`);
  say(`Stopped (${why}); ${gone ? `${ifname} is gone, and its XDP program with it` : 'XDP program detached'}.`);
}
