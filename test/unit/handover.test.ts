// State hand-over across a swap (asm/CONTRACT.md, *Swaps*), offline: the real rate limiter builds
// hand their buckets over, a trapping state_restore leaves the old instance as it was, and the
// swap message says what happened. The region is kept by copying here (the worker moves its pages
// with the shim; test/kernel/state.test.ts runs that).
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Batch } from '../../host/dataplane/batch.js';
import { type Handler, type HandlerInstance, instantiate, loadHandler } from '../../host/dataplane/handler.js';
import {
  type RegionKeeper,
  type Seat,
  describeHandover,
  handOver,
  offeredState,
} from '../../host/dataplane/handover.js';
import { writeInterfaceConfig } from '../../host/dataplane/iface-config.js';
import {
  BATCH_OFFSET,
  HANDLER_BASE,
  HANDLER_REGION_SIZE,
  STATE_HANDOVER_OFFSET,
  STATE_MAX_LEN,
  UMEM_OFFSET,
  VERDICT,
  XDP_HEADROOM,
  newMemory,
} from '../../host/dataplane/layout.js';
import { ROOT } from '../helpers/cli.js';
import { echo6Frame } from '../helpers/packets.js';

const built = (dir: string, name: string) => loadHandler(join(ROOT, 'build', dir, `${name}.wasm`));
const echo = built('asm', 'echo');
const rateLimit = built('asm', 'rate_limit');
const slow = built('test-asm', 'rate_limit_slow'); // 5 at once, then one every 20 s
const slower = built('test-asm', 'rate_limit_slower');
const amnesic = built('test-asm', 'rate_limit_amnesic');
const restoreTrap = built('test-asm', 'restore_trap');
const initTrap = built('test-asm', 'init_trap'); // traps in init on a config with an address

const A = 'fc00:dead:cafe:1::2';
const B = 'fc00:dead:beef:1::2'; // another /64

/** Keeps the region by copying it, as the shim's setAside/putBack do by moving its pages. */
function copyKeeper(): RegionKeeper & { held: () => number } {
  const asides = new Map<number, Uint8Array>();
  let next = 0;
  return {
    setAside(memory) {
      asides.set(next, memory.slice(HANDLER_BASE, HANDLER_BASE + HANDLER_REGION_SIZE));
      memory.fill(0, HANDLER_BASE, HANDLER_BASE + HANDLER_REGION_SIZE);
      return next++;
    },
    putBack(aside, memory) {
      memory.set(asides.get(aside)!, HANDLER_BASE);
      asides.delete(aside);
    },
    dropAside: (aside) => asides.delete(aside),
    clearHandover: (memory) => memory.fill(0, STATE_HANDOVER_OFFSET, STATE_HANDOVER_OFFSET + STATE_MAX_LEN),
    held: () => asides.size,
  };
}

function seatOf(handler: Handler): Seat {
  const memory = newMemory();
  writeInterfaceConfig(memory, { mac: undefined, ipv6: undefined, ipv4: undefined, hopLimit: 64 });
  return { memory, instance: instantiate(handler, memory) };
}

/** Sends n pings from src through the seat's instance in one batch; returns how many were answered. */
function pings(seat: Seat, src: string, n: number): number {
  const bytes = new Uint8Array(seat.memory.buffer);
  const batch = new Batch(seat.memory);
  for (let i = 0; i < n; i++) {
    const addr = UMEM_OFFSET + i * 2048 + XDP_HEADROOM;
    const frame = echo6Frame({ src, seq: i });
    bytes.set(frame, addr);
    batch.lay(i, addr, frame.length);
  }
  seat.instance.process(BATCH_OFFSET, n);
  return Array.from({ length: n }, (_, i) => batch.get(i, 'verdict')).filter((v) => v === VERDICT.tx).length;
}

/** Swaps next into the seat as the worker does; returns the refusal, if any. */
function swap(seat: Seat, old: Handler, next: Handler, keeper = copyKeeper()): string | undefined {
  const blobs = offeredState([seat], old, next);
  if (typeof blobs === 'string') throw new Error(`no hand-over: ${blobs}`);
  const instances = handOver([seat], next, blobs, keeper);
  if (typeof instances === 'string') return instances;
  seat.instance = instances[0]!;
  return undefined;
}

test('the shipped rate limiter offers its buckets and takes them over', () => {
  assert.ok(rateLimit.keepsState && rateLimit.restoresState);
  assert.not.ok(echo.keepsState || echo.restoresState);
  assert.ok(amnesic.keepsState);
  assert.not.ok(amnesic.restoresState);
});

test('a handler with only half of state_ptr/state_len is refused at load, in one line', () => {
  assert.throws(
    () => built('test-asm', 'half_state'),
    (err: Error) =>
      /^handler .*half_state\.wasm exports state_ptr but not state_len; export both to keep its state across a swap, or neither$/.test(
        err.message,
      ),
  );
});

test('a swap to a build with another rate keeps the buckets', () => {
  const seat = seatOf(slow);
  assert.is(pings(seat, A, 8), 5, 'the burst, then nothing');
  assert.is(swap(seat, slow, slower), undefined);
  assert.is(pings(seat, A, 5), 0, "A's bucket came over empty");
  assert.is(pings(seat, B, 8), 5, 'B has its own bucket, full');
});

test('without the hand-over the same swap starts fresh (what the test above tells apart)', () => {
  const seat = seatOf(slow);
  assert.is(pings(seat, A, 8), 5);
  const keeper = copyKeeper();
  const instances = handOver([seat], slower, undefined, keeper);
  assert.ok(Array.isArray(instances), String(instances));
  seat.instance = instances[0]!;
  assert.is(keeper.held(), 0, 'nothing left aside');
  assert.is(pings(seat, A, 5), 5, "a fresh region: A's bucket is full again");
});

test('a fresh swap into a handler whose init traps is refused too; the old instance serves on with its state', () => {
  const seat = seatOf(slow);
  writeInterfaceConfig(seat.memory, { mac: undefined, ipv6: Array(16).fill(1), ipv4: undefined, hopLimit: 64 });
  assert.is(pings(seat, A, 8), 5);
  const old = seat.instance;
  const keeper = copyKeeper();
  const refused = handOver([seat], initTrap, undefined, keeper);
  assert.match(String(refused), /^the new handler .*init_trap\.wasm \(\w+\) failed to start \(.*unreachable/);
  assert.is(seat.instance, old);
  assert.is(keeper.held(), 0, 'nothing left aside');
  assert.is(pings(seat, A, 3), 0, "A's bucket is still spent");
  assert.is(pings(seat, B, 3), 3, 'and the old handler still answers');
});

test('a trap in state_restore refuses the swap; the old instance serves on with its state', () => {
  const seat = seatOf(slow);
  assert.is(pings(seat, A, 8), 5);
  const old = seat.instance;
  const region = () => new Uint8Array(seat.memory.buffer, HANDLER_BASE, HANDLER_REGION_SIZE).slice();
  const before = region();
  const keeper = copyKeeper();
  const refused = swap(seat, slow, restoreTrap, keeper);
  assert.match(refused ?? '', /^the new handler .*restore_trap\.wasm \(\w+\) trapped in state_restore \(.*unreachable/);
  assert.is(seat.instance, old);
  assert.ok(Buffer.from(region()).equals(Buffer.from(before)), 'the region is as it was');
  assert.is(keeper.held(), 0, 'nothing left aside');
  assert.is(pings(seat, A, 3), 0, "A's bucket is still spent");
  assert.is(pings(seat, B, 3), 3, 'and the old handler still answers');
});

test('the hand-over area holds the copy only during state_restore', () => {
  const seat = seatOf(slow);
  pings(seat, A, 8);
  const keeper = copyKeeper();
  assert.is(swap(seat, slow, slower, keeper), undefined);
  const area = new Uint8Array(seat.memory.buffer, STATE_HANDOVER_OFFSET, STATE_MAX_LEN);
  assert.ok(
    area.every((b) => b === 0),
    'cleared',
  );
  assert.is(keeper.held(), 0, 'the old region was let go');
});

test('either side without its exports: a fresh start, and the reason names the side', () => {
  const seat = seatOf(echo);
  assert.match(
    offeredState([seat], echo, slow) as string,
    /^the old handler .*echo\.wasm \(\w+\) exports no state_ptr\/state_len$/,
  );
  assert.match(
    offeredState([seat], slow, amnesic) as string,
    /^the new one .*amnesic\.wasm \(\w+\) exports no state_restore$/,
  );
  assert.match(
    offeredState([seat], echo, echo) as string,
    /state_ptr\/state_len, and the new one .* no state_restore$/,
  );
});

test('an old blob that cannot be taken means a fresh start, and says why', () => {
  const memory = newMemory();
  const fake = (ptr: number, len: number) =>
    ({ exports: { state_ptr: () => ptr, state_len: () => len } }) as unknown as HandlerInstance;
  const why = (ptr: number, len: number) => offeredState([{ memory, instance: fake(ptr, len) }], slow, slower);
  assert.match(
    why(HANDLER_BASE, STATE_MAX_LEN + 1) as string,
    /gives 1048577 bytes of state, over the limit of 1048576$/,
  );
  assert.match(
    why(HANDLER_BASE - 16, 64) as string,
    /gives a state blob at 0xffffff0 \(64 bytes\), outside its region$/,
  );
  assert.match(why(HANDLER_BASE + HANDLER_REGION_SIZE - 8, 16) as string, /outside its region$/);
  assert.equal(why(HANDLER_BASE + HANDLER_REGION_SIZE - STATE_MAX_LEN, STATE_MAX_LEN), [
    { ptr: HANDLER_BASE + HANDLER_REGION_SIZE - STATE_MAX_LEN, len: STATE_MAX_LEN },
  ]);
  const trapping = {
    exports: {
      state_ptr: () => {
        throw new Error('unreachable');
      },
      state_len: () => 0,
    },
  } as unknown as HandlerInstance;
  assert.match(
    offeredState([{ memory, instance: trapping }], slow, slower) as string,
    /trapped in state_ptr\/state_len \(unreachable\)$/,
  );
});

test('the swap message: bytes summed over workers, or per queue when they differ', () => {
  assert.is(describeHandover([{ queues: [0], handover: { bytes: 16400 } }]), 'state handed over (16400 bytes)');
  assert.is(
    describeHandover([
      { queues: [0], handover: { bytes: 10 } },
      { queues: [1, 2], handover: { bytes: 20 } },
    ]),
    'state handed over (30 bytes)',
  );
  assert.is(describeHandover([{ queues: [0], handover: { fresh: 'x lacks y' } }]), 'started fresh: x lacks y');
  assert.is(
    describeHandover([
      { queues: [0], handover: { bytes: 10 } },
      { queues: [1], handover: { fresh: 'x lacks y' } },
    ]),
    'queue 0: state handed over (10 bytes); queue 1: started fresh: x lacks y',
  );
});

test.run();
