// A UserError is a mistake the user can fix: it is printed as one line, never
// with a stack trace. Anything else is our bug and keeps its stack.
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Runs a CLI's main, turning a UserError into one line on stderr and exit code 1. */
export function runMain(prog: string, main: () => Promise<void> | void): void {
  Promise.resolve()
    .then(main)
    .catch((err: unknown) => {
      if (err instanceof UserError || isArgumentError(err)) console.error(`${prog}: ${(err as Error).message}`);
      else console.error(err);
      process.exitCode = 1;
    });
}

/** node:util parseArgs reports a bad command line with codes like ERR_PARSE_ARGS_UNKNOWN_OPTION. */
export function isArgumentError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
