// Swapping handlers while packets flow, from any of three triggers (SIGHUP,
// --watch, the control socket): one at a time, validated off the hot path,
// and a failing file never replaces the running handler.
import { type FSWatcher, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Dataplane } from '../dataplane/dataplane.js';
import { type Handler, loadHandlerInThread } from '../dataplane/handler.js';
import { collectGarbage } from '../lib/gc.js';
import { checkBeforeSwap } from '../offline/check/before-swap.js';

const DEBOUNCE_MS = 250;
/**
 * Each swap leaves module and message objects on this thread that nothing else here
 * allocates enough to collect: a full collection (milliseconds, off the data path) every so often.
 */
const COLLECT_EVERY = 32;

export class Swapper {
  private chain: Promise<unknown> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private swapsSinceCollection = 0;
  /** For the metrics: swaps done and refused since start, and how long the last one done took. */
  readonly record = { done: 0, refused: 0, lastMs: undefined as number | undefined };

  constructor(
    private readonly dp: Dataplane,
    private current: string,
    private readonly say: (line: string) => void,
    /** serve --check: check before every swap; frameSize: the UMEM's. */
    private readonly checks = { always: false, frameSize: 2048 },
  ) {}

  get path(): string {
    return this.current;
  }

  /**
   * Loads, checks (when asked, e.g. ctl swap --check, or always with serve --check) and swaps in the
   * handler at path. Rejects (and keeps the old one) when the file is not a good handler.
   */
  swap(path: string, why: string, askedToCheck = false): Promise<{ message: string }> {
    const check = askedToCheck || this.checks.always;
    const next = this.chain.then(async () => {
      const started = performance.now();
      let handler: Handler;
      try {
        handler = await loadHandlerInThread(path);
      } catch (err) {
        throw new Error(`${(err as Error).message}; still running ${this.current}`);
      }
      const refused = check ? await checkBeforeSwap(handler, this.checks.frameSize) : undefined;
      if (refused) throw new Error(`refused ${path}: ${refused}; still running ${this.current}`);
      const state = await this.dp.swap(handler); // rejects, saying so, when the old one serves on
      this.current = path;
      const tookMs = performance.now() - started;
      this.record.done++;
      this.record.lastMs = tookMs;
      const message =
        `Swapped in ${path} (sha256 ${handler.hash}) on queue${this.dp.queues.length > 1 ? 's' : ''} ` +
        `${this.dp.queues.join(',')} (${why}${check ? ', checked' : ''}) in ${tookMs.toFixed(1)} ms; ${state}.`;
      this.say(message);
      return { message };
    });
    this.chain = next
      .catch(() => {
        this.record.refused++;
      })
      .then(() => {
        if (++this.swapsSinceCollection >= COLLECT_EVERY) {
          this.swapsSinceCollection = 0;
          collectGarbage();
        }
      });
    return next;
  }

  /** Swap, telling the user on stderr instead of a caller. */
  trySwap(path: string, why: string): void {
    this.swap(path, why).catch((err: Error) => this.say(`Not swapped (${why}): ${err.message}`));
  }

  /** --watch: the file's folder is watched (editors replace files); a change must stand still before it is loaded. */
  watch(): void {
    let timer: NodeJS.Timeout | undefined;
    let seen = '';
    const stamp = () => {
      try {
        const s = statSync(this.current);
        return `${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    };
    const loadOnceStill = () => {
      const now = stamp();
      if (now === 'missing') return; // being replaced: the rename will come
      if (now !== seen) {
        seen = now;
        timer = setTimeout(loadOnceStill, DEBOUNCE_MS); // still being written
        return;
      }
      this.trySwap(this.current, 'file changed');
    };
    seen = stamp();
    this.watcher = watch(dirname(this.current), (_event, name) => {
      if (name !== basename(this.current)) return;
      clearTimeout(timer);
      seen = stamp();
      timer = setTimeout(loadOnceStill, DEBOUNCE_MS);
    });
    this.watcher.unref();
  }

  close(): void {
    this.watcher?.close();
  }
}
