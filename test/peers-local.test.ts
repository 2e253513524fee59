// `netchecker local`: the two agents probe each other as peers; without --dns-server they skip
// DNS (never this machine's resolver), with it they probe exactly that resolver.
import t from 'tap';
import { eventually, spawnCli } from './helpers/cli.js';
import { startDnsmasq } from './lab/dnsmasq.js';

const POD = 'netchecker-agent-local';
const HOST = 'netchecker-agent-hostnet-local';

async function metricsOf(t: Parameters<typeof spawnCli>[0], extra: string[], also: RegExp = /^/): Promise<string> {
  const local = spawnCli(t, ['local', '--listen', '127.0.0.1:0', '--interval', '1', ...extra]);
  const [, url] = (await local.waitFor(/exporter (http:\/\/127\.0\.0\.1:\d+) \(pid \d+\)/)) as [string, string];
  // Ctrl-C stops local and its children (a SIGKILL would orphan them).
  t.teardown(async () => {
    local.child.kill('SIGINT');
    await local.exited();
  });
  return eventually(
    async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const both = [POD, HOST].every((a) =>
        new RegExp(`^netchecker_agent_probed_by\\{agent="${a}",[^}]*status="reachable"\\} 1$`, 'm').test(text),
      );
      return both && also.test(text) ? text : undefined;
    },
    15_000,
    'both agents reached by the other',
  );
}

t.test("local agents are each other's peers and skip DNS without a resolver", async (t) => {
  // RTTs of starved rounds are left out, so on a busy machine the first rounds may not count.
  const text = await metricsOf(t, [], /^netchecker_peer_rtt_seconds_count\{network="pod",peer_network="host"\} [1-9]/m);
  t.match(
    text,
    new RegExp(`^netchecker_agent_peers\\{agent="${POD}",[^}]*peer_network="host",status="reachable"\\} 1$`, 'm'),
    'pod agent reaches the host agent',
  );
  t.match(
    text,
    new RegExp(`^netchecker_agent_peers\\{agent="${HOST}",[^}]*peer_network="pod",status="reachable"\\} 1$`, 'm'),
    'host agent reaches the pod agent',
  );
  t.match(text, /^netchecker_peer_rtt_seconds_count\{network="pod",peer_network="host"\} [1-9]/m, 'RTT observed for the pod->host pair');
  t.notMatch(text, /netchecker_agent_dns_/, 'no DNS probes without --dns-server');
  t.notMatch(text, /netchecker_agent_peer_unreachable\{/);
});

t.test('with --dns-server the agents probe that resolver', async (t) => {
  // An address of each family: on a machine with IPv6 (not loopback) the agents are dual-stack and ask AAAA too.
  const name = 'kubernetes.default.svc.cluster.local';
  const records: Array<[string, string]> = [
    [name, '127.0.0.9'],
    [name, 'fd00::9'],
  ];
  const dns = await startDnsmasq(t, { address: '127.0.0.1', port: 0, records });
  const text = await metricsOf(t, ['--dns-server', dns.server]);
  // The exporter's address is an IP here, so the default names are kubernetes.default.svc.cluster.local only.
  const up = text.split('\n').filter((l) => l.startsWith(`netchecker_agent_dns_up{agent="${POD}",`));
  t.ok(up.length > 0 && up.every((l) => l.endsWith(' 1')), `DNS up (each family, when dual-stack): ${up.join('; ')}`);
  t.match(text, new RegExp(`^netchecker_agent_dns_queries_total\\{agent="${HOST}",[^}]*result="ok"[^}]*\\} [1-9]`, 'm'));
});
