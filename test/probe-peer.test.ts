// Peer probe against a real listener on loopback: ok with an RTT, a closed port is refused and all
// attempts lost; the peer list from the exporter is validated like any other input.
import net from 'node:net';
import t from 'tap';
import { startListener } from '../agent/listener.js';
import { fetchPeers, parsePeers, probePeer } from '../agent/probes/peer.js';
import { report, postReport, startTestExporter } from './helpers/exporter.js';

t.test('a live listener answers, a closed port is refused', async (t) => {
  const listener = await startListener('127.0.0.1', 0);
  t.teardown(() => listener.close());
  const peer = { name: 'agent-b', node: 'node-b', network: 'host' as const, address: `127.0.0.1:${listener.port}` };
  const ok = await probePeer(peer, { timeoutMs: 1000, attempts: 3 });
  t.match(ok, { name: 'agent-b', node: 'node-b', network: 'host', result: 'ok', sent: 3, lost: 0 });
  t.ok(ok.rttMs !== null && ok.rttMs > 0 && ok.rttMs < 1000, 'RTT measured');
  const res = await fetch(`http://127.0.0.1:${listener.port}/other`);
  t.equal(res.status, 404, 'the listener serves nothing but /');

  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const refused = await probePeer({ ...peer, address: `127.0.0.1:${port}` }, { timeoutMs: 1000, attempts: 2 });
  t.match(refused, { result: 'refused', sent: 2, lost: 2, rttMs: null });
});

t.test('the peer list is validated', async (t) => {
  const good = { name: 'agent-a', node: 'n', network: 'pod', address: '198.18.0.1:8090' };
  t.same(parsePeers({ peers: [good] }), [good]);
  t.same(parsePeers({ peers: [] }), []);
  for (const bad of [null, [], { peers: 'x' }, { peers: [{ ...good, network: 'wifi' }] }, { peers: [{ ...good, name: 'Bad/Name' }] }, { peers: [{ ...good, address: 'x' }] }, { peers: [{ ...good, address: 'h:0' }] }, { peers: [{ ...good, address: 'example.com:80' }] }, { peers: [{ ...good, address: '[fd00::1]' }] }, { peers: Array(257).fill(good) }]) {
    t.equal(parsePeers(bad), null, JSON.stringify(bad).slice(0, 60));
  }
});

t.test('fetchPeers asks the exporter', async (t) => {
  const ex = await startTestExporter(t, ['--peer-cidrs', '198.18.0.0/15']);
  await postReport(ex.url, 'agent-a', report({ nodename: 'n1', network: 'pod', listen: '198.18.0.1:8090' }));
  await postReport(ex.url, 'agent-b', report({ nodename: 'n2', network: 'host', listen: '198.18.0.2:8090' }));
  t.same(await fetchPeers(ex.url, 'agent-a', 1000), [{ name: 'agent-b', node: 'n2', network: 'host', address: '198.18.0.2:8090' }]);
  t.equal(await fetchPeers('http://127.0.0.1:1', 'agent-a', 500), null, 'exporter unreachable: null, no throw');
});
