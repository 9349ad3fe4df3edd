// The error table (host/dataplane/errors.ts): which line a (stage, errno) pair gives. No
// kernel and no addon: failures are written by hand as the shim would throw them.
import { constants } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Failure, type FailureContext, MESSAGES, describeFailure } from '../../host/dataplane/errors.js';
import { STAGES, type Stage } from '../../host/dataplane/shim.js';

const { EACCES, EBUSY, EOPNOTSUPP, ENOENT, EIO } = constants.errno;
const context: FailureContext = {
  ifname: 'veth9',
  queue: 1,
  zeroCopy: false,
  filename: 'prog.o',
  progname: 'wanted',
  driver: () => 'veth',
};
const failure = (stage: Stage, errno: number, extra: Partial<Failure> = {}): Failure => ({
  stage,
  errno,
  reason: `reason ${errno}`,
  message: `cannot do ${stage}: reason ${errno}`,
  log: [],
  ...extra,
});

test('each pair gives its own line; an errno with two names (EOPNOTSUPP, ENOTSUP) is found by value', () => {
  assert.is(
    describeFailure(failure('CREATE_SOCKET', EBUSY), context),
    'queue 1 of veth9 is busy: another AF_XDP socket is bound to it',
  );
  assert.is(
    describeFailure(failure('CREATE_SOCKET', EOPNOTSUPP), { ...context, zeroCopy: true }),
    'veth9 (driver veth) has no zero-copy AF_XDP; run without -z: copy mode (-c) works',
  );
  assert.match(
    describeFailure(failure('FIND_PROGRAM', ENOENT, { programs: ['a', 'b'] }), context),
    /^prog\.o has no XDP program named 'wanted'; name one of its programs with --progname: a, b$/,
  );
  assert.match(describeFailure(failure('FIND_XSKS_MAP', ENOENT), context), /^prog\.o has no XSKMAP named xsks_map/);
});

test("a refused program shows the verifier's last words, without its statistics line", () => {
  const verifierLog =
    '0: (61) r1 = *(u32 *)(r1 +0)\ninvalid access to packet\nR1 offset is outside\nprocessed 2 insns\n';
  assert.is(
    describeFailure(failure('LOAD_PROGRAM', EACCES, { program: 'p', verifierLog }), context),
    `the kernel's verifier refused p in prog.o (reason ${EACCES}): invalid access to packet | R1 offset is outside`,
  );
});

test("an errno a stage has no entry for gets the stage's general line", () => {
  assert.is(
    describeFailure(failure('CREATE_SOCKET', EIO), context),
    `cannot serve veth9 queue 1: cannot do CREATE_SOCKET: reason ${EIO} (--verbose shows libxdp's own words)`,
  );
});

test('every stage has messages, each one line', () => {
  for (const stage of STAGES) {
    assert.ok(MESSAGES[stage].other, stage);
    for (const errno of [EACCES, EBUSY, EOPNOTSUPP, ENOENT, EIO]) {
      const line = describeFailure(failure(stage, errno, { programs: ['x'] }), context);
      assert.ok(line.length > 0 && !line.includes('\n'), `${stage} ${errno}: ${line}`);
    }
  }
});

test.run();
