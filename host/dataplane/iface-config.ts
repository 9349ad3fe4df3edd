// The handler config block (asm/lib/config.ts, asm/CONTRACT.md; its layout is generated from
// asm/contract/abi.json): what a handler knows about the interface it serves. Filled from the
// interface's own configuration, or from --addr.
import { addressBytes, ipv4Bytes, ipv6Bytes, macBytes } from '../lib/addr.js';
import { run } from '../lib/exec.js';
import { CONFIG, CONFIG_FLAG, HANDLER_CONFIG_OFFSET, HANDLER_CONFIG_SIZE } from './layout.js';

export interface InterfaceConfig {
  mac: number[] | undefined;
  ipv6: number[] | undefined;
  ipv4: number[] | undefined;
  hopLimit: number;
}

interface IpAddrJson {
  address?: string;
  addr_info?: { family: string; local: string; scope: string }[];
}

/** The interface's MAC, first global IPv6 and first IPv4 address; --addr values win. */
export function interfaceConfig(ifname: string, addrs: string[], hopLimit: number): InterfaceConfig {
  const [link] = JSON.parse(run(['ip', '-j', 'addr', 'show', 'dev', ifname])) as IpAddrJson[];
  const info = link?.addr_info ?? [];
  const own6 = info.find((a) => a.family === 'inet6' && a.scope === 'global')?.local;
  const own4 = info.find((a) => a.family === 'inet')?.local;
  const given = addressBytes(addrs);
  return {
    mac: link?.address ? macBytes(link.address) : undefined,
    ipv6: given.ipv6 ?? (own6 ? ipv6Bytes(own6) : undefined),
    ipv4: given.ipv4 ?? (own4 ? ipv4Bytes(own4) : undefined),
    hopLimit,
  };
}

export function writeInterfaceConfig(memory: WebAssembly.Memory, cfg: InterfaceConfig): void {
  const block = new Uint8Array(memory.buffer, HANDLER_CONFIG_OFFSET, HANDLER_CONFIG_SIZE);
  const view = new DataView(memory.buffer, HANDLER_CONFIG_OFFSET, HANDLER_CONFIG_SIZE);
  block.fill(0);
  view.setUint32(CONFIG.flags, (cfg.ipv6 ? CONFIG_FLAG.hasIpv6 : 0) | (cfg.ipv4 ? CONFIG_FLAG.hasIpv4 : 0), true);
  view.setUint32(CONFIG.hopLimit, cfg.hopLimit, true);
  if (cfg.mac) block.set(cfg.mac, CONFIG.mac);
  if (cfg.ipv6) block.set(cfg.ipv6, CONFIG.ipv6);
  if (cfg.ipv4) block.set(cfg.ipv4, CONFIG.ipv4);
}
