// The AF_XDP data path on the real kernel: a veth pair in our own namespace,
// libxdp's default program, our shim and the built handlers.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runAfxdp, serving, sleep, startAfxdp, waitFor } from '../helpers/afxdp.js';
import { kernelAtLeast } from '../helpers/kernel.js';
import { NOBODY, runCli } from '../helpers/cli.js';
import { ROOT, pingFromInside, withEnv } from '../helpers/testenv.js';
import { outerAddr, outerAddr4 } from '../../host/testenv/state.js';
import { attachedProgram, burst, captureInside, decode, flood, gen, ping6 } from '../helpers/traffic.js';

const DROP = join(ROOT, 'build', 'asm', 'drop.wasm');
// The smallest valid module: magic and version, no imports, no exports.
const EMPTY_WASM = join(mkdtempSync(join(tmpdir(), 'afxdp-wasm-')), 'empty.wasm');
writeFileSync(EMPTY_WASM, Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));

test('echo: 20 of 20 pings answered through the AF_XDP socket, checksums confirmed by tcpdump', async () => {
  await withEnv({}, async (env) => {
    let pcap = '';
    const run = await serving(env.name, ['-p'], async (r) => {
      assert.is(attachedProgram(env.name), 'xsk_fair');
      pcap = await captureInside(env, 'icmp6', () => {
        const res = ping6(env, 20, 0.05);
        assert.is(res.received, 20, res.out);
      });
      await waitFor('a stats line', () => r.stats.length > 0);
    });
    const exit = run.exit!;
    assert.ok(exit.counters.rxPackets >= 20, `RX ${exit.counters.rxPackets}`);
    assert.ok(exit.counters.txPackets >= 20, `TX ${exit.counters.txPackets}`);
    const replies = decode(pcap).filter((l) => l.includes('echo reply'));
    assert.is(
      replies.length,
      20,
      `${replies.length} replies in ${decode(pcap).length} lines: ${decode(pcap).slice(-3).join('\n')}`,
    );
    for (const line of replies) assert.match(line, '[icmp6 sum ok]');
    for (const line of replies) assert.match(line, 'hlim 64');
    assert.is(attachedProgram(env.name), undefined, 'program detached after exit');
  });
});

test("echo online: IPv4 ping, and a ping to ff02::1 answered from the interface's unicast address; reasons in --json", async () => {
  await withEnv({ legacyIp: true }, async (env) => {
    const run = await serving(env.name, ['-p'], async (r) => {
      assert.match(pingFromInside(env, outerAddr4(env), ['-c', '5', '-i', '0.05', '-W', '1']).stdout, '5 received');
      const multicast = spawnSync(
        'ip',
        ['netns', 'exec', env.name, 'ping', '-6', '-c', '3', '-i', '0.1', '-W', '1', 'ff02::1%veth0'],
        { encoding: 'utf8' },
      );
      assert.match(multicast.stdout, '3 received');
      assert.match(multicast.stdout, `from ${outerAddr(env)}`);
      await waitFor('a stats line with reasons', () => (r.stats.at(-1)?.reasons?.replied ?? 0) >= 8);
    });
    assert.ok((run.exit!.reasons.replied ?? 0) >= 8, JSON.stringify(run.exit!.reasons));
  });
});

test('drop: the same pings all vanish, and RX counts them (so the echo replies were ours)', async () => {
  await withEnv({}, async (env) => {
    const run = await serving(env.name, ['-p', '--handler', DROP], async () => {
      const res = ping6(env, 10, 0.05);
      assert.is(res.received, 0, res.out);
    });
    assert.ok(run.exit!.counters.rxPackets >= 10, `RX ${run.exit!.counters.rxPackets}`);
    assert.is(run.exit!.counters.txPackets, 0);
    assert.ok(run.exit!.counters.dropped >= 10);
  });
});

test('--busy-poll and --no-need-wakeup: the socket binds that way, and pings are still answered through it', async () => {
  await withEnv({}, async (env) => {
    for (const args of [
      ['--busy-poll', '20'],
      ['-p', '--no-need-wakeup'],
    ]) {
      const run = await serving(env.name, args, () => {
        assert.is(ping6(env, 5, 0.05).received, 5, args.join(' '));
      });
      assert.ok(run.exit!.counters.txPackets >= 5, args.join(' '));
    }
  });
});

test('--coalesce: a paced load is answered in batches many packets deep, one kick each, each request once; a lone ping is not held back', async () => {
  await withEnv({}, async (env) => {
    const perBatch: number[] = [];
    let kicksPerBatch = 0;
    for (const args of [['-p'], ['--coalesce', '3000']]) {
      let sent = 0;
      const run = await serving(env.name, args, async () => {
        sent = gen(env, '--rate', '20000', '--seconds', '0.5').sent;
        await sleep(50);
        // Pings come too seldom to gather 4 in a nap: none waits out the 3 ms.
        const pings = ping6(env, 3, 0.05);
        assert.is(pings.received, 3);
        // A held-back ping waits out the whole 3 ms nap; the figure itself is in npm run bench.
        const avg = Number(/= [\d.]+\/([\d.]+)\//.exec(pings.out)?.[1]);
        assert.ok(avg < 3, `${args.join(' ')}: ping rtt avg ${avg} ms`);
      });
      const c = run.exit!.counters;
      assert.ok(
        c.txPackets >= sent + 3 && c.txPackets <= sent + 3 + 20,
        `${args.join(' ')}: ${c.txPackets} replies for ${sent} + 3 requests`,
      );
      perBatch.push(c.rxPackets / c.batches);
      kicksPerBatch = c.kicks / c.batches;
    }
    // 20 k/s arrive one by one: poll() alone wakes for nearly each; a 3 ms nap gathers ~60.
    assert.ok(perBatch[0]! < 3, `-p: ${perBatch[0]} packets per batch`);
    assert.ok(perBatch[1]! >= 30, `--coalesce 3000: ${perBatch[1]} packets per batch`);
    // And one kick sends a batch of them, not 32 at a time: from Linux 6.17, whose copy-mode TX takes up to
    // XDP_MAX_TX_SKB_BUDGET frames a kick. Older kernels send 32 a kick, so there it is not asserted.
    if (kernelAtLeast(6, 17)) assert.ok(kicksPerBatch < 1.3, `${kicksPerBatch} kicks per batch`);
    else console.log(`    (kernel ${release()} < 6.17: ${kicksPerBatch.toFixed(2)} kicks per batch, not asserted)`);
  });
});

test("the lesson's text stats line, every period", async () => {
  await withEnv({}, async (env) => {
    const run = startAfxdp(['-d', env.name, '-p', '--interval', '0.3']);
    try {
      await run.ready();
      ping6(env, 3, 0.05);
      await waitFor('two stats blocks', () => (run.stdout.match(/AF_XDP RX:/g) ?? []).length >= 2);
      assert.is(await run.stop('SIGINT'), 0);
    } finally {
      await run.kill();
    }
    const block =
      /AF_XDP RX: +(\d+) pkts \( +[\d,]+ pps\) +[\d,]+ Kbytes \( +[\d,]+ Mbits\/s\) period:\d+\.\d{6}\n {7}TX: +(\d+) pkts/;
    assert.match(run.stdout, block);
    // Column widths of "%-12s %'11lld pkts (%'10.0f pps) %'11lld Kbytes (%'6.0f Mbits/s) period:%f".
    const exact =
      /^AF_XDP RX: {3}[ \d,]{10}\d pkts \([ \d,]{9}\d pps\) [ \d,]{10}\d Kbytes \([ \d,]{5}\d Mbits\/s\) period:0\.\d{6}\n {7}TX: {3}[ \d,]{10}\d pkts/m;
    assert.match(run.stdout, exact);
    assert.match(run.stdout, /kernel \(XDP_STATISTICS\): rx_dropped \d+, rx_ring_full \d+/);
  });
});

test('exit: SIGINT and SIGTERM detach; after SIGKILL the next start recovers and cleans up', async () => {
  await withEnv({}, async (env) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const run = startAfxdp(['-d', env.name, '-p', '-q']);
      try {
        await run.ready();
        assert.is(attachedProgram(env.name), 'xsk_fair');
        assert.is(await run.stop(signal), 0, run.stderr);
        assert.is(attachedProgram(env.name), undefined, `detached after ${signal}`);
      } finally {
        await run.kill();
      }
    }
    const killed = startAfxdp(['-d', env.name, '-p', '-q']);
    try {
      await killed.ready();
      await killed.stop('SIGKILL');
    } finally {
      await killed.kill();
    }
    assert.is(attachedProgram(env.name), 'xsk_fair', 'SIGKILL leaves the program (netlink attach)');
    const next = startAfxdp(['-d', env.name, '-p', '-q']);
    try {
      await next.ready();
      assert.match(next.stderr, /Removed XDP program 'xsk_fair' \(id \d+, native\) that a killed afxdp-wasm/);
      assert.is(ping6(env, 3, 0.05).received, 3);
      assert.is(await next.stop('SIGTERM'), 0);
    } finally {
      await next.kill();
    }
    assert.is(attachedProgram(env.name), undefined);
    assert.is(
      spawnSync('xdp-loader', ['status', env.name], { encoding: 'utf8' }).stdout.includes('No XDP program loaded'),
      true,
    );
  });
});

for (const [name, handler] of [
  ['echo', []],
  ['drop', ['--handler', DROP]],
] as const) {
  test(`accounting (${name}): after a 100k-packet burst and a drain, free + in flight == total, RX == TX + dropped`, async () => {
    await withEnv({}, async (env) => {
      const run = await serving(env.name, ['-p', ...handler], async (r) => {
        burst(env, 100_000);
        let last = -1;
        // Drained: RX stops moving.
        await waitFor(
          'the burst to drain',
          () => {
            const s = r.stats.at(-1);
            const rx = s?.counters.rxPackets ?? -2;
            const still = rx === last;
            last = rx;
            return still && rx > 0;
          },
          20000,
        );
      });
      const { counters: c, frames } = run.exit!;
      assert.ok(frames.balanced, JSON.stringify(frames));
      assert.is(frames.free + frames.inFlight, frames.total);
      assert.is(c.framesBatch, 0);
      assert.is(c.framesTxKernel, 0, 'all TX completed');
      assert.is(c.rxPackets, c.txPackets + c.dropped + c.invalid + c.txRingFull);
      assert.ok(c.rxPackets > 1000, `RX ${c.rxPackets}`);
      const lost = run.exit!.xdp!;
      // Everything the XDP program redirected is either counted by us or by the kernel's drop counters.
      assert.ok(c.rxPackets + lost.rx_dropped! <= 100_000 + 100, `RX ${c.rxPackets} + kernel drops ${lost.rx_dropped}`);
      if (name === 'drop') assert.is(c.txPackets, 0);
      else assert.ok(c.txPackets > 0);
    });
  });
}

test('the event loop keeps ticking while a flood is processed (no stats period held up)', async () => {
  await withEnv({}, async (env) => {
    const run = await serving(env.name, [], async (r) => {
      const gen = flood(env);
      try {
        await sleep(2500);
      } finally {
        await gen.stop();
      }
      const busy = r.stats.filter((s) => s.counters.rxPackets > 0);
      assert.ok(busy.length >= 5, `only ${busy.length} periods under load`);
      // A main thread the data path held up would show it in one long period; how close the periods stay
      // to 0.2 s on this machine is a figure of npm run bench.
      const late = busy.filter((s) => s.period > 1);
      assert.is(late.length, 0, `late periods: ${late.map((s) => s.period.toFixed(3)).join(' ')}`);
    });
    assert.ok(run.exit!.counters.rxPackets > 10_000, `RX ${run.exit!.counters.rxPackets}`);
  });
});

test('a SIGTERM at any moment of start-up leaves no program behind', async () => {
  await withEnv({ noPing: true }, async (env) => {
    for (const ms of [100, 250, 400, 600, 900]) {
      const run = startAfxdp(['-d', env.name, '-p', '-q']);
      try {
        await sleep(ms);
        await run.stop('SIGTERM');
      } finally {
        await run.kill();
      }
      assert.is(attachedProgram(env.name), undefined, `after a SIGTERM at ${ms} ms`);
    }
  });
});

test('when its output goes away (EPIPE), it exits and still detaches', async () => {
  await withEnv({ noPing: true }, async (env) => {
    const run = startAfxdp(['-d', env.name, '-p', '--interval', '0.1']);
    try {
      await run.ready();
      assert.is(attachedProgram(env.name), 'xsk_fair');
      run.child.stdout!.destroy();
      const code = await Promise.race([run.exited, sleep(5000).then(() => 'still running')]);
      assert.is(code, 1);
      assert.is(attachedProgram(env.name), undefined);
    } finally {
      await run.kill();
    }
  });
});

test('bad input: one line, non-zero exit, nothing attached', async () => {
  await withEnv({ noPing: true }, async (env) => {
    const cases: [string[], RegExp][] = [
      [['-d', 'nosuchif0'], /^afxdp-wasm: no interface named 'nosuchif0'/],
      [['-d'], /^afxdp-wasm: Option '-d, --dev <value>' argument missing/],
      [
        ['-d', env.name, '-Q', '3'],
        new RegExp(`^afxdp-wasm: ${env.name} has 1 RX queue \\(0\\.\\.0\\); -Q 3 does not exist`),
      ],
      [
        ['-d', env.name, '-z'],
        new RegExp(
          `^afxdp-wasm: ${env.name} \\(driver veth\\) has no zero-copy AF_XDP; run without -z: copy mode \\(-c\\) works`,
        ),
      ],
      [['-d', env.name, '--handler', '/nonexistent.wasm'], /^afxdp-wasm: handler \/nonexistent\.wasm: no such file/],
      [
        ['-d', env.name, '--handler', join(ROOT, 'package.json')],
        /^afxdp-wasm: handler .*package\.json is not a valid WebAssembly module/,
      ],
      [
        ['-d', env.name, '--handler', EMPTY_WASM],
        /^afxdp-wasm: handler .*empty\.wasm does not import env\.memory; build it with the project's asconfig\.json/,
      ],
      [['-d', env.name, '--frame-size', '3000'], /^afxdp-wasm: --frame-size must be 2048 or 4096/],
      [
        ['-d', env.name, '--coalesce', '5ms'],
        /^afxdp-wasm: --coalesce must be a whole number from 0 to 10000, not '5ms'/,
      ],
      [['-d', env.name, '--bogus'], /^afxdp-wasm: Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const res = await runAfxdp(args);
      assert.is(res.code, 1, `${args.join(' ')}: ${res.stderr}`);
      assert.is(res.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message);
      assert.is(attachedProgram(env.name), undefined, `${args.join(' ')} left a program`);
    }
    // Interface down.
    spawnSync('ip', ['link', 'set', 'dev', env.name, 'down']);
    const down = await runAfxdp(['-d', env.name]);
    assert.match(
      down.stderr,
      new RegExp(`^afxdp-wasm: interface ${env.name} is down; bring it up: ip link set dev ${env.name} up`),
    );
    spawnSync('ip', ['link', 'set', 'dev', env.name, 'up']);
    // Somebody else's program: named, with the -F hint; -F replaces it and detaches at exit.
    const other = join(ROOT, 'build', 'bpf', 'af_xdp_kern.o');
    assert.is(spawnSync('xdp-loader', ['load', '-m', 'native', env.name, other]).status, 0);
    try {
      const busy = await runAfxdp(['-d', env.name]);
      assert.match(
        busy.stderr,
        new RegExp(
          `^afxdp-wasm: ${env.name} already has XDP program 'xdp_sock_prog' \\(id \\d+, native\\) attached; add -F`,
        ),
      );
      assert.is(attachedProgram(env.name), 'xdp_sock_prog', 'the other program is untouched');
      const forced = startAfxdp(['-d', env.name, '-F', '-q', '-p']);
      try {
        await forced.ready();
        assert.match(forced.stderr, /Replaced XDP program 'xdp_sock_prog'/);
        assert.is(attachedProgram(env.name), 'xsk_fair');
        assert.is(await forced.stop(), 0);
      } finally {
        await forced.kill();
      }
      assert.is(attachedProgram(env.name), undefined);
    } finally {
      spawnSync('xdp-loader', ['unload', env.name, '--all']);
    }
    // Not root.
    const nobody = runCli('afxdp-wasm', ['-d', env.name], { uid: NOBODY });
    assert.is(nobody.status, 1);
    assert.match(
      nobody.stderr,
      /^afxdp-wasm: AF_XDP needs root \(or CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK, CAP_SYS_ADMIN, CAP_BPF\)/,
    );
  });
});

test.run();
