// End to end: `netchecker local` as a newcomer runs it. Killing one agent process turns the
// check to 400 with that agent outdated; starting it again turns it back to 200.
import t from 'tap';
import { eventually, isAlive, runCli, spawnCli } from './helpers/cli.js';

interface Check {
  status: number;
  body: {
    Message: string;
    Absent: string[] | null;
    Outdated: string[] | null;
    agents: Array<{ name: string; state: string; network: string }>;
  };
}

async function check(url: string): Promise<Check> {
  const res = await fetch(`${url}/api/v1/connectivity_check`);
  return { status: res.status, body: (await res.json()) as Check['body'] };
}

t.test('netchecker local: kill an agent, see it outdated, restart it, see it back', async (t) => {
  const local = spawnCli(t, ['local', '--listen', '127.0.0.1:0', '--interval', '1']);
  const [, url] = (await local.waitFor(/exporter (http:\/\/127\.0\.0\.1:\d+) \(pid \d+\)/)) as [string, string];
  const [, podPid] = (await local.waitFor(/agent netchecker-agent-local \(pod network, pid (\d+)\)/)) as [string, string];
  const [, hostPid] = (await local.waitFor(/agent netchecker-agent-hostnet-local \(host network, pid (\d+)\)/)) as [string, string];
  t.match(local.stdout, `${url}/metrics`, 'prints the URLs to open');
  t.ok(local.stdout.startsWith(`Status page: ${url}/\n`), 'the status page first');
  const [, tokenFile] = (await local.waitFor(/--token-file (\S+)\)/)) as [string, string];

  const healthy = await eventually(
    async () => {
      const c = await check(url);
      return c.status === 200 && c.body.agents.every((a) => a.state === 'ok') ? c : undefined;
    },
    10_000,
    'both agents ok',
  );
  t.same(
    healthy.body.agents.map((a) => [a.name, a.network, a.state]),
    [
      ['netchecker-agent-hostnet-local', 'host', 'ok'],
      ['netchecker-agent-local', 'pod', 'ok'],
    ],
  );
  t.equal(healthy.body.Message, 'All 2 pods successfully reported back to the server');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /^netchecker_agent_up\{agent="netchecker-agent-local",node="[^"]*",network="pod"\} 1$/m, 'live metrics');
  // A round's probes are cut at the next report slot (1 s here): on a busy machine the first
  // round's ping may miss it and be reported failed, which is the truth. Some round within ten succeeds.
  const probed = /^ncagent_http_probe_code\{agent="[^"]+-private_network",url="http:\/\/127\.0\.0\.1:\d+\/api\/v1\/ping"\} 200$/m;
  await eventually(
    async () => (probed.test(await (await fetch(`${url}/metrics`)).text()) ? true : undefined),
    10_000,
    'the pod agent to report a ping of the exporter answered 200',
  );
  t.pass('agent probed the exporter');

  process.kill(Number(podPid), 'SIGKILL');
  const failing = await eventually(
    async () => {
      const c = await check(url);
      return c.status === 400 ? c : undefined;
    },
    10_000,
    'the check to fail',
  );
  t.same([failing.body.Absent, failing.body.Outdated], [[], ['netchecker-agent-local']]);
  const cli = await runCli(['check', '--server', url]);
  t.equal(cli.status, 1, 'netchecker check exits 1');
  t.match(cli.stdout, /^ {2}outdated {2}netchecker-agent-local \(node [^,]*, pod network\): last report/m);

  const again = spawnCli(t, [
    'agent',
    '--server',
    url,
    '--name',
    'netchecker-agent-local',
    '--network',
    'pod',
    '--interval',
    '1',
    '--token-file',
    tokenFile,
  ]);
  const back = await eventually(
    async () => {
      const c = await check(url);
      return c.status === 200 ? c : undefined;
    },
    10_000,
    'the check to pass again',
  );
  t.same([back.body.Absent, back.body.Outdated], [null, null]);

  // One log line per state change, not one per report. The line travels exporter -> local ->
  // here and may arrive after the HTTP answer that caused it: wait for it first.
  await local.waitFor(/"msg":"agent is reporting again"/);
  const lines = local.stderr.split('\n').filter((l) => l.includes('"agent":"netchecker-agent-local"') && /"msg":"agent is/.test(l));
  t.equal(lines.filter((l) => l.includes('"msg":"agent is outdated"')).length, 1, 'outdated logged once');
  t.equal(lines.filter((l) => l.includes('"msg":"agent is reporting again"')).length, 1, 'recovery logged once');

  again.child.kill('SIGTERM');
  t.equal(await again.exited(), 0, 'agent exits 0 on SIGTERM');
  local.child.kill('SIGINT');
  t.equal(await local.exited(), 0, 'Ctrl-C stops local with exit 0');
  t.notOk(isAlive(Number(hostPid)), 'and its agents');
});

t.test('netchecker local --dns-server: the resolver is also a DNS replica both agents query directly', async (t) => {
  const { startDnsmasq } = await import('./lab/dnsmasq.js');
  const dns = await startDnsmasq(t, { address: '127.0.0.1', port: 0, records: [['kubernetes.default.svc.cluster.local', '127.0.0.9']] });
  const local = spawnCli(t, ['local', '--listen', '127.0.0.1:0', '--interval', '1', '--dns-server', dns.server, '--auth', 'none']);
  const [, url] = (await local.waitFor(/exporter (http:\/\/127\.0\.0\.1:\d+) \(pid \d+\)/)) as [string, string];
  const series = `netchecker_dns_replica_agents{replica="${dns.server}",replica_pod="",replica_node="",status="ok"} 2`;
  await eventually(
    async () => ((await (await fetch(`${url}/metrics`)).text()).includes(series) ? true : undefined),
    15_000,
    'both agents answered by the replica',
  );
  t.pass(series);
  // Ctrl-C, as a user stops it: local takes its exporter and agents down (SIGKILL at teardown would orphan them).
  local.child.kill('SIGINT');
  t.equal(await local.exited(), 0, 'Ctrl-C stops local with exit 0');
});
