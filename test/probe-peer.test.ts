// Peer probe against a real listener on loopback: ok with an RTT, a closed port is refused and all
// attempts lost; the peer list from the exporter is validated like any other input; a peer the
// exporter withdraws is dropped from the round, never reported as unreachable. Dual-stack: the
// listener binds both families, and two dual-stack agents probe each other once per family.
import t from 'tap';
import { parseAgentConfig } from '../agent/config.js';
import { startListener } from '../agent/listener.js';
import { pingFamilies } from '../agent/probes/exporter.js';
import { probeHttp } from '../agent/probes/http.js';
import { assignedOnly, fetchPeers, listenByFamily, type PeerOutcome, peerTargets, probePeer } from '../agent/probes/peer.js';
import { parsePeersAnswer, type Peer } from '../report/answers.js';
import { ProbeRound } from '../agent/probes/round.js';
import { createLogger } from '../lib/log.js';
import { startFakeExporter } from './helpers/agent-server.js';
import { freePort } from './helpers/ports.js';
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

  const port = await freePort();
  const refused = await probePeer({ ...peer, address: `127.0.0.1:${port}` }, { timeoutMs: 1000, attempts: 2 });
  t.match(refused, { result: 'refused', sent: 2, lost: 2, rttMs: null });
});

t.test('the peer list is validated', async (t) => {
  const good = { name: 'agent-a', node: 'n', network: 'pod', address: '198.18.0.1:8090' };
  t.same(parsePeersAnswer({ peers: [good] }), [good]);
  t.same(parsePeersAnswer({ peers: [] }), []);
  const dual = { ...good, address_by_family: { ipv4: '198.18.0.1:8090', ipv6: '[fd00::1]:8090' } };
  t.same(parsePeersAnswer({ peers: [dual] }), [dual], 'a dual-stack peer keeps its address per family');
  t.same(parsePeersAnswer({ peers: [{ ...good, address_by_family: null }] }), [good], 'null: not sent');
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
    { peers: [{ ...good, address_by_family: { ipv4: '[fd00::1]:8090' } }] },
    { peers: [{ ...good, address_by_family: { ipv6: '198.18.0.1:8090' } }] },
    { peers: [{ ...good, address_by_family: { ipv5: '198.18.0.1:8090' } }] },
    { peers: [{ ...good, address_by_family: {} }] },
    { peers: [{ ...good, address_by_family: ['198.18.0.1:8090'] }] },
    { peers: [{ ...good, address_by_family: { ipv6: 'example.com:80' } }] },
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
  const dead = peer('agent-c', await freePort());
  const withdrawn = peer('agent-d', await freePort());
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

t.test('which families a peer is probed over', async (t) => {
  const v4 = { name: 'agent-v4', node: 'n1', network: 'pod' as const, address: '10.0.0.1:8090' };
  const dual: Peer = { ...v4, name: 'agent-dual', address_by_family: { ipv4: '10.0.0.2:8090', ipv6: '[fd00::2]:8090' } };
  const half: Peer = { ...v4, name: 'agent-half', address_by_family: { ipv6: '[fd00::3]:8090' } };
  const ownDual = { ipv4: '10.0.0.9:8090', ipv6: '[fd00::9]:8090' };
  // [own addresses per family, peers, expected (peer, family) pairs]
  const table: Array<[Record<string, string> | null, Peer[], Array<[string, string | null]>]> = [
    [
      null,
      [v4, dual],
      [
        ['agent-v4', null],
        ['agent-dual', null],
      ],
    ], // a single-stack agent probes each peer once, as before
    [ownDual, [v4], [['agent-v4', null]]], // a single-stack peer: once, at its address
    [
      ownDual,
      [dual],
      [
        ['agent-dual', 'ipv4'],
        ['agent-dual', 'ipv6'],
      ],
    ],
    [ownDual, [half], [['agent-half', null]]], // a single family: not dual-stack
    [{ ipv4: '10.0.0.9:8090' }, [dual], [['agent-dual', null]]],
  ];
  for (const [own, peers, want] of table)
    t.same(
      peerTargets(peers, own).map((x) => [x.peer.name, x.family]),
      want,
      `${JSON.stringify(own)} ${peers.map((p) => p.name).join(',')}`,
    );
  t.same(listenByFamily(['10.0.0.9', 'fd00::9'], 8090), ownDual);
  t.same(listenByFamily(['fd00::9', '10.0.0.9'], 8090), ownDual, 'either order');
  t.equal(listenByFamily(['10.0.0.9'], 8090), null, 'single-stack: nothing per family');
  t.equal(listenByFamily([], 8090), null);
});

t.test('the listener binds both families; a dual-stack peer is probed over each', async (t) => {
  const listener = await startListener('0.0.0.0', 0);
  t.teardown(() => listener.close());
  t.equal(listener.dualStack, true, 'an unspecified host binds :: (both families)');
  const port = await freePort();
  const peer: Peer = {
    name: 'agent-b',
    node: 'node-b',
    network: 'pod',
    address: `127.0.0.1:${listener.port}`,
    address_by_family: { ipv4: `127.0.0.1:${listener.port}`, ipv6: `[::1]:${listener.port}` },
  };
  const opts = { timeoutMs: 1000, attempts: 2 };
  t.match(await probePeer(peer, opts, 'ipv4'), { result: 'ok', lost: 0, family: 'ipv4' }, 'IPv4 answered');
  t.match(await probePeer(peer, opts, 'ipv6'), { result: 'ok', lost: 0, family: 'ipv6' }, 'IPv6 answered by the same listener');
  const broken = { ...peer, address_by_family: { ipv4: `127.0.0.1:${listener.port}`, ipv6: `[::1]:${port}` } };
  t.match(await probePeer(broken, opts, 'ipv6'), { result: 'refused', lost: 2, family: 'ipv6' }, 'the broken family fails alone');
  t.match(await probePeer(broken, opts, 'ipv4'), { result: 'ok', family: 'ipv4' });
  t.notOk('family' in (await probePeer(peer, opts)), 'probed once: no family');
  const v4only = await startListener('127.0.0.1', 0);
  t.teardown(() => v4only.close());
  t.equal(v4only.dualStack, false, 'a given address binds that address only');
});

t.test('the exporter is pinged per family only by a dual-stack agent, when its name has both', async (t) => {
  // [dual-stack agent, addresses of the server name, families pinged]
  const table: Array<[boolean, string[], string[]]> = [
    [true, ['198.18.0.2', 'fd00:18::2'], ['ipv4', 'ipv6']],
    [true, ['198.18.0.2'], []],
    [true, ['fd00:18::2'], []],
    [true, [], []], // the lookup failed
    [false, ['198.18.0.2', 'fd00:18::2'], []],
  ];
  for (const [dual, addresses, want] of table) t.same(pingFamilies(dual, addresses), want, `${dual} ${addresses.join(',')}`);
  // probeHttp over one family (a name is resolved in that family only), against a listener on both.
  const listener = await startListener('::', 0);
  t.teardown(() => listener.close());
  for (const [family, host] of [
    [4, '127.0.0.1'],
    [6, '[::1]'],
  ] as const)
    t.match(await probeHttp(`http://${host}:${listener.port}/`, { timeoutMs: 1000, family }), { result: 'ok' }, `IPv${family}`);
  t.match(await probeHttp(`http://localhost:${listener.port}/`, { timeoutMs: 1000, family: 4 }), { result: 'ok' }, 'a name, over IPv4');
});
