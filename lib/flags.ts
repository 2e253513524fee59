// Command-line flags from a table: each subcommand declares its flags as data, this parses argv
// against the table and writes --help from it. Accepts `--name value`, `--name=value`, and the
// original agent's single-dash Go style (`-serverendpoint host:port`); booleans take `--no-name`.

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
}

/**
 * A flag value that proves invalid only when used (a file that cannot be read or holds no usable
 * content): the command stops as for any other bad flag, exit 2 with one line naming the flag.
 */
export class FlagError extends Error {}

export type FlagValues = Record<string, string | number | boolean | undefined>;
export type Parsed = { ok: true; values: FlagValues; help: boolean } | { ok: false; error: string };

export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[], env: NodeJS.ProcessEnv = {}): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of [s.name, ...(s.aliases ?? [])]) byName.set(n, s);
  const values: FlagValues = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help' || arg === '-help') return { ok: true, values, help: true };
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
    else return { ok: false, error: `flag --${spec.name} needs a value` };
    const value = convert(spec, raw);
    if (typeof value === 'object') return { ok: false, error: value.error };
    values[spec.name] = value;
  }
  for (const s of specs) {
    if (values[s.name] !== undefined) continue;
    const fromEnv = s.env ? env[s.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') {
      const value = convert(s, fromEnv);
      if (typeof value === 'object') return { ok: false, error: `${s.env}: ${value.error}` };
      values[s.name] = value;
    } else values[s.name] = s.default;
  }
  return { ok: true, values, help: false };
}

function convert(spec: FlagSpec, raw: string): string | number | boolean | { error: string } {
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'number': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      return Number.isFinite(n) ? n : { error: `--${spec.name} must be a number, got "${raw}"` };
    }
    case 'bool':
      if (/^(true|1|yes)$/i.test(raw)) return true;
      if (/^(false|0|no)$/i.test(raw)) return false;
      return { error: `--${spec.name} must be true or false, got "${raw}"` };
  }
}

export function helpText(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const meta = s.kind === 'bool' ? '' : ` ${s.metavar ?? s.kind.toUpperCase()}`;
    const names = [`--${s.name}${meta}`, ...(s.aliases ?? []).map((a) => `-${a}`)].join(', ');
    const extra = [
      s.default !== undefined && s.default !== '' ? `default ${String(s.default)}` : '',
      s.env ? `env ${s.env}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return `  ${names}\n      ${s.help}${extra ? ` (${extra})` : ''}`;
  });
  return `Usage: ${usage}\n\n${summary}\n\nFlags:\n${rows.join('\n')}\n  --help\n      Show this help.\n`;
}

/** Splits a comma (or semicolon, as the original agent allowed) separated list. */
export function splitList(v: string | undefined): string[] {
  return (v ?? '')
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** HOST:PORT, with [v6]:PORT; port 0 means a free one. */
export function parseHostPort(v: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
