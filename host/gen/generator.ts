// afxdp-wasm gen: a load generator faster than any responder here. From the
// inner side of a test environment it transmits echo requests with
// BPF_PROG_RUN in live-frames mode (the kernel sends the frame itself, many
// millions a second from one core), at a given rate or flat out, and counts
// the replies that come back with an XDP sink on its own interface.
//
//   afxdp-wasm gen [--name ENV] [--rate PPS] [--seconds S] [--ipv4] [--json]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadShim, projectRoot } from '../dataplane/shim.js';
import { UserError } from '../lib/errors.js';
import { requireRoot } from '../lib/exec.js';
import { echo4Frame, echo6Frame } from '../lib/frames.js';
import { DEFAULT_NAME, INNER_IF, currentName, innerAddr, innerAddr4, loadEnv, outerAddr, outerAddr4 } from '../testenv/state.js';

export const GEN_USAGE = 'usage: afxdp-wasm gen [--name ENV] [--rate PPS] [--seconds S] [--ipv4] [--json]';

export interface GenResult {
  sent: number;
  seconds: number;
  rate: number;
  replies: number;
  replyRatio: number;
  /** Wall time the generator wanted to run but did not get the CPU: it was starved. */
  starvedSeconds: number;
  cpuSeconds: number;
}

const TICK_MS = 1;
const FLAT_OUT_CHUNK = 1 << 16;
const LAND_MS = 200; // replies still in flight when sending stops

const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const macOf = (ifname: string, ns?: string) => {
  const argv = ns ? ['ip', 'netns', 'exec', ns, 'cat', `/sys/class/net/${ifname}/address`] : ['cat', `/sys/class/net/${ifname}/address`];
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).stdout.trim();
};

export function gen(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, ipv4: { type: 'boolean' },
      json: { type: 'boolean' }, inside: { type: 'string' },
    },
  });
  requireRoot('the generator');
  if (values.inside === undefined) return void outside(argv, values.name);
  const rate = values.rate === undefined ? 0 : Number(values.rate);
  const seconds = Number(values.seconds ?? 3);
  if (!(rate >= 0) || !(seconds > 0 && seconds <= 3600)) throw new UserError(`--rate must be packets/s >= 0 (0: flat out) and --seconds 0..3600; ${GEN_USAGE}`);
  const result = run(JSON.parse(values.inside) as Frame, rate, seconds);
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`sent ${result.sent} echo requests in ${result.seconds.toFixed(3)} s (${(result.rate / 1e6).toFixed(3)} M/s), ` +
      `${result.replies} replies (${(result.replyRatio * 100).toFixed(1)}%); generator CPU ${result.cpuSeconds.toFixed(2)} s, starved ${result.starvedSeconds.toFixed(2)} s`);
  }
}

interface Frame { bytes: number[] }

/** In the root namespace: find the environment, build the frame, and run again inside its namespace. */
function outside(argv: string[], name: string | undefined): void {
  const envName = name ?? currentName() ?? DEFAULT_NAME;
  const env = loadEnv(envName);
  if (!env) throw new UserError(`no test environment '${envName}'; make one with: npm run testenv -- setup --name ${envName}`);
  const v4 = argv.includes('--ipv4');
  if (v4 && !env.legacyIp) throw new UserError(`'${env.name}' has no IPv4; make it with setup --legacy-ip`);
  const base = { srcMac: macOf(INNER_IF, env.name), dstMac: macOf(env.name), id: 0x6e6, seq: 1 };
  const bytes = v4 ? echo4Frame({ ...base, src: innerAddr4(env), dst: outerAddr4(env) })
    : echo6Frame({ ...base, src: innerAddr(env), dst: outerAddr(env) });
  const inside = ['ip', 'netns', 'exec', env.name, process.execPath, process.argv[1]!, 'gen', ...argv, '--inside', JSON.stringify({ bytes })];
  const res = spawnSync(inside[0]!, inside.slice(1), { stdio: 'inherit' });
  process.exitCode = res.status ?? 1;
}

/** Inside the namespace: send for `seconds`, at `rate` (0: flat out), count what comes back. */
function run(frame: Frame, rate: number, seconds: number): GenResult {
  const shim = loadShim();
  shim.genOpen(join(projectRoot(), 'build', 'bpf', 'xdp_gen.o'));
  const bytes = Uint8Array.from(frame.bytes);
  const detach = () => shim.genSink(INNER_IF, false);
  shim.genSink(INNER_IF, true);
  process.once('exit', detach);
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let sent = 0;
    let slept = 0;
    for (let now = t0; now < end; now = performance.now()) {
      let chunk = FLAT_OUT_CHUNK;
      if (rate > 0) {
        chunk = Math.floor(((now - t0) / 1000) * rate) - sent; // what the schedule owes
        if (chunk <= 0) {
          const s = performance.now();
          sleepMs(TICK_MS);
          slept += performance.now() - s;
          continue;
        }
        chunk = Math.min(chunk, FLAT_OUT_CHUNK);
      }
      shim.genRun(INNER_IF, bytes, chunk, 64);
      sent += chunk;
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    sleepMs(LAND_MS);
    const { replies } = shim.genCounts();
    return {
      sent, seconds: wall, rate: sent / wall, replies, replyRatio: sent ? replies / sent : 0,
      starvedSeconds: Math.max(0, wall - cpuSeconds - slept / 1000), cpuSeconds,
    };
  } finally {
    detach();
    process.removeListener('exit', detach);
  }
}
