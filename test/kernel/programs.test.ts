// XDP programs and queues: the lesson's assignment 2, the echo-steering
// program, --filename errors, xdp-tools interop, and every RX queue.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EnvState } from '../../host/testenv/state.js';
import { outerAddr } from '../../host/testenv/state.js';
import { runAfxdp, serving as servingOn } from '../helpers/afxdp.js';
import { ROOT, withEnv } from '../helpers/testenv.js';
import { attachedProgram, ping6 } from '../helpers/traffic.js';

const DROP = join(ROOT, 'build', 'asm', 'drop.wasm');
const UDP_ECHO = join(ROOT, 'build', 'asm', 'udp_echo.wasm');
const LESSON_PROG = join(ROOT, 'build', 'bpf', 'af_xdp_kern.o');
const scratch = mkdtempSync(join(tmpdir(), 'afxdp-programs-'));

/** Poll mode: these tests idle more than they work. */
const serving = (env: EnvState, args: string[], fn: Parameters<typeof servingOn>[2]) =>
  servingOn(env.name, ['-p', ...args], fn);

const loaderStatus = (ifname: string) => spawnSync('xdp-loader', ['status', ifname], { encoding: 'utf8' }).stdout;
const seqs = (pingOut: string) => [...pingOut.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1]));

test('assignment 2 (--filename af_xdp_kern.o, drop handler): only icmp_seq 2, 4, 6, 8 are answered, by the kernel', async () => {
  await withEnv({}, async (env) => {
    const run = await serving(env, ['--filename', LESSON_PROG, '--handler', DROP], () => {
      assert.match(loaderStatus(env.name), /xdp_sock_prog/);
      const res = ping6(env, 8, 0.1);
      assert.equal(seqs(res.out), [2, 4, 6, 8], res.out);
    });
    assert.is(run.exit!.counters.rxPackets, 4, 'the redirected half reached our socket');
    assert.is(run.exit!.counters.dropped, 4);
    assert.match(loaderStatus(env.name), /No XDP program loaded/);
  });
});

test('--steer every-other with the echo handler: every ping answered, half by the kernel and half by us', async () => {
  await withEnv({}, async (env) => {
    const run = await serving(env, ['--steer', 'every-other'], () => {
      assert.equal(seqs(ping6(env, 8, 0.1).out), [1, 2, 3, 4, 5, 6, 7, 8]);
    });
    assert.is(run.exit!.counters.rxPackets, 4);
    assert.is(run.exit!.counters.txPackets, 4);
  });
});

test('--steer echo: Neighbour Discovery stays with the kernel, so an environment without static neighbours works', async () => {
  await withEnv({ staticNeighbours: false, noPing: true }, async (env) => {
    const run = await serving(env, ['--steer', 'echo'], () => {
      assert.match(loaderStatus(env.name), /xsk_echo_steer/);
      const res = ping6(env, 5, 0.1);
      assert.is(res.received, 5, res.out);
      const neigh = spawnSync('ip', ['-n', env.name, '-6', 'neigh', 'show', outerAddr(env)], {
        encoding: 'utf8',
      }).stdout;
      assert.match(neigh, /lladdr \S+ (REACHABLE|STALE|DELAY|PROBE)/, 'resolved by Neighbour Discovery');
    });
    assert.ok(run.exit!.counters.txPackets >= 5, `our replies: ${run.exit!.counters.txPackets}`);
    assert.is(run.exit!.counters.rxPackets, run.exit!.counters.txPackets, 'only echo requests reached us');
  });
});

function compileBpf(name: string, source: string): string {
  const c = join(scratch, `${name}.c`);
  const o = join(scratch, `${name}.o`);
  writeFileSync(c, source);
  const res = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', c, '-o', o], {
    encoding: 'utf8',
  });
  assert.is(res.status, 0, res.stderr);
  return o;
}

test('--filename errors: no xsks_map, no such program, refused by the verifier: one line each, nothing attached', async () => {
  const head = '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nchar _license[] SEC("license") = "GPL";\n';
  const noMap = compileBpf('nomap', `${head}SEC("xdp") int pass_all(struct xdp_md *ctx) { return XDP_PASS; }\n`);
  const unsafe = compileBpf(
    'unsafe',
    `${head}struct { __uint(type, BPF_MAP_TYPE_XSKMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } xsks_map SEC(".maps");
SEC("xdp") int reads_blindly(struct xdp_md *ctx) { unsigned char *p = (void *)(long)ctx->data; return p[100] ? XDP_PASS : XDP_DROP; }\n`,
  );
  await withEnv({ noPing: true }, async (env) => {
    const cases: [string[], RegExp][] = [
      [
        ['--filename', noMap],
        /^afxdp-wasm: .*nomap\.o has no XSKMAP named xsks_map, which AF_XDP needs to find its sockets/,
      ],
      [
        ['--filename', LESSON_PROG, '--progname', 'no_such_prog'],
        /^afxdp-wasm: .*af_xdp_kern\.o has no XDP program named 'no_such_prog'/,
      ],
      [
        ['--filename', unsafe],
        /^afxdp-wasm: the kernel's verifier refused reads_blindly in .*unsafe\.o \(.*\): .*invalid access to packet/,
      ],
      [['--filename', '/nonexistent.o'], /^afxdp-wasm: --filename \/nonexistent\.o: no such file/],
      [['--steer', 'sideways'], /^afxdp-wasm: --steer sideways is not one of: echo, all, every-other/],
    ];
    for (const [args, message] of cases) {
      const res = await runAfxdp(['-d', env.name, ...args]);
      assert.is(res.code, 1, `${args.join(' ')}: ${res.stderr}`);
      assert.is(res.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message);
      assert.is(attachedProgram(env.name), undefined, `${args.join(' ')} left a program`);
    }
  });
});

test('xdp-loader: status names our program while we run; unload --all removes it, and we still exit cleanly', async () => {
  await withEnv({}, async (env) => {
    for (const [args, name] of [
      [[], 'xsk_fair'],
      [['--no-fair'], 'xsk_def_prog'],
      [['--steer', 'all'], 'xsk_redirect_all'],
    ] as const) {
      await serving(env, [...args], () => {
        assert.match(loaderStatus(env.name), new RegExp(`${env.name}\\s+${name}\\s+native`));
      });
      assert.match(loaderStatus(env.name), /No XDP program loaded/);
    }
    const run = await serving(env, ['--steer', 'echo'], () => {
      assert.is(spawnSync('xdp-loader', ['unload', env.name, '--all']).status, 0);
      assert.is(attachedProgram(env.name), undefined);
    });
    assert.match(run.stderr, /Stopped \(SIGTERM\)/);
  });
});

test('-S and -N attach in SKB and native mode; both answer ping and detach', async () => {
  await withEnv({}, async (env) => {
    for (const [flag, mode] of [
      ['-S', 'skb'],
      ['-N', 'native'],
    ] as const) {
      const run = await serving(env, [flag, '--steer', 'echo'], () => {
        assert.match(loaderStatus(env.name), new RegExp(`${env.name}\\s+xsk_echo_steer\\s+${mode}`));
        assert.is(ping6(env, 3, 0.05).received, 3);
      });
      assert.ok(run.exit!.counters.txPackets >= 3, `${flag}: our replies ${run.exit!.counters.txPackets}`);
      assert.match(loaderStatus(env.name), /No XDP program loaded/);
    }
  });
});

/** Sends one UDP datagram to port 7 from each of n sockets inside the namespace; returns how many came back. */
function udpFlows(env: EnvState, n: number): number {
  const client =
    `const d=require('dgram');let got=0;for(let i=0;i<${n};i++){const s=d.createSocket('udp6');` +
    `s.on('message',()=>got++);s.bind(0,()=>s.send('flow '+i,7,'${outerAddr(env)}'))}setTimeout(()=>{process.stdout.write(String(got));process.exit(0)},1000)`;
  const res = spawnSync('ip', ['netns', 'exec', env.name, process.execPath, '-e', client], { encoding: 'utf8' });
  const got = Number(res.stdout.trim());
  if (!Number.isInteger(got)) throw new Error(`the UDP client failed: ${res.stdout} ${res.stderr}`);
  return got;
}

test('every RX queue: on a 4-queue veth, -Q 0 misses flows hashed elsewhere (and says so); -Q all answers every one', async () => {
  await withEnv({ queues: 4 }, async (env) => {
    const FLOWS = 32;
    let one = 0;
    const single = await serving(env, ['-Q', '0', '--handler', UDP_ECHO], () => {
      one = udpFlows(env, FLOWS);
    });
    assert.match(
      single.stderr,
      new RegExp(
        `Note: ${env.name} has 4 RX queues and only 0 is served.*ethtool -N ${env.name} flow-type udp6 action 0`,
      ),
    );
    assert.ok(one < FLOWS, `-Q 0 answered ${one} of ${FLOWS}`);
    assert.is(single.exit!.counters.txPackets, one);

    let all = 0;
    const every = await serving(env, ['-Q', 'all', '--handler', UDP_ECHO], () => {
      all = udpFlows(env, FLOWS);
    });
    assert.is(all, FLOWS, '-Q all answers every flow');
    const perQueue = every.exit!.queues.map((q) => q.counters.rxPackets);
    assert.is(perQueue.length, 4);
    assert.is(
      perQueue.reduce((a, b) => a + b, 0),
      FLOWS,
    );
    assert.ok(perQueue.filter((n) => n > 0).length >= 2, `flows spread over queues: ${perQueue.join(',')}`);
    assert.match(every.stderr, new RegExp(`Serving ${env.name} queues 0,1,2,3`));
  });
});

test.run();
