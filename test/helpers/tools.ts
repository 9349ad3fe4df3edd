// Unit tests that lean on a Debian tool (tshark to judge replies, clang to build a C model) run where it
// is installed and are counted as skipped, with one line saying why, where it is not: the unit tier needs
// nothing but Node.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import { hasCommand } from '../../host/lib/exec.js';

/** uvu's test, or, when one of the tools is missing, one that registers each test as skipped. */
export function testWith(...tools: string[]): typeof test {
  const missing = tools.filter((t) => !hasCommand(t));
  if (missing.length === 0) return test;
  console.log(`  ${missing.join(', ')} not installed: the tests that need it are skipped`);
  const skipping = (name: string, fn: Parameters<typeof test>[1]) => test.skip(name, fn);
  return Object.assign(skipping, { ...test, only: skipping, skip: test.skip, run: test.run }) as typeof test;
}

/**
 * tshark's reading of a capture, with IPv4 header checksums checked: one row per packet (that
 * filter keeps), the fields joined by separator.
 */
export function tsharkFields(
  file: string,
  fields: string[],
  opts: { filter?: string; separator?: string } = {},
): string[] {
  const filter = opts.filter === undefined ? [] : ['-Y', opts.filter];
  const argv = [
    '-r',
    file,
    '-o',
    'ip.check_checksum:TRUE',
    ...filter,
    '-T',
    'fields',
    '-E',
    `separator=${opts.separator ?? '/'}`,
  ];
  const res = spawnSync('tshark', [...argv, ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`tshark failed: ${res.stderr}`);
  return res.stdout.trim().split('\n').filter(Boolean);
}
