// Why a handler did what it did: per-reason counters the host reads and
// prints (--json). Static memory, so counting never allocates.
//
// A handler exports counters(), counter_names() and counter_names_len() (see
// asm/CONTRACT.md); the names are one comma-separated string.

export const REPLIED: u32 = 0;
export const NOT_IP: u32 = 1;
export const TRUNCATED: u32 = 2;
export const BAD_HEADER: u32 = 3;
export const BAD_CHECKSUM: u32 = 4;
export const NOT_ECHO: u32 = 5;
export const FRAGMENT: u32 = 6;
export const BAD_SOURCE: u32 = 7;
export const ROUTING: u32 = 8;
export const NO_ADDRESS: u32 = 9;
export const TOO_MANY_HEADERS: u32 = 10;
export const REASON_COUNT: u32 = 11;

export const REASON_NAMES = 'replied,not_ip,truncated,bad_header,bad_checksum,not_echo,fragment,bad_source,routing,no_address,too_many_headers';

const table = memory.data(64 * 8, 8); // room for handlers that add their own reasons

@inline export function count(reason: u32): void {
  const p = table + (<usize>reason << 3);
  store<u64>(p, load<u64>(p) + 1);
}

export function countersAddress(): usize {
  return table;
}
