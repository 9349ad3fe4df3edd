// afxdp-wasm's subcommands, and which one a command line runs. Serving is the default; the others
// control a running instance, feed it, test handlers offline and build them.
import { buildCommand } from './build.js';
import { checkCommand } from './check.js';
import { ctlCommand } from './ctl.js';
import { runCommand } from './dispatch.js';
import { replayCommand } from './replay.js';
import { serveCommand } from './serve.js';
import type { Command } from './table.js';
import { testenvCommand } from './testenv.js';
import { fuzzCommand } from '../offline/fuzz.js';
import { genCommand } from '../tools/gen/command.js';
import { newCommand } from './new.js';

const SUBCOMMANDS: Record<string, Command> = {
  serve: serveCommand,
  ctl: ctlCommand,
  gen: genCommand,
  replay: replayCommand,
  testenv: testenvCommand,
  check: checkCommand,
  fuzz: fuzzCommand,
  build: buildCommand,
  new: newCommand,
};

function help(): string {
  const list = Object.entries(SUBCOMMANDS).map(([name, cmd]) => `  ${name.padEnd(8)} ${cmd.summary}`);
  return [serveCommand.help(), '', 'Subcommands (afxdp-wasm <subcommand> --help tells more):', ...list].join('\n');
}

export function runAfxdpWasm(argv: string[]): void {
  const named = argv[0] === undefined ? undefined : SUBCOMMANDS[argv[0]];
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) console.log(help());
  else if (named) runCommand(named, argv.slice(1));
  else runCommand(serveCommand, argv);
}
