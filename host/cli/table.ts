// A command's options as one table, the way xdp-loader keeps them: each
// option has its name, short letter, kind, default, value name, help line and
// parser, and from the table come node:util parseArgs' configuration, the
// usage text (defaults included) and the parsed, checked values.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UserError } from '../lib/errors.js';

/** Turns what the user typed after --flag into the value; throws a UserError naming flag when it is wrong. */
export type Parser<T> = (raw: string, flag: string) => T;

interface Described {
  short?: string;
  /** One line, or several joined by \n. */
  help: string;
  /** Left out of the usage text: between our own processes, not for the user. */
  hidden?: boolean;
}
export interface Flag extends Described {
  kind: 'flag';
}
export interface Value<T> extends Described {
  kind: 'value';
  /** The value's name in the usage text: --dev <ifname>. */
  arg: string;
  /** Taken when the option is not given, and parsed like a given value; shown in the usage text. */
  default: string | undefined;
  parse: Parser<T>;
}
/** An option that may be given several times: its values in order. */
export interface List<T> extends Described {
  kind: 'list';
  arg: string;
  parse: Parser<T>;
}
export type Table = Record<string, Flag | Value<unknown> | List<unknown>>;

export type Values<T extends Table> = {
  [K in keyof T]: T[K] extends Flag
    ? boolean
    : T[K] extends List<infer V>
      ? V[]
      : T[K] extends Value<infer V>
        ? V
        : never;
};

export const flag = (help: string, short?: string): Flag => ({ kind: 'flag', help, short });
/** An option with a value and a default. */
export const value = <T>(arg: string, help: string, fallback: string, parse: Parser<T>, short?: string): Value<T> => ({
  kind: 'value',
  arg,
  help,
  default: fallback,
  parse,
  short,
});
/** An option with a value and no default: undefined when not given. */
export const optional = <T>(arg: string, help: string, parse: Parser<T>, short?: string): Value<T | undefined> => ({
  kind: 'value',
  arg,
  help,
  default: undefined,
  parse,
  short,
});
export const list = <T>(arg: string, help: string, parse: Parser<T>, short?: string): List<T> => ({
  kind: 'list',
  arg,
  help,
  parse,
  short,
});

// --- parsers -------------------------------------------------------------

export const text: Parser<string> = (raw) => raw;

export const nonEmpty =
  (example: string): Parser<string> =>
  (raw, flag) => {
    if (raw === '') throw new UserError(`${flag} needs a value, e.g. ${flag} ${example}`);
    return raw;
  };

export const integer =
  (min: number, max: number): Parser<number> =>
  (raw, flag) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new UserError(`${flag} must be a whole number from ${min} to ${max}, not '${raw}'`);
    }
    return n;
  };

export const seconds =
  (min: number, max: number): Parser<number> =>
  (raw, flag) => {
    const n = Number(raw);
    if (raw.trim() === '' || !(n >= min && n <= max)) {
      throw new UserError(`${flag} must be seconds from ${min} to ${max}, not '${raw}'`);
    }
    return n;
  };

// --- from the table ------------------------------------------------------

const HELP: Flag = flag('this text', 'h');
const withHelp = (table: Table): Table => ({ ...table, help: HELP });

function config(table: Table): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, o] of Object.entries(withHelp(table))) {
    options[name] = { type: o.kind === 'flag' ? 'boolean' : 'string', multiple: o.kind === 'list', short: o.short };
    if (o.short === undefined) delete options[name]!.short;
  }
  return options;
}

type Raw = Record<string, string | boolean | (string | boolean)[] | undefined>;

function resolve<T extends Table>(table: T, raw: Raw): Values<T> {
  const out: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(table)) {
    const given = raw[name];
    const flagName = `--${name}`;
    if (o.kind === 'flag') out[name] = given === true;
    else if (o.kind === 'list') out[name] = ((given ?? []) as string[]).map((v) => o.parse(v, flagName));
    else {
      const chosen = (given as string | undefined) ?? o.default;
      out[name] = chosen === undefined ? undefined : o.parse(chosen, flagName);
    }
  }
  return out as Values<T>;
}

/** The options' part of a usage text: one line an option (more for long help), defaults from the table. */
export function optionLines(table: Table): string {
  const shown = Object.entries(withHelp(table)).filter(([, o]) => !o.hidden);
  const rows = shown.map(([name, o]) => {
    const head = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.kind === 'flag' ? '' : ` <${o.arg}>`}`;
    const fallback = o.kind === 'value' && o.default !== undefined ? ` (default ${o.default})` : '';
    return { head, lines: `${o.help}${fallback}`.split('\n') };
  });
  const width = Math.min(24, Math.max(...rows.map((r) => r.head.length)));
  return rows
    .map(({ head, lines }) => {
      const pad = (first: boolean) => ' '.repeat(first ? Math.max(2, width + 2 - head.length) : width + 4);
      return lines.map((line, i) => `${i === 0 ? `  ${head}` : ''}${pad(i === 0)}${line}`).join('\n');
    })
    .join('\n');
}

export interface Parsed<T extends Table> {
  values: Values<T>;
  positionals: string[];
  help: boolean;
}

/** Parses argv by the table; allowPositionals false refuses any word that is not an option. */
export function parseCommandLine<T extends Table>(table: T, argv: string[], allowPositionals = false): Parsed<T> {
  const { values, positionals } = parseArgs({ args: argv, options: config(table), allowPositionals: true });
  if (values.help) return { values: {} as Values<T>, positionals, help: true };
  if (!allowPositionals && positionals.length > 0) {
    throw new UserError(`unexpected argument '${positionals[0]}' (options start with -; see --help)`);
  }
  return { values: resolve(table, values), positionals, help: false };
}

/**
 * For commands that pass the rest of their words to another tool (ping,
 * tcpdump, a shell command): takes the table's long options out of argv and
 * leaves every other word, in order. leadingOnly: only options before the
 * first other word are ours.
 */
export function takeOwnOptions<T extends Table>(
  table: T,
  argv: string[],
  leadingOnly = false,
): { values: Values<T>; rest: string[] } {
  const raw: Raw = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const [name = '', inline] = word.startsWith('--') ? word.slice(2).split(/=(.*)/s) : [];
    const o = table[name];
    if (!o || (leadingOnly && rest.length > 0)) {
      rest.push(word);
      continue;
    }
    if (o.kind === 'flag') raw[name] = true;
    else {
      const given = inline ?? argv[++i];
      if (given === undefined) throw new UserError(`--${name} needs a value (<${o.arg}>)`);
      raw[name] = o.kind === 'list' ? [...((raw[name] as string[] | undefined) ?? []), given] : given;
    }
  }
  return { values: resolve(table, raw), rest };
}

/** A command with its own table: what afxdp-wasm's dispatcher needs of it. */
export interface Command {
  /** One line for afxdp-wasm --help. */
  summary: string;
  /** The prefix of its one-line errors. */
  prog: string;
  help(): string;
  main(argv: string[]): Promise<void> | void;
}

export interface CommandSpec<T extends Table> {
  summary: string;
  prog: string;
  /** The first line of the usage text: how it is called. */
  synopsis: string;
  /** What it does, before the options. */
  about: string;
  options: T;
  /** Words that are not options: their meaning is in the synopsis. */
  positionals?: boolean;
  /** Text after the options. */
  notes?: string;
  run(values: Values<T>, positionals: string[]): Promise<void> | void;
}

export function usageText(spec: Omit<CommandSpec<Table>, 'run' | 'summary' | 'prog'>): string {
  return [spec.synopsis, spec.about, '', optionLines(spec.options), ...(spec.notes ? ['', spec.notes] : [])].join('\n');
}

export function command<T extends Table>(spec: CommandSpec<T>): Command {
  const help = () => usageText(spec);
  return {
    summary: spec.summary,
    prog: spec.prog,
    help,
    main: (argv) => {
      const parsed = parseCommandLine(spec.options, argv, spec.positionals);
      if (parsed.help) return void console.log(help());
      return spec.run(parsed.values, parsed.positionals);
    },
  };
}
