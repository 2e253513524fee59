// Command-line flags from a table: each subcommand declares its flags as data, this parses argv
// against the table and writes --help from it. Accepts `--name value`, `--name=value`, and the
// original netchecker's single-dash Go style (`-serverendpoint host:port`); booleans take `--no-name`.
// The original's flags are rows of the same tables: a plain other spelling is an alias, one that
// means something else here (or nothing) says so with `original` and is mapped onto our flags.

export type FlagKind = 'string' | 'number' | 'bool';

export interface FlagSpec {
  name: string;
  kind: FlagKind;
  help: string;
  /** Other spellings, e.g. the original agent's `serverendpoint`. */
  aliases?: readonly string[];
  default?: string | number | boolean;
  /** Shown in --help instead of the kind, e.g. HOST:PORT. */
  metavar?: string;
  /** Environment variable read when the flag is not given. */
  env?: string;
  /**
   * Marks a flag of the original netchecker that is not one of ours: its checked value is turned
   * into values of our flags (giving one of those too is an error) and a note logged once at
   * start; a string is the error for a value that cannot be taken.
   */
  original?: (value: string | number | boolean) => OriginalUse | string;
}

/** What an original flag stands for here. */
export interface OriginalUse {
  readonly values?: FlagValues;
  /** Said once at start (equal notes once in all), e.g. that the flag is ignored and why. */
  readonly note?: string;
}

/**
 * A flag value that proves invalid only when used (a file that cannot be read or holds no usable
 * content): the command stops as for any other bad flag, exit 2 with one line naming the flag.
 */
export class FlagError extends Error {}

export type FlagValues = Record<string, string | number | boolean | undefined>;
/** notes: what the original's flags were taken as, to be logged once at start. */
export type Parsed = { ok: true; values: FlagValues; help: boolean; notes: readonly string[] } | { ok: false; error: string };

/** How a flag is named in messages: the original's flags as their users write them. */
export const flagLabel = (spec: FlagSpec): string => `${spec.original ? '-' : '--'}${spec.name}`;

export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[], env: NodeJS.ProcessEnv = {}): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of [s.name, ...(s.aliases ?? [])]) byName.set(n, s);
  const values: FlagValues = {};
  const originals = new Map<FlagSpec, string | number | boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help' || arg === '-help') return { ok: true, values, help: true, notes: [] };
    const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) return { ok: false, error: `unexpected argument "${arg}"` };
    let name = m[1] as string;
    let inline = m[2];
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.kind === 'bool' && inline === undefined) {
      spec = byName.get(name.slice(3)) as FlagSpec;
      inline = 'false';
      name = spec.name;
    }
    if (!spec) return { ok: false, error: `unknown flag "${arg}" (see --help)` };
    let raw: string;
    if (inline !== undefined) raw = inline;
    else if (spec.kind === 'bool') raw = 'true';
    else if (i + 1 < argv.length) raw = argv[++i] as string;
    else return { ok: false, error: `flag ${flagLabel(spec)} needs a value` };
    const value = convert(spec, raw);
    if (typeof value === 'object') return { ok: false, error: value.error };
    if (spec.original) originals.set(spec, value);
    else values[spec.name] = value;
  }
  const notes = new Set<string>();
  const setBy = new Map<string, string>();
  for (const [spec, value] of originals) {
    const use = (spec.original as NonNullable<FlagSpec['original']>)(value);
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
      if (typeof value === 'object') return { ok: false, error: `${s.env}: ${value.error}` };
      values[s.name] = value;
    } else if (!s.original) values[s.name] = s.default;
  }
  return { ok: true, values, help: false, notes: [...notes] };
}

function convert(spec: FlagSpec, raw: string): string | number | boolean | { error: string } {
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'number': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      return Number.isFinite(n) ? n : { error: `${flagLabel(spec)} must be a number, got "${raw}"` };
    }
    case 'bool':
      // t and f as Go's flag package takes them.
      if (/^(true|t|1|yes)$/i.test(raw)) return true;
      if (/^(false|f|0|no)$/i.test(raw)) return false;
      return { error: `${flagLabel(spec)} must be true or false, got "${raw}"` };
  }
}

export function helpText(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  const row = (s: FlagSpec): string => {
    const meta = s.kind === 'bool' ? '' : ` ${s.metavar ?? s.kind.toUpperCase()}`;
    const names = [`${flagLabel(s)}${meta}`, ...(s.aliases ?? []).map((a) => `-${a}`)].join(', ');
    const extra = [
      s.default !== undefined && s.default !== '' ? `default ${String(s.default)}` : '',
      s.env ? `env ${s.env}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return `  ${names}\n      ${s.help}${extra ? ` (${extra})` : ''}`;
  };
  const ours = specs.filter((s) => !s.original).map(row);
  const originals = specs.filter((s) => s.original).map(row);
  const compat = originals.length > 0 ? `\nFlags of the original netchecker (accepted so its manifests start unchanged):\n${originals.join('\n')}\n` : '';
  return `Usage: ${usage}\n\n${summary}\n\nFlags:\n${ours.join('\n')}\n  --help\n      Show this help.\n${compat}`;
}

/** Splits a comma (or semicolon, as the original agent allowed) separated list. */
export function splitList(v: string | undefined): string[] {
  return (v ?? '')
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
