// Time, for handlers that need it (a rate limiter): the host's env.now_ms (asm/CONTRACT.md), a
// clock that never goes back and is the same for every handler of the process, so times kept in a
// state blob stay meaningful to the handler that takes it over.

// @ts-ignore: decorator
@external('env', 'now_ms')
declare function now_ms(): f64;

/** Milliseconds, with a fraction. Read it once per batch: it is a call into the host. */
export function nowMs(): f64 {
  return now_ms();
}
