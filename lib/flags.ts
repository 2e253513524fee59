// Command-line flags from a table: each subcommand declares its flags as data, this parses argv
// against the table, checks each value against its row and writes --help from it. Accepts
// `--name value`, `--name=value`, and the original netchecker's single-dash Go style
// (`-serverendpoint host:port`); booleans take `--no-name`.
// The original's flags are rows of the same tables: a plain other spelling is an alias, one that
// means something else here (or nothing) says so with `original` and is mapped onto our flags.

/** A unit shown in --help (and as the value's name there unless the row has a metavar). */
export type FlagUnit = 'seconds' | 'bytes' | 'percent' | 'per second';

/** What the original's flags give our flags: a parsed value of the row's kind. */
export type FlagValue = string | number | boolean | readonly string[] | readonly number[];

interface FlagRow {
  readonly name: string;
  readonly help: string;
  /** Other spellings, e.g. the original agent's `serverendpoint`. */
  readonly aliases?: readonly string[];
  /** Shown in --help instead of the unit, the choices or the kind, e.g. HOST:PORT. */
  readonly metavar?: string;
  /** Environment variable read when the flag is not given. */
  readonly env?: string;
  /**
   * Marks a flag of the original netchecker that is not one of ours: its checked value is turned
   * into values of our flags (giving one of those too is an error) and a note logged once at
   * start; a string is the error for a value that cannot be taken.
   */
  readonly original?: (value: FlagValue) => OriginalUse | string;
}

export interface StringFlag extends FlagRow {
  readonly kind: 'string';
  /** Comma (or semicolon) separated values, parsed to an array; each one checked. */
  readonly list?: boolean;
  /** The values allowed; the parsed value's type is their union. */
  readonly choices?: readonly string[];
  /** A path the command reads: runCommand checks it is readable before the command starts. */
  readonly file?: boolean;
  readonly default?: string | readonly string[];
}

export interface NumberFlag extends FlagRow {
  readonly kind: 'number';
  readonly list?: boolean;
  /** Inclusive bounds. */
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  readonly unit?: FlagUnit;
  readonly default?: number | readonly number[];
}

export interface BoolFlag extends FlagRow {
  readonly kind: 'bool';
  readonly default?: boolean;
}

/**
 * One row of a flag table. A flag is one row: what it accepts (kind, list, choices, min/max,
 * integer; file: a path that must be readable) is checked with one message style, and shown in
 * --help with its unit, default and env. Declare a table `as const satisfies readonly FlagSpec[]` so that FlagValues
 * types each parsed value from its row: a string row with choices gives their union, a list an
 * array, and a row without a default (and not from env) may be undefined.
 */
export type FlagSpec = StringFlag | NumberFlag | BoolFlag;

/** What an original flag stands for here. */
export interface OriginalUse {
  readonly values?: Readonly<Record<string, FlagValue>>;
  /** Said once at start (equal notes once in all), e.g. that the flag is ignored and why. */
  readonly note?: string;
}

type One<F> = F extends { kind: 'bool' }
  ? boolean
  : F extends { kind: 'number' }
    ? number
    : F extends { choices: readonly (infer C)[] }
      ? C
      : string;
type ValueOf<F> = F extends { list: true } ? readonly One<F>[] : One<F>;

/** The parsed values of a table, typed from its rows; the original's rows map onto ours and have none. */
export type FlagValues<T extends readonly FlagSpec[]> = {
  readonly [F in T[number] as F extends { original: unknown } ? never : F['name']]: F extends { default: unknown }
    ? ValueOf<F>
    : ValueOf<F> | undefined;
};

/**
 * A flag value that proves invalid only when used (a file that cannot be read or holds no usable
 * content) or against other flags: the command stops as for any other bad flag, exit 2 with one
 * line naming the flag (lib/command.ts).
 */
export class FlagError extends Error {}

/** Throws the FlagError; for expressions (`parse(x) ?? badFlag('...')`). */
export const badFlag = (message: string): never => {
  throw new FlagError(message);
};

/** A file named by a flag cannot be read: the one message for all of them. */
export const fileError = (flag: string, path: string, e: unknown): FlagError =>
  new FlagError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : 'unreadable')}`);

/** help: print the help (or, with version, the version) instead of running. notes: the original's flags as taken, logged once. */
export type Parsed<V> =
  | { ok: true; help: false; values: V; notes: readonly string[] }
  | { ok: true; help: true; version: boolean }
  | { ok: false; error: string };

/** How a flag is named in messages: the original's flags as their users write them. */
export const flagLabel = (spec: FlagSpec): string => `${spec.original ? '-' : '--'}${spec.name}`;

type Values = Record<string, FlagValue | undefined>;

export function parseFlags<const T extends readonly FlagSpec[]>(
  specs: T,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Parsed<FlagValues<T>> {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of [s.name, ...(s.aliases ?? [])]) byName.set(n, s);
  const values: Values = {};
  const originals = new Map<FlagSpec, FlagValue>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help' || arg === '-help') return { ok: true, help: true, version: false };
    if (arg === '--version' || arg === '-version') return { ok: true, help: true, version: true };
    const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) return { ok: false, error: `unexpected argument "${arg}"` };
    const name = m[1] as string;
    let inline = m[2];
    let spec = byName.get(name);
    const negated = name.startsWith('no-') ? byName.get(name.slice(3)) : undefined;
    if (!spec && negated?.kind === 'bool' && inline === undefined) {
      spec = negated;
      inline = 'false';
    }
    if (!spec) return { ok: false, error: `unknown flag "${arg}" (see --help)` };
    let raw: string;
    if (inline !== undefined) raw = inline;
    else if (spec.kind === 'bool') raw = 'true';
    else if (i + 1 < argv.length) raw = argv[++i] as string;
    else return { ok: false, error: `flag ${flagLabel(spec)} needs a value` };
    const value = convert(spec, raw);
    if (typeof value === 'object' && 'error' in value) return { ok: false, error: value.error };
    if (spec.original) originals.set(spec, value);
    else values[spec.name] = value;
  }
  const notes = new Set<string>();
  const setBy = new Map<string, string>();
  for (const [spec, value] of originals) {
    const use = spec.original?.(value) ?? {};
    if (typeof use === 'string') return { ok: false, error: use };
    for (const [name, v] of Object.entries(use.values ?? {})) {
      const other = values[name] !== undefined ? (setBy.get(name) ?? `--${name}`) : undefined;
      if (other !== undefined) return { ok: false, error: `give either ${other} or ${flagLabel(spec)}, not both` };
      values[name] = v;
      setBy.set(name, flagLabel(spec));
    }
    if (use.note !== undefined) notes.add(use.note);
  }
  for (const s of specs) {
    if (values[s.name] !== undefined) continue;
    const fromEnv = s.env ? env[s.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') {
      const value = convert(s, fromEnv);
      if (typeof value === 'object' && 'error' in value) return { ok: false, error: `${s.env}: ${value.error}` };
      values[s.name] = value;
    } else if (!s.original) values[s.name] = s.default;
  }
  // The one place the row types meet the values: each was converted and checked by its row.
  return { ok: true, help: false, values: values as FlagValues<T>, notes: [...notes] };
}

type Converted = FlagValue | { error: string };

function convert(spec: FlagSpec, raw: string): Converted {
  switch (spec.kind) {
    case 'string':
      return spec.list ? each(raw, (item) => oneString(spec, item)) : oneString(spec, raw);
    case 'number':
      return spec.list ? each(raw, (item) => oneNumber(spec, item)) : oneNumber(spec, raw);
    case 'bool':
      // t and f as Go's flag package takes them.
      if (/^(true|t|1|yes)$/i.test(raw)) return true;
      if (/^(false|f|0|no)$/i.test(raw)) return false;
      return { error: `${flagLabel(spec)} must be true or false, got "${raw}"` };
  }
}

/** A list's items, each checked as the row's single value; the first bad one is the error. */
function each<T extends string | number>(raw: string, one: (item: string) => T | { error: string }): T[] | { error: string } {
  const items: T[] = [];
  for (const item of splitList(raw)) {
    const value = one(item);
    if (typeof value === 'object') return value;
    items.push(value);
  }
  return items;
}

function oneString(spec: StringFlag, raw: string): string | { error: string } {
  if (!spec.choices || spec.choices.includes(raw)) return raw;
  return { error: `${flagLabel(spec)} must be one of ${spec.choices.join(', ')}, got "${raw.slice(0, 80)}"` };
}

function oneNumber(spec: NumberFlag, raw: string): number | { error: string } {
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (Number.isFinite(n) && inRange(spec, n)) return n;
  return { error: `${flagLabel(spec)} must be ${numberRule(spec)}, got ${Number.isFinite(n) ? n : `"${raw.slice(0, 80)}"`}` };
}

const inRange = (spec: NumberFlag, n: number): boolean =>
  (!spec.integer || Number.isInteger(n)) && (spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max);

/** "an integer from 1 to 3600", "a number of at least 0.1": the rule in messages. */
function numberRule(spec: NumberFlag): string {
  const what = spec.integer ? 'an integer' : 'a number';
  if (spec.min !== undefined && spec.max !== undefined) return `${what} from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `${what} of at least ${spec.min}`;
  if (spec.max !== undefined) return `${what} of at most ${spec.max}`;
  return what;
}

/** What a row accepts, for --help: "integer, 1 to 3600 seconds", "list", "one of a, b". */
function accepts(s: FlagSpec): string {
  const parts: string[] = [];
  if (s.kind === 'number') {
    const from = s.min !== undefined ? `at least ${s.min}` : '';
    const range = s.max === undefined ? from : s.min !== undefined ? `${s.min} to ${s.max}` : `at most ${s.max}`;
    parts.push([s.integer ? 'integer' : '', range, s.unit ?? ''].filter(Boolean).join(' '));
  }
  if (s.kind === 'string' && s.choices && s.metavar !== undefined) parts.push(`${s.list ? 'each ' : ''}one of ${s.choices.join(', ')}`);
  if (s.kind !== 'bool' && s.list && !s.metavar?.includes(',')) parts.push('comma separated');
  return parts.filter(Boolean).join(', ');
}

function metavar(s: FlagSpec): string {
  if (s.kind === 'bool') return '';
  if (s.metavar !== undefined) return ` ${s.metavar}`;
  if (s.kind === 'string' && s.choices) return ` ${s.choices.join('|')}`;
  if (s.kind === 'number' && s.unit) return ` ${s.unit.toUpperCase().replace(' ', '_')}`;
  return ` ${s.kind.toUpperCase()}`;
}

const shown = (v: FlagValue): string => (Array.isArray(v) ? v.join(',') : String(v));

export function helpText(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  const row = (s: FlagSpec): string => {
    const names = [`${flagLabel(s)}${metavar(s)}`, ...(s.aliases ?? []).map((a) => `-${a}`)].join(', ');
    const given = s.default === undefined ? '' : shown(s.default);
    const extra = [accepts(s), given !== '' ? `default ${given}` : '', s.env ? `env ${s.env}` : ''].filter(Boolean).join('; ');
    return `  ${names}\n      ${s.help}${extra ? ` (${extra})` : ''}`;
  };
  const ours = specs.filter((s) => !s.original).map(row);
  const originals = specs.filter((s) => s.original).map(row);
  const compat =
    originals.length > 0
      ? `\nFlags of the original netchecker (accepted so its manifests start unchanged):\n${originals.join('\n')}\n`
      : '';
  const builtIn = '  --help\n      Show this help.\n  --version\n      Print the version.\n';
  return `Usage: ${usage}\n\n${summary}\n\nFlags:\n${ours.join('\n')}\n${builtIn}${compat}`;
}

/** Splits a comma (or semicolon, as the original agent allowed) separated list. */
export function splitList(v: string | undefined): string[] {
  return (v ?? '')
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
