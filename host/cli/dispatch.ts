// Running a command: its one-line errors, and what ends the process when our
// own code fails.
import { runMain } from '../lib/errors.js';
import type { Command } from './table.js';

/** A bug or a lost terminal ends the process; its 'exit' hooks still detach our program. */
function dieOn(err: unknown): never {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== 'EPIPE') console.error(err);
  process.exit(1);
}

export function runCommand(cmd: Command, argv: string[]): void {
  process.on('uncaughtException', dieOn);
  process.on('unhandledRejection', dieOn);
  process.stdout.on('error', dieOn);
  process.stderr.on('error', dieOn);
  runMain(cmd.prog, () => cmd.main(argv));
}
