// Addresses as bytes, for frames and for the handler config block.
import { isIPv4, isIPv6 } from 'node:net';
import { UserError } from './errors.js';

export function macBytes(mac: string): number[] {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new UserError(`'${mac}' is not a MAC address`);
  return mac.split(':').map((h) => parseInt(h, 16));
}

export function ipv6Bytes(addr: string): number[] {
  if (!isIPv6(addr) || addr.includes('.')) throw new UserError(`'${addr}' is not an IPv6 address`);
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = parseInt(g || '0', 16);
    return [v >> 8, v & 0xff];
  });
}

export function ipv4Bytes(addr: string): number[] {
  if (!isIPv4(addr)) throw new UserError(`'${addr}' is not an IPv4 address`);
  return addr.split('.').map(Number);
}

/** --addr values (at most one of each family) as the handler config block's bytes. */
export function addressBytes(addrs: string[]): { ipv6: number[] | undefined; ipv4: number[] | undefined } {
  const six = addrs.find((a) => isIPv6(a));
  const four = addrs.find((a) => !isIPv6(a));
  return { ipv6: six ? ipv6Bytes(six) : undefined, ipv4: four ? ipv4Bytes(four) : undefined };
}
