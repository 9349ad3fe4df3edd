// Explicit garbage collection, for the few places where garbage is known to be
// left and no allocation pressure would ever come to collect it: every swap
// leaves an old wasm instance (about 7 KB and a memory mapping) in the main
// thread (the probe in loadHandler) and in each worker.
//
// Setting --expose-gc here, before any worker starts, gives workers a global
// gc() too; the main thread's context already exists, so it takes gc() from a
// fresh context instead.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');

/** A full collection of this thread's heap. Not for a worker's hot path: it takes milliseconds. */
export const collectGarbage = runInNewContext('gc') as () => void;
