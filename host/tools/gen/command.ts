// afxdp-wasm gen: the load generator, sending from the inner side of a test
// environment. Only this front knows test environments: it resolves one into
// the plain path the generator's core takes.
import { command, flag, optional, seconds, text, value } from '../../cli/table.js';
import { UserError } from '../../lib/errors.js';
import { requireRoot } from '../../lib/exec.js';
import { macOf } from '../../testenv/env.js';
import {
  DEFAULT_NAME,
  type EnvState,
  INNER_IF,
  currentName,
  innerAddr,
  innerAddr4,
  loadEnv,
  outerAddr,
  outerAddr4,
} from '../../testenv/state.js';
import { type GenPath, type GenPlan, type GenResult, generate, generateIn, resultText } from './generator.js';

const rate = (raw: string, name: string): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !(n >= 0)) throw new UserError(`${name} must be packets/s >= 0 (0: flat out), not '${raw}'`);
  return n;
};

const milliseconds = (raw: string, name: string): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !(n >= 0))
    throw new UserError(`${name} must be milliseconds >= 0 (0: no bound), not '${raw}'`);
  return n;
};

export const genCommand = command({
  summary: 'the load generator: echo requests from inside a test environment, replies counted',
  prog: 'afxdp-wasm',
  synopsis: 'Usage: afxdp-wasm gen [options]',
  about: 'Send echo requests from the inner side of a test environment; count the replies.',
  options: {
    name: optional('env', 'test environment (default: the current one, or veth-adv03)', text),
    rate: value('pps', 'paced, through an AF_XDP socket (0: flat out, live frames)', '0', rate),
    trafgen: flag('through trafgen instead (flat out, or at --rate)'),
    seconds: value('s', 'how long', '3', seconds(0.001, 3600)),
    'catch-up': value(
      'ms',
      'paced: after a stall, catch up at most this much of the schedule; the rest is given up and counted (0: all)',
      '10',
      milliseconds,
    ),
    ipv4: flag('ICMP echo instead of ICMPv6 (needs setup --legacy-ip)'),
    'napi-thread': flag('receive in a NAPI kernel thread, so replies are not billed to the responder'),
    json: flag('one JSON line (with lost and the round-trip percentiles)'),
    inside: { ...optional('plan', 'the plan, inside the namespace', text), hidden: true },
  },
  run: (v) => {
    requireRoot('the generator');
    if (v.inside !== undefined) return printResult(generate(JSON.parse(v.inside) as GenPlan), v.json);
    const load = {
      rate: v.rate,
      seconds: v.seconds,
      trafgen: v.trafgen,
      napiThread: v['napi-thread'],
      catchUpMs: v['catch-up'],
    };
    process.exitCode = generateIn(pathOf(environment(v.name), v.ipv4), load, v.json);
  },
});

function environment(name: string | undefined): EnvState {
  const envName = name ?? currentName() ?? DEFAULT_NAME;
  const env = loadEnv(envName);
  if (!env) {
    throw new UserError(`no test environment '${envName}'; make one with: npm run testenv -- setup --name ${envName}`);
  }
  return env;
}

/** From the namespace's veth end to the outer one. */
function pathOf(env: EnvState, ipv4: boolean): GenPath {
  if (ipv4 && !env.legacyIp) throw new UserError(`'${env.name}' has no IPv4; make it with setup --legacy-ip`);
  return {
    netns: env.name,
    ifname: INNER_IF,
    srcMac: macOf(env.name, INNER_IF),
    dstMac: macOf(undefined, env.name),
    src: ipv4 ? innerAddr4(env) : innerAddr(env),
    dst: ipv4 ? outerAddr4(env) : outerAddr(env),
  };
}

function printResult(result: GenResult, json: boolean): void {
  console.log(json ? JSON.stringify(result) : resultText(result));
}
