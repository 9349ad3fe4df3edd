// ctl capture against a live responder: pings captured with --count and judged by tshark (requests
// as received, replies as sent, checksums, direction flags, queue/verdict comments), a capture to
// stdout, --seconds, Ctrl-C leaving a complete file, and a tiny buffer under a flood losing frames
// (counted) while the responder keeps answering. Then the capture is replayed.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EnvState } from '../../host/testenv/state.js';
import { outerAddr } from '../../host/testenv/state.js';
import { distFile } from '../../host/lib/paths.js';
import { readCapture } from '../../host/offline/pcap.js';
import { serving, sleep, waitFor } from '../helpers/afxdp.js';
import { ROOT, runCli, withEnv } from '../helpers/testenv.js';
import { tsharkFields } from '../helpers/tools.js';
import { gen, macOf, ping6 } from '../helpers/traffic.js';

const scratch = mkdtempSync(join(tmpdir(), 'afxdp-capture-'));
const ECHO = join(ROOT, 'build', 'asm', 'echo.wasm');

/** afxdp-wasm ctl capture as a child: its stdout kept as bytes, its stderr as text. */
class CtlCapture {
  readonly child: ChildProcess;
  stdout = Buffer.alloc(0);
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(env: EnvState, args: string[]) {
    const argv = [distFile('afxdp-wasm.js'), 'ctl', 'capture', '-d', env.name, ...args];
    this.child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout = Buffer.concat([this.stdout, d])));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  started(): Promise<void> {
    return waitFor('the capture to start', () => this.stderr.includes('Capturing ') || this.child.exitCode !== null);
  }

  /** Its exit code, or a failure if it has not ended within ms. */
  async ended(ms: number): Promise<number | null> {
    const code = await Promise.race([this.exited, sleep(ms).then(() => 'running' as const)]);
    if (code === 'running') {
      this.child.kill('SIGKILL');
      throw new Error(`ctl capture still running after ${ms} ms: ${this.stderr}`);
    }
    return code;
  }
}

const rows = (file: string, fields: string[], filter: string) => tsharkFields(file, fields, { filter, separator: '|' });

/** Sends one UDP datagram from inside: echo drops it (not_echo). */
function udpFromInside(env: EnvState): void {
  const script = `echo hi > /dev/udp/${outerAddr(env)}/9`;
  spawnSync('ip', ['netns', 'exec', env.name, 'bash', '-c', script]);
}

test('ping while capturing with --count: requests as received and replies as sent, checksums Good, directions and comments', async () => {
  await withEnv({}, async (env) => {
    const file = join(scratch, 'count.pcapng');
    await serving(env.name, [], async () => {
      const cap = new CtlCapture(env, ['--count', '4', file]);
      await cap.started();
      assert.is(ping6(env, 6, 0.1).received, 6);
      assert.is(await cap.ended(5000), 0, cap.stderr);
      assert.match(cap.stderr, /Captured 4 frames in and \d+ out of queue 0 to /);
    });
    const icmp = ['icmpv6.echo.sequence_number', 'frame.packet_flags_direction', 'frame.comment'];
    const requests = rows(file, icmp, 'icmpv6.type == 128 && icmpv6.checksum.status == 1');
    const replies = rows(file, icmp, 'icmpv6.type == 129 && icmpv6.checksum.status == 1');
    assert.ok(requests.length >= 1 && requests.length <= 4, requests.join('\n'));
    assert.is(rows(file, ['frame.number'], 'icmpv6.type == 128').length, requests.length, 'every request checks');
    for (const r of requests) assert.match(r, /^\d+\|0x0*1\|queue 0, in, verdict tx$/);
    assert.is(replies.length, requests.length, `a reply for each request:\n${replies.join('\n')}`);
    for (const r of replies) assert.match(r, /^\d+\|0x0*2\|queue 0, out$/);
    const seqs = (list: string[]) => list.map((r) => r.split('|')[0]).join(',');
    assert.is(seqs(replies), seqs(requests));
    // What replay reads of it: the frames received, not the ones sent.
    const read = readCapture(readFileSync(file));
    assert.is(read.frames.length, 4);
    assert.is(read.outbound, replies.length);
  });
});

test('a capture to - (stdout), a drop with its reason, and the capture replayed', async () => {
  await withEnv({}, async (env) => {
    const file = join(scratch, 'stdout.pcapng');
    await serving(env.name, [], async () => {
      const cap = new CtlCapture(env, ['--count', '3', '-']);
      await cap.started();
      udpFromInside(env);
      assert.is(ping6(env, 4, 0.1).received, 4);
      assert.is(await cap.ended(5000), 0, cap.stderr);
      writeFileSync(file, cap.stdout);
    });
    const drops = rows(file, ['frame.comment'], 'udp');
    assert.equal(drops, ['queue 0, in, verdict drop, reason not_echo']);
    const out = join(scratch, 'replayed.pcap');
    const args = ['--handler', ECHO, file, out, '--addr', outerAddr(env), '--mac', macOf(env, false)];
    const res = runCli('replay', args);
    assert.is(res.status, 0, res.stderr);
    assert.match(res.stderr, /frames the capture marks outbound \(sent\) are left out/);
    assert.match(res.stdout, /^3 frames in: 2 transmitted/);
    assert.is(rows(out, ['frame.number'], 'icmpv6.type == 129 && icmpv6.checksum.status == 1').length, 2);
  });
});

test('--seconds ends it; Ctrl-C on ctl ends it with a complete file; a client gone turns capture off', async () => {
  await withEnv({}, async (env) => {
    const timed = join(scratch, 'seconds.pcapng');
    const interrupted = join(scratch, 'sigint.pcapng');
    await serving(env.name, [], async () => {
      const started = performance.now();
      const cap = new CtlCapture(env, ['--seconds', '1', timed]);
      await cap.started();
      assert.is(ping6(env, 2, 0.1).received, 2);
      assert.is(await cap.ended(6000), 0, cap.stderr);
      assert.ok(performance.now() - started >= 1000, 'not before its second');

      const open = new CtlCapture(env, [interrupted]);
      await open.started();
      assert.is(ping6(env, 3, 0.1).received, 3);
      await sleep(100);
      open.child.kill('SIGINT');
      assert.is(await open.ended(5000), 0, open.stderr);
      assert.match(open.stderr, /Captured 3 frames in and 3 out/);
      // A client that vanishes (no stop line) turns its capture off too: another may then start.
      const killed = new CtlCapture(env, [join(scratch, 'killed.pcapng')]);
      await killed.started();
      killed.child.kill('SIGKILL');
      await killed.exited;
      await sleep(200);
      const next = new CtlCapture(env, ['--seconds', '0.2', join(scratch, 'next.pcapng')]);
      assert.is(await next.ended(5000), 0, next.stderr);
    });
    assert.is(rows(timed, ['frame.number'], 'icmpv6.type == 129').length, 2);
    assert.is(rows(interrupted, ['frame.number'], 'icmpv6.type == 128').length, 3);
    assert.is(rows(interrupted, ['frame.number'], 'icmpv6.type == 129').length, 3);
    const res = spawnSync('tshark', ['-r', interrupted, '-q'], { encoding: 'utf8' });
    assert.is(res.status, 0, res.stderr);
    assert.not.match(res.stderr, /cut short|appears to be damaged/);
  });
});

test('a tiny buffer under a flood: frames are lost and counted, and the responder keeps answering', async () => {
  await withEnv({}, async (env) => {
    const file = join(scratch, 'flood.pcapng');
    let replies = 0;
    let sent = 0;
    await serving(env.name, [], async () => {
      const cap = new CtlCapture(env, ['--buffer', '16', file]);
      await cap.started();
      const flood = gen(env, '--seconds', '1');
      replies = flood.replies;
      sent = flood.sent;
      cap.child.kill('SIGINT');
      assert.is(await cap.ended(8000), 0, cap.stderr);
      const lost = Number(/; (\d+) frames lost: the capture buffer was full/.exec(cap.stderr)?.[1] ?? 0);
      assert.ok(lost > 0, cap.stderr);
      assert.is(ping6(env, 3, 0.05).received, 3);
    });
    // The same bar as the flat-out test of gen (test/kernel/gen.test.ts): flat out, most frames are dropped anyway.
    assert.ok(replies > 1000, `answered ${replies} of ${sent} while capturing`);
    assert.ok(readCapture(readFileSync(file)).frames.length > 0, 'some frames were captured');
    const res = spawnSync('capinfos', [file], { encoding: 'utf8' });
    assert.is(res.status, 0, res.stderr);
  });
});

test.run();
