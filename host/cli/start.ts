// The first thing each command does: find its checkout. The commands' modules find their files
// (the addon, the worker threads, the built handlers) as they load, before any command's one-line
// errors are in place; so the entries load them only once the checkout is found.
import { UserError } from '../lib/errors.js';
import { projectRoot } from '../lib/paths.js';

/** Whether this bundle lies in its checkout; if not, says so in one line on stderr, exit code 1. */
export function inCheckout(prog: string): boolean {
  try {
    projectRoot();
    return true;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    console.error(`${prog}: ${err.message}`);
    process.exitCode = 1;
    return false;
  }
}
