// Peers the exporter can vouch for: a listener is handed out only on its agent's own IP (the
// report's source address, or its pod's IPs under Kubernetes discovery) or in --peer-cidrs, and
// never as a host name. Agents probe what they are handed, so anything else would make them a
// port scanner for whoever can POST a report.
import t from 'tap';
import { isBoundAddress } from '../exporter/peers/bound.js';
import { parseCidr, parseIp, parsePeerAddress } from '../report/address.js';
import { eventually } from './helpers/cli.js';
import { postReport, report, startTestExporter } from './helpers/exporter.js';
import { agentPod, discoveryArgs, FakeKube, node } from './helpers/fake-kube.js';

type Peers = { peers: Array<{ name: string; address: string }> };
const peersOf = async (url: string, name: string): Promise<Peers['peers']> =>
  ((await (await fetch(`${url}/api/v1/peers/${name}`)).json()) as Peers).peers;

t.test('address shapes and bindings (pure)', async (t) => {
  const cases: Array<[string, string[], string[], boolean]> = [
    ['127.0.0.1:9', ['127.0.0.1'], [], true],
    ['127.0.0.1:9', ['::ffff:127.0.0.1'], [], true], // the socket's spelling of an IPv4 peer on a dual-stack listener
    ['[::ffff:127.0.0.1]:9', ['127.0.0.1'], [], true],
    ['127.0.0.2:9', ['127.0.0.1'], [], false],
    ['127.0.0.2:9', ['127.0.0.1'], ['127.0.0.0/8'], true],
    ['[fd00::1]:8090', ['fd00:0:0::1'], [], true],
    ['[fd00::2]:8090', ['fd00::1'], ['fd00::/120'], true],
    ['[fd00::1:2]:8090', ['fd00::1'], ['fd00::/120'], false],
    ['10.0.0.1:8090', [], ['0.0.0.0/0'], true],
    ['10.0.0.1:8090', [], ['::/0'], false],
    ['localhost:8090', ['127.0.0.1'], ['0.0.0.0/0'], false],
    ['node-a.example:8090', ['127.0.0.1'], [], false],
    ['10.0.0.1:0', ['10.0.0.1'], [], false],
    ['10.0.0.1', ['10.0.0.1'], [], false],
  ];
  for (const [address, owned, cidrs, want] of cases) {
    t.equal(
      isBoundAddress(
        address,
        owned,
        cidrs.map((c) => parseCidr(c) as NonNullable<ReturnType<typeof parseCidr>>),
      ),
      want,
      `${address} owned ${owned.join(',') || '-'} cidrs ${cidrs.join(',') || '-'}`,
    );
  }
  for (const bad of [
    '256.0.0.1:1',
    '01.2.3.4:1',
    '1.2.3:1',
    '[fd00::1::2]:1',
    '[::ffff:1.2.3.4.5]:1',
    'fd00::1:80',
    '[fd00::1]:65536',
    '[1:2:3:4:5:6:7:8:9]:1',
    ' 1.2.3.4:1',
  ]) {
    t.equal(parsePeerAddress(bad), null, `${bad}: not a peer address`);
  }
  t.same(parseIp('::ffff:10.1.2.3'), [10, 1, 2, 3], 'an IPv4-mapped IPv6 address reads as IPv4');
  t.equal(parseCidr('10.0.0.0/33'), null);
  t.equal(parseCidr('10.0.0.0'), null);
});

t.test('static discovery: only a listener on the report source address is handed out', async (t) => {
  const ex = await startTestExporter(t);
  // Every report comes from 127.0.0.1 here.
  t.equal((await postReport(ex.url, 'agent-a', report({ nodename: 'n1', listen: '127.0.0.1:9001' }))).status, 200);
  t.equal((await postReport(ex.url, 'agent-b', report({ nodename: 'n2', listen: '127.0.0.1:9002' }))).status, 200);
  const spoof = await postReport(ex.url, 'agent-c', report({ nodename: 'n3', listen: '127.0.0.2:9' }));
  t.equal(spoof.status, 200, 'a listener on another address: the report is stored (the agent is present) ...');
  const agents = (await (await fetch(`${ex.url}/api/v1/agents/`)).json()) as Record<string, unknown>;
  t.ok('agent-c' in agents);
  t.same(
    (await peersOf(ex.url, 'agent-a')).map((p) => p.address),
    ['127.0.0.1:9002'],
    '... but its listener is never handed out',
  );
  t.same(
    (await peersOf(ex.url, 'agent-b')).map((p) => p.address),
    ['127.0.0.1:9001'],
  );
  t.same(await peersOf(ex.url, 'agent-c'), [], 'and it is given no peers either (it takes no part in the mesh)');
  await peersOf(ex.url, 'agent-b');
  t.same(
    ex.logs.filter((l) => l.msg === 'listener not handed out as a peer').map((l) => [l.agent, l.listen]),
    [['agent-c', '127.0.0.2:9']],
    'the operator is told, once',
  );

  const named = await postReport(ex.url, 'agent-d', report({ nodename: 'n4', listen: 'scan-me.example:22' }));
  t.equal(named.status, 400, 'a host name is refused');
  t.match(await named.json(), { error: 'invalid_field', message: /listen must be IPv4:PORT or \[IPv6\]:PORT/ });
});

t.test('--peer-cidrs widens what is vouched for', async (t) => {
  const ex = await startTestExporter(t, ['--peer-cidrs', '10.9.0.0/16, 127.0.0.0/8']);
  await postReport(ex.url, 'agent-a', report({ nodename: 'n1', listen: '127.0.0.1:9001' }));
  await postReport(ex.url, 'agent-c', report({ nodename: 'n3', listen: '127.0.0.2:9' }));
  t.same(
    (await peersOf(ex.url, 'agent-a')).map((p) => p.address),
    ['127.0.0.2:9'],
  );
  await t.rejects(startTestExporter(t, ['--peer-cidrs', '10.0.0.0/40']), /--peer-cidrs: "10.0.0.0\/40" is not an IP\/BITS range/);
  await t.rejects(startTestExporter(t, ['--peer-cidrs', 'example.com/8']), /--peer-cidrs/);
});

t.test('Kubernetes discovery: the listener must be on the pod IP (the node IP for hostNetwork pods)', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'), node('n2'));
  kube.apply(
    'pods',
    agentPod('netchecker-agent-a', { node: 'n1', ip: '10.244.1.5' }),
    agentPod('netchecker-agent-hostnet-a', { node: 'n1', hostNetwork: true, ip: '192.0.2.1' }),
    agentPod('netchecker-agent-b', { node: 'n2', ip: '10.244.2.7' }),
  );
  const ex = await startTestExporter(t, [...discoveryArgs(kube), '--startup-grace', '0']);
  await eventually(async () => ((await fetch(`${ex.url}/readyz`)).status === 200 ? true : undefined), 10_000, 'discovery synced');
  // The reports come from 127.0.0.1, which is nobody's pod IP: under Kubernetes the pod's IPs decide.
  await postReport(ex.url, 'netchecker-agent-a', report({ nodename: 'n1', network: 'pod', listen: '10.244.1.5:8090' }));
  await postReport(ex.url, 'netchecker-agent-hostnet-a', report({ nodename: 'n1', network: 'host', listen: '192.0.2.1:8091' }));
  await postReport(ex.url, 'netchecker-agent-b', report({ nodename: 'n2', network: 'pod', listen: '10.244.1.5:22' }));
  await postReport(ex.url, 'made-up-agent', report({ nodename: 'n9', listen: '127.0.0.1:9' }));
  const handed = await eventually(
    async () => {
      const p = await peersOf(ex.url, 'netchecker-agent-a');
      return p.length > 0 ? p : undefined;
    },
    5000,
    'peers',
  );
  t.same(
    handed.map((p) => `${p.name} ${p.address}`),
    ['netchecker-agent-hostnet-a 192.0.2.1:8091'],
    "the pod IP and the node IP are vouched for; another pod's IP and an agent without a pod are not",
  );
});
