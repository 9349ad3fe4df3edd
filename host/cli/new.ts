// afxdp-wasm new DIR: a handler project of one's own. It depends on this
// checkout (a file: dependency), extends our asconfig.json, imports the SDK by
// package name, and its npm test builds the handler and replays a capture of
// requests against a golden capture of the replies they should get.
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../lib/errors.js';
import { echo4Frame, echo6Frame } from '../lib/frames.js';
import { projectRoot } from '../lib/paths.js';
import { writePcap } from '../offline/pcap.js';
import { command } from './table.js';

export const newCommand = command({
  summary: 'make a handler project of your own (handler, test, golden replies)',
  prog: 'afxdp-wasm new',
  synopsis: 'Usage: afxdp-wasm new DIR',
  about:
    'Make DIR a handler project: package.json (depending on this afxdp-wasm), asconfig.json, handler.ts\n' +
    '(a ping responder importing the SDK as afxdp-wasm/asm/lib/...), and test.mjs with test/requests.pcap\n' +
    'and test/expected.pcap. Then: cd DIR && npm install && npm test.',
  options: {},
  positionals: true,
  run: (_values, dirs) => {
    const [dir] = dirs;
    if (dirs.length !== 1 || !dir) throw new UserError('new takes one folder: afxdp-wasm new DIR');
    scaffold(resolve(dir));
  },
});

function scaffold(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new UserError(`${dir} is not empty; name a new or empty folder`);
  }
  mkdirSync(join(dir, 'test'), { recursive: true });
  const template = join(projectRoot(), 'asm', 'template');
  copyFileSync(join(template, 'handler.ts'), join(dir, 'handler.ts'));
  copyFileSync(join(template, 'test.mjs'), join(dir, 'test.mjs'));
  writeJson(join(dir, 'package.json'), packageJson(basename(dir)));
  // A path into node_modules, not a package name: asc would resolve that through package.json "exports".
  writeJson(join(dir, 'asconfig.json'), { extends: './node_modules/afxdp-wasm/asconfig.json' });
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n*.wasm\n');
  const golden = goldenPair();
  writeFileSync(join(dir, 'test', 'requests.pcap'), writePcap(golden.requests));
  writeFileSync(join(dir, 'test', 'expected.pcap'), writePcap(golden.replies));
  console.log(`Made ${dir}: cd ${dir} && npm install && npm test`);
}

function packageJson(name: string) {
  return {
    name: name.toLowerCase().replace(/[^a-z0-9-]/g, '-'),
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      build: 'afxdp-wasm build handler.ts',
      test: 'node test.mjs',
      golden: 'node test.mjs --update',
    },
    devDependencies: { 'afxdp-wasm': `file:${projectRoot()}` },
  };
}

const writeJson = (file: string, value: unknown) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

/**
 * Requests and the replies the handler must give, both built here byte by byte (not by running
 * a handler): pings over IPv6 and IPv4 are answered from the address they were sent to, with hop
 * limit 64; a ping sent to a group MAC and a ping reply are dropped.
 */
function goldenPair(): { requests: Uint8Array[]; replies: Uint8Array[] } {
  const us = { mac: '02:00:00:00:00:01', v6: 'fc00:dead:cafe:1::1', v4: '10.11.1.1' };
  const peer = { mac: '02:00:00:00:00:02', v6: 'fc00:dead:cafe:1::2', v4: '10.11.1.2' };
  const ping6 = (seq: number, type: number, from: typeof us, to: typeof us) =>
    echo6Frame({ seq, type, srcMac: from.mac, dstMac: to.mac, src: from.v6, dst: to.v6 });
  const ping4 = (seq: number, type: number, from: typeof us, to: typeof us) =>
    echo4Frame({ seq, type, srcMac: from.mac, dstMac: to.mac, src: from.v4, dst: to.v4 });
  const requests = [
    ping6(1, 128, peer, us),
    ping4(2, 8, peer, us),
    ping6(3, 128, peer, { ...us, mac: '33:33:00:00:00:01' }),
    ping6(4, 129, peer, us),
    ping4(5, 8, peer, us),
  ];
  const replies = [ping6(1, 129, us, peer), ping4(2, 0, us, peer), ping4(5, 0, us, peer)];
  return { requests: requests.map((f) => Uint8Array.from(f)), replies: replies.map((f) => Uint8Array.from(f)) };
}
