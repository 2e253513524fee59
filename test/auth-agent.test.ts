// End to end with --auth kubernetes: a real agent process sends its projected token from a file;
// the token is rotated mid-run (as the kubelet does, an atomic replace) shortly before the old
// one expires, and the agent keeps reporting without a single refusal.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { eventually, spawnCli } from './helpers/cli.js';
import { sample, startTestExporter } from './helpers/exporter.js';
import { agentPod, discoveryArgs, FakeKube, node } from './helpers/fake-kube.js';
import { TokenIssuer } from './helpers/tokens.js';

const POD = 'netchecker-agent-e2e';

t.test('a real agent with a rotating token file keeps reporting', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  kube.apply('pods', agentPod(POD, { node: 'n1' }));
  const tokens = new TokenIssuer(kube);
  const ex = await startTestExporter(t, [...discoveryArgs(kube), '--auth', 'kubernetes']);
  await eventually(async () => ((await fetch(`${ex.url}/readyz`)).status === 200 ? true : undefined), 10_000, 'the pod informer');

  const dir = mkdtempSync(join(tmpdir(), `netchecker-token-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  const rotate = (token: string): void => {
    writeFileSync(`${file}.tmp`, token);
    renameSync(`${file}.tmp`, file);
  };
  // The first token expires 6 s from now: past that the exporter refuses it (401), so reports
  // accepted after it prove the agent sends the rotated one.
  const first = tokens.agent(kube, POD, { expiresInSeconds: 6 });
  rotate(first);
  const expiresAt = Date.now() + 6000;
  const agent = spawnCli(t, [
    'agent',
    '--server',
    ex.url,
    '--name',
    POD,
    '--node',
    'n1',
    '--network',
    'pod',
    '--interval',
    '1',
    '--token-file',
    file,
    '--no-icmp',
    '--mtu-sizes=',
    '--dns-server=',
  ]);

  const accepted = async (): Promise<number> =>
    sample(await (await fetch(`${ex.url}/metrics`)).text(), 'netchecker_reports_accepted_total') ?? 0;
  await eventually(async () => ((await accepted()) >= 2 ? true : undefined), 10_000, 'the first reports accepted');
  t.equal(kube.count({ verb: 'tokenreview' }), 1, 'the first token reviewed once');

  rotate(tokens.agent(kube, POD));
  await eventually(
    async () => (kube.count({ verb: 'tokenreview' }) === 2 ? true : undefined),
    10_000,
    'the rotated token sent and reviewed',
  );
  // Wait out the first token's expiry (with 1 s for the report in flight), then count again.
  await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 1000));
  const before = await accepted();
  await eventually(
    async () => ((await accepted()) >= before + 2 ? true : undefined),
    10_000,
    'reports accepted after the first token expired',
  );

  const metrics = await (await fetch(`${ex.url}/metrics`)).text();
  const refused = metrics.split('\n').filter((l) => l.startsWith('netchecker_reports_rejected_total{') && !l.endsWith(' 0'));
  t.same(refused, [], 'no report refused');
  t.equal(kube.count({ verb: 'tokenreview' }), 2, 'two tokens, two reviews');
  t.notMatch(agent.stderr, /reports failing|token file unusable/);
  agent.child.kill('SIGTERM');
  t.equal(await agent.exited(), 0);
});

t.test('the original agent (no token) keeps working against --auth none', async (t) => {
  const { originalReports, postReport } = await import('./helpers/exporter.js');
  const ex = await startTestExporter(t);
  for (const r of originalReports()) t.equal((await postReport(ex.url, r.name, r.body)).status, 200, `${r.kind} report without a token`);
});
