// The prologue every subcommand shares: parse the flags against the command's table, answer
// --help and --version, build the config, and stop on any invalid flag with exit 2 and one line
// naming it ("netchecker agent: --interval must be ..."), also for a file a flag names that cannot
// be read (checked before the body runs, and a FlagError the body throws for one that proves
// unusable when read).

import { accessSync, constants } from 'node:fs';
import { type FlagSpec, FlagError, type FlagValues, fileError, flagLabel, helpText, parseFlags } from './flags.js';
import { VERSION } from './version.js';

export interface Command<T extends readonly FlagSpec[], C> {
  /** How it is run and named in messages, e.g. `netchecker agent`. */
  readonly name: string;
  /** After the name in the usage line, e.g. `[flags]`. */
  readonly usage: string;
  readonly summary: string;
  readonly flags: T;
  /** The config from the checked values; throws a FlagError for what the table cannot say (one flag against another). */
  readonly build: (values: FlagValues<T>, context: { readonly notes: readonly string[]; readonly env: NodeJS.ProcessEnv }) => C;
}

/** help: print the help (or the version) instead of running. */
export type CommandArgs<C> =
  { ok: true; help: false; config: C } | { ok: true; help: true; version: boolean } | { ok: false; error: string };

export const commandHelp = <T extends readonly FlagSpec[], C>(command: Command<T, C>): string =>
  helpText(`${command.name} ${command.usage}`, command.summary, command.flags);

export function parseCommand<T extends readonly FlagSpec[], C>(
  command: Command<T, C>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): CommandArgs<C> {
  const parsed = parseAll(command, argv, env);
  return parsed.ok && !parsed.help ? { ok: true, help: false, config: parsed.config } : parsed;
}

function parseAll<T extends readonly FlagSpec[], C>(
  command: Command<T, C>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { ok: true; help: false; config: C; values: FlagValues<T> } | Exclude<CommandArgs<C>, { help: false }> {
  const parsed = parseFlags(command.flags, argv, env);
  if (!parsed.ok || parsed.help) return parsed;
  try {
    return { ok: true, help: false, config: command.build(parsed.values, { notes: parsed.notes, env }), values: parsed.values };
  } catch (e) {
    if (e instanceof FlagError) return { ok: false, error: e.message };
    throw e;
  }
}

/** The first file a `file` row names that cannot be read, as its FlagError. */
function unreadableFile(flags: readonly FlagSpec[], values: Readonly<Record<string, unknown>>): FlagError | null {
  for (const f of flags) {
    const path = values[f.name];
    if (f.kind !== 'string' || !f.file || typeof path !== 'string' || path === '') continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (e) {
      return fileError(flagLabel(f), path, e);
    }
  }
  return null;
}

/** Runs body with the config; exit 2 with one line for an invalid flag, 0 after --help or --version. */
export async function runCommand<T extends readonly FlagSpec[], C>(
  command: Command<T, C>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  body: (config: C) => Promise<number>,
): Promise<number> {
  const fail = (error: string): number => {
    process.stderr.write(`${command.name}: ${error}\n`);
    return 2;
  };
  const parsed = parseAll(command, argv, env);
  if (!parsed.ok) return fail(parsed.error);
  if (parsed.help) {
    process.stdout.write(parsed.version ? `${VERSION}\n` : commandHelp(command));
    return 0;
  }
  const unreadable = unreadableFile(command.flags, parsed.values);
  if (unreadable) return fail(unreadable.message);
  try {
    return await body(parsed.config);
  } catch (e) {
    if (e instanceof FlagError) return fail(e.message);
    throw e;
  }
}
