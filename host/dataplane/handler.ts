// Loading a wasm handler: everything that can be wrong with a file is found
// here, before any socket or XDP program exists, and said in one line.
import { createHash } from 'node:crypto';
import { type Stats, closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../lib/errors.js';
import { ABI_VERSION, HANDLER_CONFIG_OFFSET, newMemory } from './layout.js';
import { probeInThread } from './probe.js';

export interface Handler {
  path: string;
  /** sha256 of the file, short: says which build runs. */
  hash: string;
  module: WebAssembly.Module;
  /** Exports state_ptr and state_len: its state can be handed to its successor (asm/CONTRACT.md, *Swaps*). */
  keepsState: boolean;
  /** Exports state_restore: it can take its predecessor's state over. */
  restoresState: boolean;
}

export interface HandlerInstance {
  process(batch: number, count: number): void;
  /** The handler's own per-reason counters (optional exports), for stats. */
  counters: CounterTable | undefined;
  exports: Record<string, unknown>;
}

/** Where a handler keeps its u64 counters, and their names. */
export interface CounterTable {
  address: number;
  names: string[];
}

const ALLOWED_IMPORTS = new Set(['env.memory', 'env.abort', 'env.trace', 'env.seed', 'env.now_ms']);
const BUILD_HINT = "build it with the project's asconfig.json (npm run build)";
const FILE_HINT = 'give --handler a .wasm file (built ones are in build/asm/)';
/** Far above any handler (echo is a few KiB): a bound on what one load may read into memory. */
export const MAX_HANDLER_BYTES = 16 * 1024 * 1024;

/** One scratch memory for all probes: a handler memory is 272 MiB of address space. */
let scratch: WebAssembly.Memory | undefined;

export function loadHandler(path: string): Handler {
  const { handler, digest, known } = compiled(path);
  if (known) return handler;
  scratch ??= newMemory();
  return remembered(handler, digest, probeAbi(handler, scratch));
}

/**
 * One instance on a scratch memory, its _start and init run: proves the memory import fits, and
 * reads the ABI version (the probe loadHandler runs, here or in the probe thread).
 */
export function probeAbi(handler: Handler, scratchMemory: WebAssembly.Memory): number {
  return Number((instantiate(handler, scratchMemory).exports.ABI_VERSION as WebAssembly.Global).value);
}

/**
 * loadHandler for a process that serves: the probe runs in a thread of its own (./probe.ts), so a
 * handler whose _start or init never returns is refused in PROBE_WITHIN_MS instead of hanging it.
 */
export async function loadHandlerInThread(path: string): Promise<Handler> {
  const { handler, digest, known } = compiled(path);
  if (known) return handler;
  return remembered(handler, digest, await probeInThread(handler));
}

/** The file read, compiled and checked, or the same content known from before (then probed already). */
function compiled(path: string): { handler: Handler; digest: string; known: boolean } {
  const bytes = readHandlerFile(path);
  const digest = createHash('sha256').update(bytes).digest('hex');
  const known = checked.get(digest);
  if (known) return { handler: { ...known, path }, digest, known: true };
  const module = compileAndCheck(path, bytes);
  return { handler: { path, hash: digest.slice(0, 12), module, ...stateExports(path, module) }, digest, known: false };
}

/** A probed handler of this host's ABI is remembered by its content; any other is refused. */
function remembered(handler: Handler, digest: string, abi: number): Handler {
  if (abi !== ABI_VERSION)
    throw new UserError(
      `handler ${handler.path} speaks ABI ${abi}, this host speaks ${ABI_VERSION}; rebuild it against asm/lib/abi.ts`,
    );
  checked.set(digest, handler);
  if (checked.size > CHECKED_KEPT) checked.delete(checked.keys().next().value!);
  return handler;
}

/**
 * Handlers already compiled and checked, by sha256, oldest first: swapping back and forth
 * between builds compiles and probes each once (each probe leaves an instance for the
 * collector, and a compile costs milliseconds).
 */
const checked = new Map<string, Handler>();
const CHECKED_KEPT = 8;

function compileAndCheck(path: string, bytes: Buffer): WebAssembly.Module {
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(new Uint8Array(bytes));
  } catch (err) {
    throw new UserError(`handler ${path} is not a valid WebAssembly module (${(err as Error).message}); ${BUILD_HINT}`);
  }
  const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`);
  const odd = imports.filter((i) => !ALLOWED_IMPORTS.has(i));
  if (odd.length > 0)
    throw new UserError(`handler ${path} imports ${odd.join(', ')}, which the host does not provide; ${BUILD_HINT}`);
  if (!imports.includes('env.memory')) throw new UserError(`handler ${path} does not import env.memory; ${BUILD_HINT}`);
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get('ABI_VERSION') !== 'global')
    throw new UserError(`handler ${path} does not export ABI_VERSION; ${BUILD_HINT}`);
  if (exports.get('process') !== 'function')
    throw new UserError(`handler ${path} does not export process(batch, count)`);
  return module;
}

function stateExports(path: string, module: WebAssembly.Module): Pick<Handler, 'keepsState' | 'restoresState'> {
  const functions = new Set(
    WebAssembly.Module.exports(module)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name),
  );
  const [ptr, len] = [functions.has('state_ptr'), functions.has('state_len')];
  if (ptr !== len) {
    throw new UserError(
      `handler ${path} exports ${ptr ? 'state_ptr but not state_len' : 'state_len but not state_ptr'}; ` +
        'export both to keep its state across a swap, or neither',
    );
  }
  return { keepsState: ptr, restoresState: functions.has('state_restore') };
}

/**
 * Reads a handler file without ever blocking on it or reading without end:
 * O_NONBLOCK keeps a FIFO from blocking the open, fstat refuses anything but
 * a regular file, and no more than one byte past its size is read.
 */
function readHandlerFile(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new UserError(`handler ${path}${openFailure(err as NodeJS.ErrnoException)}; ${FILE_HINT}`);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new UserError(`handler ${path} is ${fileKind(stats)}, not a regular file; ${FILE_HINT}`);
    if (stats.size > MAX_HANDLER_BYTES) {
      throw new UserError(
        `handler ${path} is ${(stats.size / 2 ** 20).toFixed(1)} MiB, over the ` +
          `${MAX_HANDLER_BYTES / 2 ** 20} MiB limit for a handler; ${FILE_HINT}`,
      );
    }
    const buf = Buffer.allocUnsafe(stats.size + 1);
    let length = 0;
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > stats.size) throw new UserError(`handler ${path} grew while it was read; load it once it is written`);
    return buf.subarray(0, length);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`handler ${path}: ${(err as Error).message}; ${FILE_HINT}`);
  } finally {
    closeSync(fd);
  }
}

function openFailure(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return ': no such file';
  if (err.code === 'ENXIO') return ' is a socket, not a regular file'; // what open(2) says of a Unix socket
  if (err.code === 'EACCES') return ': permission denied';
  return `: ${err.message}`;
}

function fileKind(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

export function instantiate(handler: Handler, memory: WebAssembly.Memory): HandlerInstance {
  let instance: WebAssembly.Instance;
  const env = {
    memory,
    abort(_msg: number, _file: number, line: number, column: number) {
      throw new Error(`handler aborted at line ${line}:${column}`);
    },
    trace() {},
    seed: () => Date.now(),
    // One clock for every thread: a state handed over between instances keeps its times.
    now_ms: () => performance.timeOrigin + performance.now(),
  };
  try {
    instance = new WebAssembly.Instance(handler.module, { env });
  } catch (err) {
    throw new UserError(`handler ${handler.path} cannot be instantiated (${(err as Error).message}); ${BUILD_HINT}`);
  }
  const ex = instance.exports as Record<string, unknown>;
  if (typeof ex._start === 'function') (ex._start as () => void)();
  if (typeof ex.init === 'function') (ex.init as (config: number) => void)(HANDLER_CONFIG_OFFSET);
  return {
    process: ex.process as (batch: number, count: number) => void,
    counters: counterTable(ex, memory),
    exports: ex,
  };
}

/** counters() -> address of u64s; counter_names()/counter_names_len() -> a comma-separated UTF-16LE string. */
function counterTable(ex: Record<string, unknown>, memory: WebAssembly.Memory): CounterTable | undefined {
  const call = (name: string) => (typeof ex[name] === 'function' ? Number((ex[name] as () => number)()) : undefined);
  const address = call('counters');
  const namesAt = call('counter_names');
  const namesLen = call('counter_names_len');
  if (address === undefined || namesAt === undefined || namesLen === undefined) return undefined;
  if (namesAt + namesLen > memory.buffer.byteLength || address % 8 !== 0) return undefined;
  const names = Buffer.from(new Uint8Array(memory.buffer, namesAt, namesLen))
    .toString('utf16le')
    .split(',');
  return { address, names };
}

/** Reads a counter table (from any thread that shares the memory). */
export function readCounters(table: CounterTable | undefined, memory: WebAssembly.Memory): Record<string, number> {
  const out: Record<string, number> = {};
  if (!table) return out;
  const values = new BigUint64Array(memory.buffer, table.address, table.names.length);
  table.names.forEach((name, i) => {
    out[name] = Number(values[i]);
  });
  return out;
}
