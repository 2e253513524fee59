#!/usr/bin/env node
// netchecker: one CLI, one subcommand per part. Each subcommand module exports
// run(argv, env) -> exit code; they are loaded on demand so `check` stays light.

type Run = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<Run> }> = {
  exporter: {
    summary: 'receive reports, serve the verdict, the API and /metrics',
    load: async () => (await import('./exporter/main.js')).run,
  },
  agent: {
    summary: 'probe the network and report to the exporter (run on every node, twice)',
    load: async () => (await import('./agent/main.js')).run,
  },
  local: { summary: 'quick start: an exporter and two agents on loopback', load: async () => (await import('./local/main.js')).run },
  check: {
    summary: 'ask an exporter for the verdict; exit 0 pass, 1 fail, 2 unreachable',
    load: async () => (await import('./check/main.js')).run,
  },
};

/**
 * The original images had no subcommand: one binary per part. Started with only the original's
 * arguments (kubespray's manifests with our image), the flags only one part had say which to run.
 */
const originalRoles: Record<string, string> = {
  serverendpoint: 'agent',
  reportinterval: 'agent',
  probeurls: 'agent',
  zeroextenderlength: 'agent',
  endpoint: 'exporter',
  kubeproxyinit: 'exporter',
  'etcd-endpoints': 'exporter',
  'report-ttl': 'exporter',
};

/** The command the original's flags in args name, or the reason there is none. */
function roleOf(args: readonly string[]): { command: string } | { error: string } {
  const roles = new Set(args.map((a) => originalRoles[/^--?([\w-]+)/.exec(a)?.[1] ?? '']).filter((r) => r !== undefined));
  if (roles.size === 1) return { command: [...roles][0] as string };
  if (roles.size > 1) return { error: 'flags of both the original server (-endpoint) and agent (-serverendpoint) given: name the command' };
  return { error: 'no command given, and no flag of the original server (-endpoint) or agent (-serverendpoint) to pick one by' };
}

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: netchecker <command> [flags]\n\nCommands:\n${rows.join('\n')}\n\nRun "netchecker <command> --help" for its flags.\n`;
}

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${(await import('./lib/version.js')).VERSION}\n`);
    return 0;
  }
  if (name.startsWith('-')) {
    const role = roleOf(process.argv.slice(2));
    if ('error' in role) {
      process.stderr.write(`netchecker: ${role.error}\n`);
      return 2;
    }
    return (await (commands[role.command] as (typeof commands)[string]).load())(process.argv.slice(2), process.env);
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`netchecker: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return (await command.load())(rest, process.env);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`netchecker: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
