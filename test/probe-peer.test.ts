// Peer probe against a real listener on loopback: ok with an RTT, a closed port is refused and all
// attempts lost; the peer list from the exporter is validated like any other input; a peer the
// exporter withdraws is dropped from the round, never reported as unreachable.
import net from 'node:net';
import t from 'tap';
import { parseAgentConfig } from '../agent/config.js';
import { startListener } from '../agent/listener.js';
import { assignedOnly, fetchPeers, type PeerOutcome, probePeer } from '../agent/probes/peer.js';
import { parsePeersAnswer, type Peer } from '../report/answers.js';
import { ProbeRound } from '../agent/probes/round.js';
import { createLogger } from '../lib/log.js';
import { startFakeExporter } from './helpers/agent-server.js';
import { report, postReport, startTestExporter } from './helpers/exporter.js';

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

t.test('a live listener answers, a closed port is refused', async (t) => {
  const listener = await startListener('127.0.0.1', 0);
  t.teardown(() => listener.close());
  const peer = { name: 'agent-b', node: 'node-b', network: 'host' as const, address: `127.0.0.1:${listener.port}` };
  const ok = await probePeer(peer, { timeoutMs: 1000, attempts: 3 });
  t.match(ok, { name: 'agent-b', node: 'node-b', network: 'host', result: 'ok', sent: 3, lost: 0 });
  t.ok(ok.rttMs !== null && ok.rttMs > 0 && ok.rttMs < 1000, 'RTT measured');
  const res = await fetch(`http://127.0.0.1:${listener.port}/other`);
  t.equal(res.status, 404, 'the listener serves nothing but /');

  const port = await closedPort();
  const refused = await probePeer({ ...peer, address: `127.0.0.1:${port}` }, { timeoutMs: 1000, attempts: 2 });
  t.match(refused, { result: 'refused', sent: 2, lost: 2, rttMs: null });
});

t.test('the peer list is validated', async (t) => {
  const good = { name: 'agent-a', node: 'n', network: 'pod', address: '198.18.0.1:8090' };
  t.same(parsePeersAnswer({ peers: [good] }), [good]);
  t.same(parsePeersAnswer({ peers: [] }), []);
  for (const bad of [
    null,
    [],
    { peers: 'x' },
    { peers: [{ ...good, network: 'wifi' }] },
    { peers: [{ ...good, name: 'Bad/Name' }] },
    { peers: [{ ...good, address: 'x' }] },
    { peers: [{ ...good, address: 'h:0' }] },
    { peers: [{ ...good, address: 'example.com:80' }] },
    { peers: [{ ...good, address: '[fd00::1]' }] },
    { peers: Array(257).fill(good) },
  ]) {
    t.equal(parsePeersAnswer(bad), null, JSON.stringify(bad).slice(0, 60));
  }
});

t.test('fetchPeers asks the exporter', async (t) => {
  const ex = await startTestExporter(t, ['--peer-cidrs', '198.18.0.0/15', '--dns-replicas', '10.0.0.11']);
  await postReport(ex.url, 'agent-a', report({ nodename: 'n1', network: 'pod', listen: '198.18.0.1:8090' }));
  await postReport(ex.url, 'agent-b', report({ nodename: 'n2', network: 'host', listen: '198.18.0.2:8090' }));
  t.same(await fetchPeers(ex.url, 'agent-a', { timeoutMs: 1000 }), {
    peers: [{ name: 'agent-b', node: 'n2', network: 'host', address: '198.18.0.2:8090' }],
    dnsReplicas: ['10.0.0.11:53'],
  });
  t.equal(await fetchPeers('http://127.0.0.1:1', 'agent-a', { timeoutMs: 500 }), null, 'exporter unreachable: null, no throw');
});

t.test('only results of peers the fresh list still assigns, at the same address, are kept', async (t) => {
  const peer = (name: string, address: string): Peer => ({ name, node: `node-${name}`, network: 'pod', address });
  const outcome = (p: Peer): PeerOutcome => ({
    name: p.name,
    node: p.node,
    network: p.network,
    result: 'refused',
    sent: 1,
    lost: 1,
    rttMs: null,
  });
  const a = peer('agent-a', '10.0.0.1:8090');
  const b = peer('agent-b', '10.0.0.2:8090');
  const probed = [a, b];
  // [fresh list, names kept]
  const table: Array<[Peer[] | null, string[]]> = [
    [
      [a, b],
      ['agent-a', 'agent-b'],
    ],
    [[a], ['agent-a']], // b withdrawn
    [[], []],
    [[a, peer('agent-b', '10.0.0.9:8090')], ['agent-a']], // b moved: the probe went to its old address
    [
      [b, a, peer('agent-c', '10.0.0.3:8090')],
      ['agent-a', 'agent-b'],
    ], // a new peer: probed next round
    [null, ['agent-a', 'agent-b']], // the exporter did not answer: nothing is known to be withdrawn
  ];
  for (const [fresh, want] of table)
    t.same(
      assignedOnly(probed.map(outcome), probed, fresh).map((o) => o.name),
      want,
      JSON.stringify(fresh?.map((p) => p.address)),
    );
});

t.test('a withdrawn peer is dropped from the round, a still assigned dead peer is reported', async (t) => {
  const live = await startListener('127.0.0.1', 0);
  t.teardown(() => live.close());
  const peer = (name: string, port: number): Peer => ({ name, node: `node-${name}`, network: 'pod', address: `127.0.0.1:${port}` });
  const a = peer('agent-b', live.port);
  const dead = peer('agent-c', await closedPort());
  const withdrawn = peer('agent-d', await closedPort());
  // The lists the exporter hands out, one per round: then agent-d is withdrawn, then no answer.
  const lists = [[a, dead, withdrawn], [a, dead], undefined];
  const fake = await startFakeExporter({ peers: (i) => (lists[i] === undefined ? undefined : { peers: lists[i] }) });
  t.teardown(() => fake.close());
  const parsed = parseAgentConfig(
    ['--server', fake.url, '--name', 'agent-a', '--interval', '2', '--listen', '127.0.0.1:0', '--no-icmp', '--peer-attempts', '2'],
    {},
  );
  if (!parsed.ok || parsed.help) throw new Error('config');
  const extras = await ProbeRound.start(parsed.config, createLogger('error'));
  t.teardown(() => extras.stop());
  const names = async (): Promise<Array<[string, string]>> => ((await extras.collect()).peers ?? []).map((p) => [p.name, p.result]);

  t.same(await names(), [], 'round 0: no peers yet; fetches [b, c, d]');
  t.same(
    await names(),
    [
      ['agent-b', 'ok'],
      ['agent-c', 'refused'],
    ],
    'round 1: d was withdrawn while probed: dropped, not refused; c still assigned: refused',
  );
  t.same(
    await names(),
    [
      ['agent-b', 'ok'],
      ['agent-c', 'refused'],
    ],
    'round 2: the exporter does not answer: the last list stays, every result kept',
  );
});
