// GET /api/v1/peers/{name}: agents learn their peers from the exporter, never from Kubernetes.
import t from 'tap';
import { report, postReport, startTestExporter, originalReports } from './helpers/exporter.js';

t.test('peers are handed out from the stored reports that have a listener', async (t) => {
  // The listeners are not on the reports' source address (loopback): --peer-cidrs vouches for them.
  const ex = await startTestExporter(t, ['--mesh-peers', '2', '--peer-cidrs', '198.18.0.0/15']);
  const nodes = ['n1', 'n2', 'n3'];
  for (const [i, node] of nodes.entries()) {
    for (const network of ['pod', 'host']) {
      const name = `agent-${network}-${node}`;
      const res = await postReport(ex.url, name, report({ nodename: node, network, listen: `198.18.0.${i + 10}:${network === 'pod' ? 8090 : 8091}` }));
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
  const all = await Promise.all(nodes.flatMap((n) => ['pod', 'host'].map(async (w) => ((await (await fetch(`${ex.url}/api/v1/peers/agent-${w}-${n}`)).json()) as { peers: Array<{ network: string }> }).peers.map((p) => `${w}->${p.network}`))));
  t.same(new Set(all.flat()), new Set(['pod->pod', 'pod->host', 'host->pod', 'host->host']), 'all four paths covered');

  t.same(await (await fetch(`${ex.url}/api/v1/peers/agent-not-yet`)).json(), { peers: [] }, 'an agent not stored yet has no peers yet');
  const bad = await fetch(`${ex.url}/api/v1/peers/Bad_Name`);
  t.equal(bad.status, 400);
  t.match(await bad.json(), { error: 'invalid_agent_name' });
  t.equal((await fetch(`${ex.url}/api/v1/peers/agent-pod-n1?x=1`)).status, 400, 'no query parameters');
  t.equal((await fetch(`${ex.url}/api/v1/peers/agent-pod-n1`, { method: 'POST' })).status, 405);
});

t.test('--mesh-peers is validated at start', async (t) => {
  await t.rejects(startTestExporter(t, ['--mesh-peers', '1']), /--mesh-peers must be an integer from 2 to 256/);
  await t.rejects(startTestExporter(t, ['--mesh-peers', '2.5']), /--mesh-peers/);
});
