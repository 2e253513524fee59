// GET /api/v1/peers/{name}: agents learn their peers from the exporter, never from Kubernetes.
import t from 'tap';
import { FakeClock, report, postReport, startTestExporter, originalReports } from './helpers/exporter.js';

t.test('peers are handed out from the stored reports that have a listener', async (t) => {
  // The listeners are not on the reports' source address (loopback): --peer-cidrs vouches for them.
  const ex = await startTestExporter(t, ['--mesh-peers', '2', '--peer-cidrs', '198.18.0.0/15']);
  const nodes = ['n1', 'n2', 'n3'];
  for (const [i, node] of nodes.entries()) {
    for (const network of ['pod', 'host']) {
      const name = `agent-${network}-${node}`;
      const res = await postReport(
        ex.url,
        name,
        report({ nodename: node, network, listen: `198.18.0.${i + 10}:${network === 'pod' ? 8090 : 8091}` }),
      );
      t.equal(res.status, 200);
      t.equal(await res.text(), '', 'report answer stays empty');
    }
  }
  for (const { name, body } of originalReports()) await postReport(ex.url, name, body);

  const res = await fetch(`${ex.url}/api/v1/peers/agent-pod-n1`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /application\/json/);
  const { peers } = (await res.json()) as { peers: Array<{ name: string; node: string; network: string; address: string }> };
  t.equal(peers.length, 2, '--mesh-peers 2');
  for (const p of peers) {
    t.match(p.name, /^agent-(pod|host)-n\d$/, 'only agents with a listener (not the original agents)');
    t.not(p.name, 'agent-pod-n1');
    t.match(p.address, /^198\.18\.0\.1\d:809[01]$/);
  }
  const all = await Promise.all(
    nodes.flatMap((n) =>
      ['pod', 'host'].map(async (w) =>
        ((await (await fetch(`${ex.url}/api/v1/peers/agent-${w}-${n}`)).json()) as { peers: Array<{ network: string }> }).peers.map(
          (p) => `${w}->${p.network}`,
        ),
      ),
    ),
  );
  t.same(new Set(all.flat()), new Set(['pod->pod', 'pod->host', 'host->pod', 'host->host']), 'all four paths covered');

  t.same(await (await fetch(`${ex.url}/api/v1/peers/agent-not-yet`)).json(), { peers: [] }, 'an agent not stored yet has no peers yet');
  const bad = await fetch(`${ex.url}/api/v1/peers/Bad_Name`);
  t.equal(bad.status, 400);
  t.match(await bad.json(), { error: 'invalid_agent_name' });
  t.equal((await fetch(`${ex.url}/api/v1/peers/agent-pod-n1?x=1`)).status, 400, 'no query parameters');
  t.equal((await fetch(`${ex.url}/api/v1/peers/agent-pod-n1`, { method: 'POST' })).status, 405);
});

t.test('a dual-stack peer is handed out with its address per family, only when each is bound', async (t) => {
  const ex = await startTestExporter(t, ['--mesh-peers', '2', '--peer-cidrs', '198.18.0.0/15,fd00:18::/64']);
  const byFamily = (i: number): Record<string, string> => ({ ipv4: `198.18.0.${i}:8090`, ipv6: `[fd00:18::${i}]:8090` });
  const sent = [
    ['agent-pod-n1', report({ nodename: 'n1', network: 'pod', listen: '198.18.0.1:8090', listen_by_family: byFamily(1) })],
    ['agent-pod-n2', report({ nodename: 'n2', network: 'pod', listen: '198.18.0.2:8090', listen_by_family: byFamily(2) })],
    // Its IPv6 address is outside --peer-cidrs: handed out with its IPv4 `listen` alone.
    [
      'agent-pod-n3',
      report({
        nodename: 'n3',
        network: 'pod',
        listen: '198.18.0.3:8090',
        listen_by_family: { ...byFamily(3), ipv6: '[fd00:99::3]:8090' },
      }),
    ],
  ] as const;
  for (const [name, body] of sent) t.equal((await postReport(ex.url, name, body)).status, 200, name);
  const { peers } = (await (await fetch(`${ex.url}/api/v1/peers/agent-pod-n1`)).json()) as {
    peers: Array<{ name: string; address: string; address_by_family?: Record<string, string> }>;
  };
  t.same(
    Object.fromEntries(peers.map((p) => [p.name, p.address_by_family ?? null])),
    { 'agent-pod-n2': byFamily(2), 'agent-pod-n3': null },
    'per family where bound, else the single address as before',
  );
  const bad = await postReport(
    ex.url,
    'agent-pod-n4',
    report({ nodename: 'n4', network: 'pod', listen_by_family: { ipv4: 'node-4:8090' } }),
  );
  t.equal(bad.status, 400, 'a host name per family is refused like in listen');
});

t.test(
  'only agents that are ok are peers: a dead agent leaves every assignment within a second of its verdict, a late one still probes',
  async (t) => {
    const clock = new FakeClock();
    const ex = await startTestExporter(t, ['--mesh-peers', '4', '--peer-cidrs', '198.18.0.0/15'], clock);
    const names = ['agent-pod-n1', 'agent-pod-n2', 'agent-pod-n3', 'agent-pod-n4'];
    const send = (name: string, i: number): Promise<Response> =>
      postReport(ex.url, name, report({ nodename: `n${i + 1}`, network: 'pod', report_interval: 1, listen: `198.18.0.${i + 10}:8090` }));
    const peersOf = async (name: string): Promise<string[]> =>
      ((await (await fetch(`${ex.url}/api/v1/peers/${name}`)).json()) as { peers: Array<{ name: string }> }).peers
        .map((p) => p.name)
        .sort();
    for (const [i, name] of names.entries()) await send(name, i);
    t.same(await peersOf('agent-pod-n1'), ['agent-pod-n2', 'agent-pod-n3', 'agent-pod-n4'], 'everybody while all are ok');

    // agent-pod-n4 dies: silent past 2 x its 1 s interval, it is outdated; the others keep reporting.
    for (let step = 0; step < 3; step++) {
      clock.advance(1);
      for (const [i, name] of names.slice(0, 3).entries()) await send(name, i);
    }
    const check = (await (await fetch(`${ex.url}/api/v1/connectivity_check`)).json()) as { Outdated: string[] };
    t.same(check.Outdated, ['agent-pod-n4'], 'the verdict says it');
    for (const name of names.slice(0, 3)) t.notOk((await peersOf(name)).includes('agent-pod-n4'), `not a peer of ${name} any more`);
    t.same(await peersOf('agent-pod-n1'), ['agent-pod-n2', 'agent-pod-n3']);
    t.same(
      await peersOf('agent-pod-n4'),
      ['agent-pod-n1', 'agent-pod-n2', 'agent-pod-n3'],
      'it may still probe the others if it asks (its reports may be late, not lost)',
    );

    await send('agent-pod-n4', 3);
    clock.advance(1);
    t.same(await peersOf('agent-pod-n1'), ['agent-pod-n2', 'agent-pod-n3', 'agent-pod-n4'], 'back once it reports again');
  },
);

t.test('--mesh-peers is validated at start', async (t) => {
  await t.rejects(startTestExporter(t, ['--mesh-peers', '1']), /--mesh-peers must be an integer from 2 to 256/);
  await t.rejects(startTestExporter(t, ['--mesh-peers', '2.5']), /--mesh-peers/);
});
