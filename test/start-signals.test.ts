// `npm start` as a newcomer stops it: a signal to npm, or to `netchecker local` under it, stops
// the exporter and both agents too. npm forwards SIGINT and SIGTERM to its script's process;
// the script execs node, so that process is `netchecker local` itself, which stops its children.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { eventually, isAlive } from './helpers/cli.js';
import { copyCheckout } from './helpers/checkout.js';

/** Direct children of a process (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function started(t: Test, dir: string): Promise<{ npm: ChildProcess; local: number; children: number[] }> {
  const npm = spawn('npm', ['start', '--', '--listen', '127.0.0.1:0', '--interval', '1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    for (const pid of [npm.pid as number, ...childrenOf(npm.pid as number).flatMap((p) => [p, ...childrenOf(p)])]) {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
  let out = '';
  npm.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  npm.stderr.resume();
  // The build comes first: on a busy machine it takes a minute or more.
  await eventually(async () => (out.includes('Ctrl-C stops everything') ? true : undefined), 240_000, 'npm start to print its URLs');
  const [local] = childrenOf(npm.pid as number);
  if (local === undefined) throw new Error('npm start has no child process');
  const pids = [...out.matchAll(/\(pid (\d+)\)|network, pid (\d+)\)/g)].map((m) => Number(m[1] ?? m[2]));
  t.equal(pids.length, 3, 'the exporter and two agents, with their pids');
  t.same(childrenOf(local).sort(), [...pids].sort(), "they are children of netchecker local, which is npm's own child");
  return { npm, local, children: pids };
}

const cases: Array<[string, 'npm' | 'local', NodeJS.Signals]> = [
  ['SIGTERM to npm', 'npm', 'SIGTERM'],
  ['SIGINT to netchecker local under npm', 'local', 'SIGINT'],
];

for (const [name, target, signal] of cases) {
  t.test(`npm start, then ${name}: everything stops`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'netchecker-start-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    copyCheckout(dir);
    const { npm, local, children } = await started(t, dir);
    const npmExit = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    process.kill(target === 'npm' ? (npm.pid as number) : local, signal);
    // local runs the exporter without a drain delay; its shutdown deadline is 10 s.
    const all = [npm.pid as number, local, ...children];
    await eventually(
      async () => (all.every((p) => !isAlive(p)) ? true : undefined),
      30_000,
      'npm, netchecker local, the exporter and both agents to exit',
    );
    t.pass(`no process left: ${all.join(', ')}`);
    t.equal(await npmExit, 0, 'npm start exits 0 (a stop asked for)');
  });
}
