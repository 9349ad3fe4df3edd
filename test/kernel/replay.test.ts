// npm run replay on captures of real pings from a test environment, in pcap
// (tcpdump) and pcapng (tshark); tshark judges what comes out. Made-up
// captures and bad input need no kernel: test/unit.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outerAddr, outerAddr4 } from '../../host/testenv/state.js';
import { ROOT, pingFromInside, runCli, withEnv } from '../helpers/testenv.js';
import { captureOuter, macOf } from '../helpers/traffic.js';
import { tsharkFields } from '../helpers/tools.js';

const ECHO = join(ROOT, 'build', 'asm', 'echo.wasm');

const tsharkRows = (file: string, fields: string[], filter: string) => tsharkFields(file, fields, { filter });

test('replay answers every echo request of a real capture, in pcap and pcapng, and tshark accepts the replies', async () => {
  await withEnv({ legacyIp: true }, async (env) => {
    const pcap = await captureOuter(env, 'icmp or icmp6', () => {
      assert.match(pingFromInside(env, outerAddr(env), ['-c', '3', '-i', '0.1']).stdout, '3 received');
      assert.match(pingFromInside(env, outerAddr4(env), ['-c', '3', '-i', '0.1']).stdout, '3 received');
    });
    const pcapng = `${pcap}ng`;
    assert.is(spawnSync('tshark', ['-r', pcap, '-F', 'pcapng', '-w', pcapng]).status, 0);
    const requests = [
      ...tsharkRows(pcap, ['icmpv6.echo.identifier', 'icmpv6.echo.sequence_number'], 'icmpv6.type == 128'),
      ...tsharkRows(pcap, ['icmp.ident', 'icmp.seq'], 'icmp.type == 8'),
    ].sort();
    assert.is(requests.length, 6, 'the capture holds 3 + 3 requests');
    for (const input of [pcap, pcapng]) {
      const out = `${input}.replies.pcap`;
      const res = runCli('replay', [
        '--handler',
        ECHO,
        input,
        out,
        '--addr',
        outerAddr(env),
        '--mac',
        macOf(env, false),
      ]);
      assert.is(res.status, 0, res.stderr);
      assert.match(res.stdout, /frames in: 6 transmitted/);
      assert.match(res.stdout, /replied 6/);
      const good6 = tsharkRows(
        out,
        ['icmpv6.echo.identifier', 'icmpv6.echo.sequence_number'],
        'icmpv6.type == 129 && icmpv6.checksum.status == 1 && ipv6.hlim == 64',
      );
      const good4 = tsharkRows(
        out,
        ['icmp.ident', 'icmp.seq'],
        'icmp.type == 0 && icmp.checksum.status == 1 && ip.checksum.status == 1 && ip.ttl == 64',
      );
      assert.equal([...good6, ...good4].sort(), requests, `${input}: a good reply for each request`);
    }
  });
});

test.run();
