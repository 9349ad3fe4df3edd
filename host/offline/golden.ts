// Golden tests of a handler (replay --expect): what it sends against a capture
// of what it should send, frame by frame, and the first difference shown
// decoded twice: by our own decoder and, when it is installed, by tshark.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand } from '../lib/exec.js';
import { describeFrame } from './describe.js';
import { writePcap } from './pcap.js';

export interface Difference {
  /** The place of the frame in both lists (0-based). */
  index: number;
  expected: Uint8Array | undefined;
  got: Uint8Array | undefined;
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

export function firstDifference(expected: Uint8Array[], got: Uint8Array[]): Difference | undefined {
  for (let i = 0; i < Math.max(expected.length, got.length); i++) {
    const [e, g] = [expected[i], got[i]];
    if (!e || !g || !same(e, g)) return { index: i, expected: e, got: g };
  }
  return undefined;
}

/**
 * The lines that show a difference: where it is, and each side decoded. sentFrom: for each frame
 * sent, the input frame it answered (0-based).
 */
export function differenceLines(d: Difference, golden: string, sentFrom: number[]): string[] {
  const from = sentFrom[d.index] === undefined ? '' : ` (the answer to input frame ${sentFrom[d.index]! + 1})`;
  const lines = [`frame ${d.index + 1} differs from ${golden}${from}:`];
  const ours = (f: Uint8Array | undefined, missing: string) => (f ? describeFrame(f) : missing);
  lines.push(`  expected: ${ours(d.expected, `nothing (${golden} ends here)`)}`);
  lines.push(`  got:      ${ours(d.got, 'nothing (the handler sent no more)')}`);
  if (d.expected && d.got) lines.push(`  ${firstByte(d.expected, d.got)}`);
  const present = [d.expected, d.got].filter((f): f is Uint8Array => f !== undefined);
  const shark = tsharkSummaries(present);
  if (!shark) lines.push('  (tshark is not installed: only our own decoding)');
  else {
    const [e, g] = d.expected && d.got ? shark : d.expected ? [shark[0], undefined] : [undefined, shark[0]];
    if (e !== undefined) lines.push(`  tshark, expected: ${e}`);
    if (g !== undefined) lines.push(`  tshark, got:      ${g}`);
  }
  return lines;
}

function firstByte(e: Uint8Array, g: Uint8Array): string {
  const at = e.findIndex((v, i) => v !== g[i]);
  const hex = (v: number | undefined) => (v === undefined ? 'none' : `0x${v.toString(16).padStart(2, '0')}`);
  if (at < 0) return `the same ${e.length} bytes, then ${g.length - e.length} more`;
  return `first different byte at offset ${at}: expected ${hex(e[at])}, got ${hex(g[at])}`;
}

/** tshark's one-line summary of each frame (numbers, no name look-ups), or undefined without tshark. */
function tsharkSummaries(frames: Uint8Array[]): string[] | undefined {
  if (!hasCommand('tshark')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-golden-'));
  try {
    const file = join(dir, 'frames.pcap');
    writeFileSync(file, writePcap(frames));
    const checks = ['ip.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'tcp.check_checksum:TRUE'];
    const res = spawnSync('tshark', ['-n', '-r', file, ...checks.flatMap((c) => ['-o', c])], { encoding: 'utf8' });
    if (res.status !== 0) return [`tshark failed: ${res.stderr.trim().split('\n').pop() ?? ''}`];
    // "    1   0.000000 a → b ICMPv6 118 Echo (ping) reply ...": the frame number and time say nothing here.
    return res.stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.trim().replace(/^\d+\s+[\d.]+\s+/, ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
