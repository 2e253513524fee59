// DNS per replica: the exporter reads the cluster DNS Service's EndpointSlices (or a static list),
// hands the replicas out with the peers, and counts per replica the agents that fail it; the
// agent queries each replica directly. Pure readers as tables; the exporter against the fake
// Kubernetes API, as a user sees it (peers answer, /metrics); the agent's probe against dnsmasq.
import t from 'tap';
import { dnsReplicasProbe, probeDnsReplicas, replicasInReach } from '../agent/probes/dns-replicas.js';
import type { ProbeSettings } from '../agent/probes/probe.js';
import { parseExporterConfig } from '../exporter/config.js';
import { capReplicas, parseReplicaEntry, replicasFromSlices } from '../exporter/discovery/dns-replicas.js';
import { replicaViews } from '../exporter/metrics/dns-replicas.js';
import type { AgentVerdict } from '../exporter/verdict/verdict.js';
import { createLogger } from '../lib/log.js';
import { parseDnsReplicas } from '../report/answers.js';
import { decodeReport } from '../report/decode.js';
import type { Report } from '../report/schema.js';
import { postReport, report, sample, startTestExporter } from './helpers/exporter.js';
import { agentPod, discoveryArgs, endpointSlice, FakeKube, node } from './helpers/fake-kube.js';
import { eventually, runCli, spawnCli } from './helpers/cli.js';
import { startDnsmasq } from './lab/dnsmasq.js';

const KUBE_DNS = { namespace: 'kube-system', name: 'kube-dns' };

t.test('replicas from EndpointSlices: ready endpoints, the dns UDP port, sorted, once each', async (t) => {
  const a = endpointSlice('kube-dns-a', KUBE_DNS, [
    { ip: '10.0.0.12', pod: 'coredns-b', node: 'n2' },
    { ip: '10.0.0.11', pod: 'coredns-a', node: 'n1' },
    { ip: '10.0.0.13', pod: 'coredns-c', node: 'n3', ready: false },
  ]);
  const b = { ...endpointSlice('kube-dns-b', KUBE_DNS, [{ ip: '10.0.0.11', pod: 'coredns-a', node: 'n1' }]), ports: [] };
  const fqdn = { ...endpointSlice('kube-dns-c', KUBE_DNS, [{ ip: 'dns.example', pod: 'x', node: 'n' }]), addressType: 'FQDN' };
  const custom = { ...endpointSlice('kube-dns-d', KUBE_DNS, [{ ip: '10.0.0.20', pod: 'p', node: 'n4' }]) };
  custom.ports = [{ name: 'other', port: 1053, protocol: 'UDP' }];
  t.same(replicasFromSlices([a, b, fqdn, custom]), [
    { address: '10.0.0.11:53', pod: 'coredns-a', node: 'n1' },
    { address: '10.0.0.12:53', pod: 'coredns-b', node: 'n2' },
    { address: '10.0.0.20:1053', pod: 'p', node: 'n4' },
  ]);
  t.same(replicasFromSlices([]), []);
  const many = replicasFromSlices([
    endpointSlice(
      'kube-dns-many',
      KUBE_DNS,
      Array.from({ length: 70 }, (_, i) => ({ ip: `10.0.${i % 2}.${i}`, pod: `coredns-${i}`, node: 'n1' })),
    ),
  ]);
  t.equal(many.length, 70, 'every ready endpoint is known');
  const cut = capReplicas(many);
  t.equal(cut.length, 64, 'an agent takes 64');
  t.same(cut, many.slice(0, 64), 'the first by address: the same cut on every exporter replica');
  t.same(capReplicas([...many].reverse().sort((a, b) => (a.address < b.address ? -1 : 1))), cut, 'whatever order the slices came in');
});

t.test('--dns-replicas entries and flags', async (t) => {
  const table: Array<[string, unknown]> = [
    ['10.0.0.11', { address: '10.0.0.11:53', pod: '', node: '' }],
    ['10.0.0.11:5353=coredns-a', { address: '10.0.0.11:5353', pod: 'coredns-a', node: '' }],
    ['10.0.0.11=coredns-a@n1', { address: '10.0.0.11:53', pod: 'coredns-a', node: 'n1' }],
    ['[fd00::11]:53=coredns-a@n1', { address: '[fd00::11]:53', pod: 'coredns-a', node: 'n1' }],
    ['fd00::11', { address: '[fd00::11]:53', pod: '', node: '' }],
    ['dns.example:53', null],
    ['10.0.0.11=a=b', null],
    ['10.0.0.11=a@b@c', null],
  ];
  for (const [entry, want] of table) t.same(parseReplicaEntry(entry), want, entry);
  const config = (args: string[]): unknown => {
    const r = parseExporterConfig(args);
    return r.ok && !r.help ? r.config.dnsReplicas : r.ok ? 'help' : r.error;
  };
  t.equal(config([]), null, 'static discovery, no list: no replicas');
  t.same(config(['--discovery', 'kubernetes']), { kind: 'service', namespace: 'kube-system', name: 'kube-dns' }, 'kube-dns by default');
  t.equal(config(['--discovery', 'kubernetes', '--dns-service', '']), null, 'empty: off');
  t.match(config(['--discovery', 'kubernetes', '--dns-service', 'kube-dns']), /--dns-service must be NAMESPACE\/NAME/);
  t.match(config(['--dns-replicas', 'dns.example']), /--dns-replicas: "dns.example" is not IP\[:PORT\]/);
  t.match(config(['--dns-replicas', '10.0.0.1,10.0.0.1:53']), /each address once/);
  t.match(config(['--discovery', 'kubernetes', '--dns-replicas', '10.0.0.1']), { kind: 'static' }, 'the static list wins');
  const list = (n: number): string => Array.from({ length: n }, (_, i) => `10.0.1.${i}`).join(',');
  t.match(config(['--dns-replicas', list(64)]), { kind: 'static' }, '64 replicas: taken');
  t.equal(config(['--dns-replicas', list(65)]), '--dns-replicas takes at most 64 replicas, got 65', 'over the cap: refused');
  const r = await runCli(['exporter', '--listen', '127.0.0.1:0', '--dns-replicas', list(65)]);
  t.equal(r.status, 2, 'a static list over the cap stops the exporter at start: exit 2');
  t.same(
    r.stderr.trim().split('\n'),
    ['netchecker exporter: --dns-replicas takes at most 64 replicas, got 65'],
    'one line naming the flag',
  );
});

t.test('the peers answer: dns_replicas is optional and validated', async (t) => {
  t.same(parseDnsReplicas({ peers: [] }), [], 'absent (an older exporter): none');
  t.same(parseDnsReplicas({ peers: [], dns_replicas: ['10.0.0.11:53', '[fd00::1]:53'] }), ['10.0.0.11:53', '[fd00::1]:53']);
  for (const bad of [
    { dns_replicas: 'x' },
    { dns_replicas: ['dns.example:53'] },
    { dns_replicas: ['10.0.0.1:53', '10.0.0.1:53'] },
    { dns_replicas: [1] },
  ])
    t.equal(parseDnsReplicas(bad), null, JSON.stringify(bad));
});

t.test('the report field: decoded, and refused when malformed', async (t) => {
  const decode = (dns_replicas: unknown) => decodeReport(report({ dns_replicas }));
  const ok = decode([{ address: '10.0.0.11:53', result: 'dns_servfail', latency_ms: 1.5 }]);
  t.same(ok.ok && ok.value.dnsReplicas, [{ address: '10.0.0.11:53', result: 'dns_servfail', latencyMs: 1.5 }]);
  const absent = decodeReport(report());
  t.same(absent.ok && absent.value.dnsReplicas, null, 'absent: null');
  const bad: unknown[] = [
    'x',
    [{ address: 'dns.example:53', result: 'ok', latency_ms: 1 }],
    [{ address: '10.0.0.11:53', result: 'Not A Class', latency_ms: 1 }],
    [
      { address: '10.0.0.11:53', result: 'ok', latency_ms: 1 },
      { address: '10.0.0.11:53', result: 'ok', latency_ms: 1 },
    ],
    Array.from({ length: 65 }, (_, i) => ({ address: `10.0.1.${i}:53`, result: 'ok', latency_ms: 1 })),
  ];
  for (const b of bad) t.match(decode(b), { ok: false, code: 'invalid_field' }, JSON.stringify(b).slice(0, 60));
});

t.test('per replica: agents ok or failing; silent, starved and unknown replicas left out', async (t) => {
  const replicas = [
    { address: '10.0.0.11:53', pod: 'a', node: 'n1' },
    { address: '10.0.0.12:53', pod: 'b', node: 'n2' },
  ];
  const agent = (name: string, state: AgentVerdict['state']): AgentVerdict => ({ name, state }) as AgentVerdict;
  const q = (address: string, result: string, latencyMs: number | null) => ({ address, result, latencyMs });
  const reports: Record<string, Partial<Report>> = {
    a1: { dnsReplicas: [q('10.0.0.11:53', 'ok', 2), q('10.0.0.12:53', 'timeout', null), q('10.0.0.99:53', 'ok', 1)] },
    a2: { dnsReplicas: [q('10.0.0.11:53', 'ok', 4), q('10.0.0.12:53', 'dns_servfail', 1)] },
    a3: { dnsReplicas: [q('10.0.0.11:53', 'ok', 3)] },
    silent: { dnsReplicas: [q('10.0.0.11:53', 'timeout', null)] },
    starved: {
      dnsReplicas: [q('10.0.0.11:53', 'timeout', null)],
      integrity: { starved: true, eventLoopLagMs: 900, cpuThrottledRatio: null },
    },
    old: {},
  };
  const agents = [
    agent('a1', 'ok'),
    agent('a2', 'ok'),
    agent('a3', 'ok'),
    agent('silent', 'outdated'),
    agent('starved', 'ok'),
    agent('old', 'ok'),
  ];
  t.same(
    replicaViews(replicas, agents, (n) => reports[n] as Report),
    [
      { ok: 3, failing: 0, latencySeconds: 0.003, failingAgents: [] },
      { ok: 0, failing: 2, latencySeconds: 0.001, failingAgents: ['a1', 'a2'] },
    ],
  );
});

t.test('exporter: replicas from the DNS Service EndpointSlices, in the peers answer and the series', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'), node('n2'), node('n3'));
  const agents = ['netchecker-agent-a1', 'netchecker-agent-a2', 'netchecker-agent-a3'];
  agents.forEach((a, i) => kube.apply('pods', agentPod(a, { node: `n${i + 1}` })));
  kube.apply(
    'endpointslices',
    endpointSlice('kube-dns-x1', KUBE_DNS, [
      { ip: '10.0.0.11', pod: 'coredns-a', node: 'n1' },
      { ip: '10.0.0.12', pod: 'coredns-b', node: 'n2' },
    ]),
    // Another Service's slice in the same namespace: not a DNS replica.
    endpointSlice('metrics-server-x1', { namespace: 'kube-system', name: 'metrics-server' }, [{ ip: '10.0.0.50', pod: 'm', node: 'n1' }]),
  );
  const ex = await startTestExporter(t, discoveryArgs(kube));
  const replicasOf = async (name: string): Promise<unknown> =>
    ((await (await fetch(`${ex.url}/api/v1/peers/${name}`)).json()) as { dns_replicas?: unknown }).dns_replicas;
  for (let i = 0; i < 100 && (await replicasOf(agents[0] as string)) === undefined; i++) await new Promise((r) => setTimeout(r, 50));
  t.same(await replicasOf(agents[0] as string), ['10.0.0.11:53', '10.0.0.12:53'], 'every agent gets the replicas');
  t.same(await replicasOf('not-reported-yet'), ['10.0.0.11:53', '10.0.0.12:53']);

  // Replica b answers SERVFAIL to two agents of three; a is fine.
  for (const [i, name] of agents.entries()) {
    const b = i < 2 ? { result: 'dns_servfail', latency_ms: 1 } : { result: 'ok', latency_ms: 3 };
    const dns_replicas = [
      { address: '10.0.0.11:53', result: 'ok', latency_ms: 2 },
      { address: '10.0.0.12:53', ...b },
    ];
    t.equal((await postReport(ex.url, name, report({ nodename: `n${i + 1}`, podname: name, dns_replicas }))).status, 200);
  }
  await ex.monitor.fresh(1000);
  const text = ex.monitor.metricsText();
  const series = (labels: string): number | undefined => sample(text, `netchecker_dns_replica_agents{${labels}}`);
  t.equal(
    series('replica="10.0.0.12:53",replica_pod="coredns-b",replica_node="n2",status="failing"'),
    2,
    'the broken replica named, pod and node',
  );
  t.equal(series('replica="10.0.0.12:53",replica_pod="coredns-b",replica_node="n2",status="ok"'), 1);
  t.equal(series('replica="10.0.0.11:53",replica_pod="coredns-a",replica_node="n1",status="ok"'), 3);
  t.equal(series('replica="10.0.0.11:53",replica_pod="coredns-a",replica_node="n1",status="failing"'), 0);
  t.equal(sample(text, 'netchecker_dns_replica_latency_seconds{replica="10.0.0.11:53",replica_pod="coredns-a",replica_node="n1"}'), 0.002);
  t.notMatch(text, /10\.0\.0\.50/, "another Service's endpoints are no replicas");
  const status = (await (await fetch(`${ex.url}/api/v1/status`)).json()) as { dns_replicas: unknown };
  t.same(
    status.dns_replicas,
    [
      { replica: '10.0.0.11:53', pod: 'coredns-a', node: 'n1', ok: 3, failing: 0, latency_ms: 2, failing_agents: [] },
      { replica: '10.0.0.12:53', pod: 'coredns-b', node: 'n2', ok: 1, failing: 2, latency_ms: 1, failing_agents: agents.slice(0, 2) },
    ],
    'the status page lists each replica with the agents that fail it',
  );

  // The replica is replaced (a rollout): the old one leaves the answer and the series.
  kube.apply(
    'endpointslices',
    endpointSlice('kube-dns-x1', KUBE_DNS, [
      { ip: '10.0.0.11', pod: 'coredns-a', node: 'n1' },
      { ip: '10.0.0.13', pod: 'coredns-c', node: 'n3' },
    ]),
  );
  for (let i = 0; i < 100 && JSON.stringify(await replicasOf(agents[0] as string)).includes('10.0.0.12'); i++)
    await new Promise((r) => setTimeout(r, 50));
  t.same(await replicasOf(agents[0] as string), ['10.0.0.11:53', '10.0.0.13:53']);
  await postReport(ex.url, agents[0] as string, report({ nodename: 'n1', podname: agents[0], dns_replicas: [] }));
  await ex.monitor.fresh(1000);
  const after = ex.monitor.metricsText();
  t.notMatch(after, /10\.0\.0\.12/, 'the gone replica has no series');
  t.equal(
    sample(after, 'netchecker_dns_replica_agents{replica="10.0.0.13:53",replica_pod="coredns-c",replica_node="n3",status="ok"}'),
    0,
    'not queried yet: zero',
  );
});

t.test('exporter: more ready endpoints than an agent takes: the first 64 by address, logged once per change, counted', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  const endpoints = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ ip: `10.0.${Math.floor(i / 200)}.${i % 200}`, pod: `coredns-${i}`, node: 'n1' }));
  kube.apply('endpointslices', endpointSlice('kube-dns-x1', KUBE_DNS, endpoints(66)));
  const ex = await startTestExporter(t, discoveryArgs(kube));
  const replicasOf = async (): Promise<string[] | undefined> =>
    ((await (await fetch(`${ex.url}/api/v1/peers/agent-x`)).json()) as { dns_replicas?: string[] }).dns_replicas;
  for (let i = 0; i < 100 && (await replicasOf()) === undefined; i++) await new Promise((r) => setTimeout(r, 50));
  const sorted = endpoints(66)
    .map((e) => `${e.ip}:53`)
    .sort();
  t.same(await replicasOf(), sorted.slice(0, 64), 'the first 64 by address handed out');
  const cuts = () => ex.logs.filter((l) => l.msg === 'more DNS replicas than agents take: the first by address are handed out');
  t.match(cuts(), [{ level: 'warn', known: 66, handedOut: 64, firstLeftOut: sorted.slice(64) }], 'logged once');
  const scrape = async () => (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(await scrape(), 'netchecker_dns_replicas{status="handed_out"}'), 64);
  t.equal(sample(await scrape(), 'netchecker_dns_replicas{status="left_out"}'), 2, 'the replicas left out, counted');

  // The same slices again (a resync): no new log line. One more endpoint: one more.
  kube.apply('endpointslices', endpointSlice('kube-dns-x1', KUBE_DNS, endpoints(66)));
  kube.apply('endpointslices', endpointSlice('kube-dns-x1', KUBE_DNS, endpoints(67)));
  for (let i = 0; i < 100 && cuts().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  t.match(cuts(), [{ known: 66 }, { known: 67, handedOut: 64 }], 'once per change');
  t.equal(sample(await scrape(), 'netchecker_dns_replicas{status="left_out"}'), 3);

  // Back under the cap: every replica handed out, said once.
  kube.apply('endpointslices', endpointSlice('kube-dns-x1', KUBE_DNS, endpoints(3)));
  for (let i = 0; i < 100 && (await replicasOf())?.length !== 3; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal((await replicasOf())?.length, 3);
  t.match(
    ex.logs.filter((l) => l.msg === 'every DNS replica is handed out again'),
    [{ level: 'info', known: 3 }],
  );
  t.equal(sample(await scrape(), 'netchecker_dns_replicas{status="left_out"}'), 0);
  t.equal(sample(await scrape(), 'netchecker_dns_replicas{status="handed_out"}'), 3);
  t.equal(cuts().length, 2, 'no cut logged under the cap');
});

t.test('exporter: without RBAC for EndpointSlices it stays ready and hands out no replicas', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  kube.forbid('endpointslices');
  const ex = await startTestExporter(t, discoveryArgs(kube));
  for (let i = 0; i < 100 && (await fetch(`${ex.url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal((await fetch(`${ex.url}/readyz`)).status, 200, 'ready: replicas are extra evidence');
  t.same(await (await fetch(`${ex.url}/api/v1/peers/netchecker-agent-a1`)).json(), { peers: [] }, 'no dns_replicas key');
  for (let i = 0; i < 100 && !ex.logs.some((l) => l.msg === 'kubernetes API denies access'); i++)
    await new Promise((r) => setTimeout(r, 50));
  t.match(
    ex.logs.find((l) => l.msg === 'kubernetes API denies access'),
    { resource: 'endpointslices', error: /needs list and watch on endpointslices.discovery.k8s.io in namespace kube-system/ },
    'the log says which RBAC is missing',
  );
  t.notMatch(ex.monitor.metricsText(), /netchecker_dns_replica/, 'no replica series');
  const scraped = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(scraped, 'netchecker_dns_replicas{status="handed_out"}'), 0, 'the Service is watched: none known, none handed out');
});

t.test('exporter: a static list (--dns-replicas) without Kubernetes', async (t) => {
  const ex = await startTestExporter(t, ['--dns-replicas', '127.0.0.1:5353=coredns-a@n1,127.0.0.2']);
  t.same(await (await fetch(`${ex.url}/api/v1/peers/agent-x`)).json(), { peers: [], dns_replicas: ['127.0.0.1:5353', '127.0.0.2:53'] });
  await postReport(
    ex.url,
    'agent-x',
    report({ podname: 'agent-x', dns_replicas: [{ address: '127.0.0.2:53', result: 'timeout', latency_ms: null }] }),
  );
  await ex.monitor.fresh(1000);
  t.equal(
    sample(
      ex.monitor.metricsText(),
      'netchecker_dns_replica_agents{replica="127.0.0.2:53",replica_pod="",replica_node="",status="failing"}',
    ),
    1,
  );
  const scraped = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(scraped, 'netchecker_dns_replicas{status="handed_out"}'), 2);
  t.equal(sample(scraped, 'netchecker_dns_replicas{status="left_out"}'), 0);
  const none = await startTestExporter(t);
  t.same(await (await fetch(`${none.url}/api/v1/peers/agent-x`)).json(), { peers: [] }, 'no list, no Kubernetes: no replicas');
  t.notMatch(none.monitor.metricsText(), /netchecker_dns_replica/);
  t.notMatch(await (await fetch(`${none.url}/metrics`)).text(), /^netchecker_dns_replicas\{/m, 'no replica source: no count either');
});

t.test('agent: only replicas of a family it has an address in are queried (loopback ones always)', async (t) => {
  const list = ['10.96.0.10:53', '[fd00:10::a]:53', '127.0.0.2:53', '[::1]:5353'];
  const cases: Array<[string, readonly string[], string[]]> = [
    ['dual-stack', ['ipv4', 'ipv6'], list],
    ['IPv4 only: the IPv6 endpoint would only fail', ['ipv4'], ['10.96.0.10:53', '127.0.0.2:53', '[::1]:5353']],
    ['IPv6 only', ['ipv6'], ['[fd00:10::a]:53', '127.0.0.2:53', '[::1]:5353']],
  ];
  for (const [what, families, want] of cases)
    t.same(
      replicasInReach(list, (f) => families.includes(f)),
      want,
      what,
    );
});

t.test('agent: each handed-out replica queried directly, a stopped one a timeout', async (t) => {
  const records: Array<[string, string]> = [['netchecker-service.netchecker.svc.cluster.local', '10.96.0.20']];
  const a = await startDnsmasq(t, { address: '127.0.0.1', port: 0, records });
  const b = await startDnsmasq(t, { address: '127.0.0.1', port: 0, records });
  await b.stop();
  const out = await probeDnsReplicas([a.server, b.server], records[0]?.[0] as string, { timeoutMs: 300 });
  t.match(out, [
    { address: a.server, result: 'ok', latency_ms: Number },
    { address: b.server, result: 'timeout', latency_ms: null },
  ]);

  const config = { probes: { dns: { servers: [a.server], names: [records[0]?.[0]] } } } as unknown as ProbeSettings;
  const assigned = { peers: [], dnsReplicas: [] as string[] };
  const probe = await dnsReplicasProbe({ config, log: createLogger('error', {}, () => {}), assigned });
  t.ok(probe, 'on while DNS probes are');
  t.same(await probe?.round({ timeoutMs: 300, signal: new AbortController().signal }), {}, 'no replicas handed out: no field');
  assigned.dnsReplicas = [a.server];
  t.match(await probe?.round({ timeoutMs: 300, signal: new AbortController().signal }), {
    dns_replicas: [{ address: a.server, result: 'ok' }],
  });
  const off = { probes: { dns: null } } as unknown as ProbeSettings;
  t.equal(await dnsReplicasProbe({ config: off, log: createLogger('error', {}, () => {}), assigned }), null, 'off without DNS probes');
});

t.test('agent without --listen: it fetches the replica list itself and queries each replica', async (t) => {
  const name = 'kubernetes.default.svc.cluster.local';
  const up = await startDnsmasq(t, { address: '127.0.0.1', port: 0, records: [[name, '10.96.0.1']] });
  const down = await startDnsmasq(t, { address: '127.0.0.1', port: 0, records: [[name, '10.96.0.1']] });
  await down.stop();
  const ex = await startTestExporter(t, ['--dns-replicas', `${up.server}=coredns-a@n1,${down.server}=coredns-b@n2`]);
  const agent = 'netchecker-agent-nolisten';
  const interval = 1;
  spawnCli(t, [
    'agent',
    ...['--server', ex.url, '--name', agent, '--node', 'n1', '--interval', String(interval)],
    ...['--dns-server', up.server, '--dns-names', name, '--no-icmp', '--mtu-sizes', '', '--log-level', 'warn'],
  ]);
  const replica = (server: string, pod: string, node: string, status: string) =>
    `netchecker_dns_replica_agents{replica="${server}",replica_pod="${pod}",replica_node="${node}",status="${status}"}`;
  // The list arrives with the first round, the queries go out in the next: a few intervals; the bound only catches a hang.
  const text = await eventually(
    async () => {
      const m = (await ex.monitor.fresh(1000), ex.monitor.metricsText());
      return sample(m, replica(down.server, 'coredns-b', 'n2', 'failing')) === 1 ? m : undefined;
    },
    60_000,
    'the agent to report its queries to both replicas',
  );
  t.equal(sample(text, replica(up.server, 'coredns-a', 'n1', 'ok')), 1, 'the replica that answers: ok');
  t.equal(sample(text, replica(down.server, 'coredns-b', 'n2', 'failing')), 1, 'the stopped one: failing');
  const stored = await fetch(`${ex.url}/api/v1/agents/${agent}`);
  t.equal(stored.status, 200);
  t.notMatch(await stored.text(), /"listen"/, 'no listener: no peer probes, only the replica list');
});
