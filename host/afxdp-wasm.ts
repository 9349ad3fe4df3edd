// afxdp-wasm: one command. Serving is the default; the other subcommands
// control a running instance, feed it, test handlers offline and build them.
import { buildCommand } from './cli/build.js';
import { checkCommand } from './cli/check.js';
import { ctlCommand } from './cli/ctl.js';
import { runCommand } from './cli/dispatch.js';
import { replayCommand } from './cli/replay.js';
import { serveCommand } from './cli/serve.js';
import type { Command } from './cli/table.js';
import { testenvCommand } from './cli/testenv.js';
import { fuzzCommand } from './offline/fuzz.js';
import { genCommand } from './tools/gen/command.js';
import { newCommand } from './cli/new.js';

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

const argv = process.argv.slice(2);
const named = argv[0] === undefined ? undefined : SUBCOMMANDS[argv[0]];
if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) console.log(help());
else if (named) runCommand(named, argv.slice(1));
else runCommand(serveCommand, argv);
