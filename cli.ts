#!/usr/bin/env node
// netchecker: one CLI, one subcommand per part. Each subcommand module exports
// run(argv, env) -> exit code; they are loaded on demand so `check` stays light.

type Run = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<Run> }> = {
  exporter: { summary: 'receive reports, serve the verdict, the API and /metrics', load: async () => (await import('./exporter/main.js')).run },
  agent: { summary: 'probe the network and report to the exporter (run on every node, twice)', load: async () => (await import('./agent/main.js')).run },
  local: { summary: 'quick start: an exporter and two agents on loopback', load: async () => (await import('./local/main.js')).run },
  check: { summary: 'ask an exporter for the verdict; exit 0 pass, 1 fail, 2 unreachable', load: async () => (await import('./check/main.js')).run },
};

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
