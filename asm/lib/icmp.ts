// ICMP echo (RFC 792) and ICMPv6 echo (RFC 4443).
export const ICMP_ECHO_REPLY: u32 = 0;
export const ICMP_ECHO_REQUEST: u32 = 8;
export const ICMPV6_ECHO_REQUEST: u32 = 128;
export const ICMPV6_ECHO_REPLY: u32 = 129;
/** Type, code, checksum, identifier, sequence. */
export const ICMP_ECHO_HLEN: u32 = 8;

/** The type-and-code word as it is summed: type in the high byte. */
@inline export function typeCode(type: u32, code: u32): u32 {
  return (type << 8) | code;
}
