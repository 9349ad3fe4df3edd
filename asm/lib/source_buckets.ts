// A token bucket per source, for rate limits: per IPv6 /64 or per IPv4
// address, in a fixed table (no allocation, ever). A source not yet seen
// takes a free slot near its hash, or the slot there idle the longest.
//
// The table is one blob with a header (magic, version, shape), so it can be
// handed to the next handler across a swap (asm/CONTRACT.md, *Swaps*): export
// stateAddress/stateLength as state_ptr/state_len and restoreState as
// state_restore. The buckets hold tokens and times, not the rate, so a build
// with another rate takes them over as they are.
import { get16 } from './bytes';
import { ETH_P_IP, ETH_P_IPV6, l3Offset } from './ethernet';
import { IPV4_HLEN, src4 } from './ipv4';
import { IPV6_HLEN, src6 } from './ipv6';

const MAGIC: u32 = 0x4b435542; // "BUCK"
/** Bump on any change of the layout below: a handler then starts fresh rather than misread. */
const VERSION: u32 = 1;
const HEADER: usize = 16; // magic, version, slots, entry size (u32 each)
const LOG2_SLOTS: u32 = 12;
const SLOTS: u32 = 1 << LOG2_SLOTS;
/** A run of slots looked at for one source: it is found there, or takes one of them. */
const PROBE: u32 = 8;
// An entry: source key u64, family u32 (0: free), pad, tokens f64, last refill f64 (ms).
const ENTRY: usize = 32;
const KEY: usize = 0;
const FAMILY: usize = 8;
const TOKENS: usize = 16;
const LAST: usize = 24;

const blob = memory.data(<i32>(HEADER + <usize>SLOTS * ENTRY), 16);
const table = blob + HEADER;
store<u32>(blob, MAGIC);
store<u32>(blob, VERSION, 4);
store<u32>(blob, SLOTS, 8);
store<u32>(blob, <u32>ENTRY, 12);

let tokensPerMs: f64 = 0;
let burst: f64 = 1;

/** Each source earns perSecond tokens a second, and holds at most burstSize of them. */
export function setRate(perSecond: f64, burstSize: f64): void {
  tokensPerMs = perSecond / 1000;
  burst = burstSize;
}

/** The source of the packet at frame: 4 or 6 (its family, key in sourceKey), or 0 if it has none. */
export let sourceKey: u64 = 0;
export function sourceOf(frame: usize, len: u32): u32 {
  const l3 = l3Offset(frame, len);
  if (l3 < 0) return 0;
  const type = get16(frame + <usize>l3 - 2);
  if (type == ETH_P_IPV6 && <u32>l3 + IPV6_HLEN <= len) {
    sourceKey = load<u64>(src6(frame + <usize>l3)); // the /64
    return 6;
  }
  if (type == ETH_P_IP && <u32>l3 + IPV4_HLEN <= len) {
    sourceKey = <u64>load<u32>(src4(frame + <usize>l3));
    return 4;
  }
  return 0;
}

@inline function slotAt(i: u32): usize {
  return table + <usize>(i & (SLOTS - 1)) * ENTRY;
}

/** The bucket of (family, key), refilled up to now (ms); a new source's bucket starts full. */
export function bucketOf(family: u32, key: u64, now: f64): usize {
  const start = <u32>((key ^ (<u64>family << 60)) * 0x9e3779b97f4a7c15 >> (64 - LOG2_SLOTS));
  let victim = slotAt(start);
  for (let i: u32 = 0; i < PROBE; i++) {
    const e = slotAt(start + i);
    const f = load<u32>(e, FAMILY);
    if (f == family && load<u64>(e, KEY) == key) {
      const elapsed = max(now - load<f64>(e, LAST), 0);
      store<f64>(e, min(burst, load<f64>(e, TOKENS) + elapsed * tokensPerMs), TOKENS);
      store<f64>(e, now, LAST);
      return e;
    }
    // Prefer a free slot, else the one idle longest.
    if (load<u32>(victim, FAMILY) != 0 && (f == 0 || load<f64>(e, LAST) < load<f64>(victim, LAST))) victim = e;
  }
  store<u64>(victim, key, KEY);
  store<u32>(victim, family, FAMILY);
  store<f64>(victim, burst, TOKENS);
  store<f64>(victim, now, LAST);
  return victim;
}

/** Takes a token from the bucket if it has one. */
export function spend(bucket: usize): bool {
  const tokens = load<f64>(bucket, TOKENS);
  if (tokens < 1) return false;
  store<f64>(bucket, tokens - 1, TOKENS);
  return true;
}

/** Gives back a token spent on a packet that got no reply after all. */
export function refund(bucket: usize): void {
  store<f64>(bucket, min(burst, load<f64>(bucket, TOKENS) + 1), TOKENS);
}

export function stateAddress(): usize {
  return blob;
}

export function stateLength(): u32 {
  return <u32>(HEADER + <usize>SLOTS * ENTRY);
}

/** Takes a predecessor's buckets over if its blob is this layout; anything else is ignored (a fresh start). */
export function restoreState(ptr: usize, len: u32): void {
  if (<usize>len != HEADER + <usize>SLOTS * ENTRY) return;
  if (load<u32>(ptr) != MAGIC || load<u32>(ptr, 4) != VERSION) return;
  if (load<u32>(ptr, 8) != SLOTS || load<u32>(ptr, 12) != <u32>ENTRY) return;
  memory.copy(table, ptr + HEADER, <usize>SLOTS * ENTRY);
}
