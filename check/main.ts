// `netchecker check`: asks an exporter (ours or the original server) for the verdict and prints
// it for a person, or as JSON. Exit 0 pass, 1 fail, 2 no verdict (unreachable, error, bad answer).

import { type Command, runCommand } from '../lib/command.js';
import { FlagError, type FlagSpec } from '../lib/flags.js';
import { type CheckAnswer, parseCheckAnswer } from '../report/answers.js';

export const checkFlags = [
  {
    name: 'server',
    kind: 'string',
    metavar: 'URL',
    default: 'http://127.0.0.1:8081',
    env: 'NETCHECKER_SERVER',
    help: 'Exporter base URL.',
  },
  { name: 'json', kind: 'bool', default: false, help: "Print the exporter's JSON answer instead of a summary." },
  { name: 'timeout', kind: 'number', min: 0.1, max: 3600, unit: 'seconds', default: 10, help: 'Give up after this long (exit 2).' },
] as const satisfies readonly FlagSpec[];

interface CheckConfig {
  readonly url: URL;
  readonly json: boolean;
  readonly timeoutSeconds: number;
}

export const checkCommand: Command<typeof checkFlags, CheckConfig> = {
  name: 'netchecker check',
  usage: '[--server URL] [--json]',
  summary: 'Prints the verdict of an exporter.',
  flags: checkFlags,
  build: (v) => {
    const path = '/api/v1/connectivity_check';
    const url = URL.canParse(path, v.server) ? new URL(path, v.server) : null;
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:') throw new FlagError(`--server must be an http(s) URL, got "${v.server}"`);
    return { url, json: v.json, timeoutSeconds: v.timeout };
  },
};

/** The summary a person reads: the message, then one line per agent that is not ok. */
export function formatAnswer(a: CheckAnswer, pass: boolean): string {
  const lines = [`${pass ? 'PASS' : 'FAIL'}: ${a.message}`];
  if (a.agents.length > 0) {
    const ok = a.agents.filter((x) => x.state === 'ok').length;
    lines.push(`${a.agents.length} agents, ${ok} ok`);
    for (const x of a.agents) {
      if (x.state === 'ok') continue;
      const where = [x.node && `node ${x.node}`, x.network && `${x.network} network`].filter(Boolean).join(', ');
      lines.push(
        `  ${x.state.padEnd(9)} ${x.name}${where ? ` (${where})` : ''}: ${x.reason}${x.expected === false ? ' [not expected]' : ''}`,
      );
    }
  } else {
    for (const name of a.absent) lines.push(`  absent    ${name}`);
    for (const name of a.outdated) lines.push(`  outdated  ${name}`);
  }
  // Dual-stack: each IP family's state (it never changes PASS or FAIL), and the agents it fails for.
  for (const [family, f] of Object.entries(a.families)) {
    lines.push(`${family}: ${f.state}: ${f.reason}`);
    for (const x of a.agents) {
      const mine = x.families?.[family as keyof typeof x.families];
      if (mine?.state === 'failing') lines.push(`  failing   ${x.name}${x.node ? ` (node ${x.node})` : ''}: ${mine.reason}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export const run = (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> => runCommand(checkCommand, argv, env, check);

async function check({ url, json, timeoutSeconds }: CheckConfig): Promise<number> {
  let status: number;
  let body: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutSeconds * 1000) });
    status = res.status;
    body = await res.text();
  } catch (e) {
    process.stderr.write(
      `netchecker check: cannot reach ${url.origin}: ${(e as Error).cause ? String((e as Error & { cause: unknown }).cause) : (e as Error).message}\n`,
    );
    return 2;
  }
  const answer = status === 200 || status === 400 ? parseCheckAnswer(body) : null;
  if (!answer) {
    process.stderr.write(`netchecker check: no verdict from ${url.origin} (HTTP ${status}): ${body.slice(0, 500)}\n`);
    return 2;
  }
  process.stdout.write(json ? `${body}\n` : formatAnswer(answer, status === 200));
  return status === 200 ? 0 : 1;
}
