// GET /api/v1/status (what the status page reads) and the page's files and headers, over HTTP
// against a real exporter with an injected clock. The page in a real browser: status-page.test.ts.
import t from 'tap';
import { TransitionRing } from '../exporter/status/transitions.js';
import { FakeClock, postReport, report, startTestExporter } from './helpers/exporter.js';

interface Status {
  check: { http_status: number; Message?: string; Absent?: string[] | null; Outdated?: string[] | null; error?: string };
  counts: Record<string, number>;
  failing: Array<{ name: string; state: string; reason: string }>;
  nodes: Array<{ node: string; agents: Array<Record<string, unknown>> }>;
  mesh: { nodes: string[]; paths: string[]; results: string[]; links: Array<Array<number | null>> };
  transitions: Array<{ agent: string; from: string; to: string; reason: string; at: string }>;
}

const peer = (name: string, node: string, network: string, result: string, rtt: number | null, lost = 0) => ({
  name,
  node,
  network,
  result,
  sent: 3,
  lost,
  rtt_ms: rtt,
});

t.test('status: the verdict as connectivity_check, nodes, mesh per path, state changes', async (t) => {
  const clock = new FakeClock();
  const ex = await startTestExporter(t, ['--expect', 'agent-a,agent-hostnet-a,agent-b,agent-c', '--startup-grace', '10'], clock);
  await postReport(
    ex.url,
    'agent-a',
    report({
      nodename: 'node-a',
      report_interval: 2,
      dns: [
        { server: '10.0.0.10', name: 'kubernetes.default', result: 'ok', latency_ms: 1.5 },
        { server: '10.0.0.10', name: 'x.example', result: 'servfail', latency_ms: 3 },
      ],
      path_mtu: { exporter: 1500, peers: 1450 },
      peers: [peer('agent-b', 'node-b', 'pod', 'ok', 1.23456), peer('agent-hostnet-a', 'node-a', 'host', 'timeout', null, 3)],
    }),
  );
  await postReport(
    ex.url,
    'agent-hostnet-a',
    report({ nodename: 'node-a', network: 'host', report_interval: 2, peers: [peer('agent-b', 'node-b', 'pod', 'ok', 40, 1)] }),
  );
  await postReport(ex.url, 'agent-b', report({ nodename: 'node-b', report_interval: 2 }));
  await fetch(`${ex.url}/api/v1/status`); // a verdict with them ok and agent-c starting: the changes below are from it
  clock.advance(11); // past the grace: agent-c absent; the others outdated
  await postReport(
    ex.url,
    'agent-a',
    report({ nodename: 'node-a', report_interval: 2, peers: [peer('agent-b', 'node-b', 'pod', 'ok', 1.23456)] }),
  );
  await postReport(
    ex.url,
    'agent-hostnet-a',
    report({ nodename: 'node-a', network: 'host', report_interval: 2, peers: [peer('agent-b', 'node-b', 'pod', 'ok', 40, 1)] }),
  );

  const check = await fetch(`${ex.url}/api/v1/connectivity_check`);
  const compat = (await check.json()) as { Message: string; Absent: string[]; Outdated: string[] };
  const res = await fetch(`${ex.url}/api/v1/status`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'application/json');
  t.equal(res.headers.get('cache-control'), 'no-store');
  const s = (await res.json()) as Status;
  t.same(
    s.check,
    { http_status: check.status, Message: compat.Message, Absent: compat.Absent, Outdated: compat.Outdated },
    "the verdict is connectivity_check's",
  );
  t.same([s.check.Absent, s.check.Outdated], [['agent-c'], ['agent-b']]);
  t.match(s.counts, { ok: 2, outdated: 1, absent: 1, starting: 0 });
  t.same(
    s.failing.map((f) => [f.name, f.state]),
    [
      ['agent-b', 'outdated'],
      ['agent-c', 'absent'],
    ],
  );
  t.same(
    s.nodes.map((n) => [n.node, n.agents.map((a) => a.name)]),
    [
      ['', ['agent-c']],
      ['node-a', ['agent-a', 'agent-hostnet-a']],
      ['node-b', ['agent-b']],
    ],
  );
  const a = s.nodes[1]?.agents[0];
  t.match(
    a,
    {
      name: 'agent-a',
      network: 'pod',
      state: 'ok',
      last_report_age_seconds: 0,
      report_interval_seconds: 2,
      dns: null,
      path_mtu_bytes: null,
    },
    'the row is from the latest report',
  );
  const first = await (await fetch(`${ex.url}/api/v1/status`)).text();
  t.equal(first, JSON.stringify(s), 'same verdict: the same cached body');

  // The mesh: only fresh reporters' peer results, worst kept per link by the page.
  t.same(s.mesh.paths, ['pod->pod', 'host->host', 'pod->host', 'host->pod']);
  const named = s.mesh.links.map(([from, to, path, result, rtt, sent, lost]) => [
    s.mesh.nodes[from as number],
    s.mesh.nodes[to as number],
    s.mesh.paths[path as number],
    s.mesh.results[result as number],
    rtt,
    sent,
    lost,
  ]);
  t.same(named, [
    ['node-a', 'node-b', 'pod->pod', 'ok', 1.235, 3, 0],
    ['node-a', 'node-b', 'host->pod', 'ok', 40, 3, 1],
  ]);

  // State changes, with reason and time (a tick may add agent-a's own ok -> outdated -> ok).
  const changes = s.transitions.map((x) => `${x.agent} ${x.from}->${x.to}`);
  t.ok(changes.includes('agent-b ok->outdated') && changes.includes('agent-c starting->absent'), changes.join(', '));
  t.match(
    s.transitions.find((x) => x.agent === 'agent-c'),
    { reason: 'expected but has not reported', at: new Date(clock.wall).toISOString() },
  );

  // DNS, path MTU, clock offset and API server checks of a report that carries them.
  await postReport(
    ex.url,
    'agent-b',
    report({
      nodename: 'node-b',
      report_interval: 2,
      hostdate: new Date(clock.wall + 1500).toISOString(),
      dns: [
        { server: '10.0.0.10', name: 'kubernetes.default', result: 'ok', latency_ms: 1.5 },
        { server: '10.0.0.10', name: 'x.example', result: 'servfail', latency_ms: 3 },
      ],
      path_mtu: { exporter: 1500, peers: 1450 },
      api_server: [
        { via: 'service', target: '10.96.0.1:443', tcp_result: 'ok', tcp_ms: 0.5, result: 'ok', http_code: 200, latency_ms: 4 },
        {
          via: 'dns',
          target: 'kubernetes.default.svc.cluster.local:443',
          tcp_result: 'ok',
          tcp_ms: 0.5,
          result: 'tls_error',
          http_code: 0,
          latency_ms: null,
        },
      ],
      must_be_blocked: [
        { target: '10.0.5.7:5432', result: 'ok' },
        { target: '169.254.169.254:80', result: 'timeout' },
      ],
    }),
  );
  const after = (await (await fetch(`${ex.url}/api/v1/status`)).json()) as Status;
  t.match(after.nodes[2]?.agents[0], {
    name: 'agent-b',
    state: 'ok',
    dns: { queries: 2, failed: 1, worst: 'servfail', max_latency_ms: 3 },
    path_mtu_bytes: { exporter: 1500, peers: 1450 },
    clock_offset_seconds: 1.5,
    api_server: { checks: 2, failed: 1, worst: 'dns tls_error', max_latency_ms: 4 },
    must_be_blocked: { targets: 2, open: ['10.0.5.7:5432'] },
  });
  t.match(after.transitions[0], { agent: 'agent-b', from: 'outdated', to: 'ok' }, 'the newest change first');

  const q = await fetch(`${ex.url}/api/v1/status?x=1`);
  t.equal(q.status, 400, 'no query parameters, like the other API endpoints');
  t.equal((await fetch(`${ex.url}/api/v1/status`, { method: 'POST' })).status, 405);
});

t.test('transition ring: bounded, newest first', async (t) => {
  const ring = new TransitionRing(3);
  t.same(ring.latest(5), []);
  for (let i = 0; i < 5; i++)
    ring.push({ agent: `a${i}`, node: 'n', network: 'pod', from: 'ok', to: 'outdated', reason: 'r', atWallMs: i });
  t.same(
    ring.latest(5).map((x) => x.agent),
    ['a4', 'a3', 'a2'],
  );
  t.same(
    ring.latest(2).map((x) => x.agent),
    ['a4', 'a3'],
  );
});

t.test('the page and its assets: strict headers, cache validators, 404s; --no-ui turns it off', async (t) => {
  const ex = await startTestExporter(t);
  const page = await fetch(`${ex.url}/`);
  t.equal(page.status, 200);
  t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.match(page.headers.get('content-security-policy'), /^default-src 'self'; script-src 'self'; style-src 'self';/);
  t.notMatch(page.headers.get('content-security-policy'), /unsafe/);
  t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  t.equal(page.headers.get('cache-control'), 'no-cache');
  const html = await page.text();
  t.notMatch(html, /<script(?![^>]*\bsrc="\/ui\/)/, 'no inline script');
  t.notMatch(html, /https?:\/\//, 'nothing from elsewhere');
  for (const [, file] of html.matchAll(/(?:src|href)="\/ui\/([^"]+)"/g)) {
    const res = await fetch(`${ex.url}/ui/${file}`);
    t.equal(res.status, 200, `/ui/${file}`);
    t.equal(res.headers.get('cache-control'), 'public, max-age=300');
    t.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const etag = res.headers.get('etag') as string;
    const again = await fetch(`${ex.url}/ui/${file}`, { headers: { 'If-None-Match': etag } });
    t.same([again.status, await again.text()], [304, ''], 'revalidated by ETag');
  }
  for (const file of ['page.js', 'dom.js', 'nodes.js', 'matrix.js', 'states.js']) {
    const js = await (await fetch(`${ex.url}/ui/${file}`)).text();
    t.notMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/, `${file} never parses strings as HTML or code`);
  }
  t.equal((await fetch(`${ex.url}/ui/nope.js`)).status, 404);
  t.equal((await fetch(`${ex.url}/ui/../package.json`)).status, 404);
  t.equal((await fetch(`${ex.url}/ui/page.ts`)).status, 404, 'only the built files');

  const off = await startTestExporter(t, ['--no-ui']);
  t.equal((await fetch(`${off.url}/`)).status, 404);
  t.equal((await fetch(`${off.url}/ui/page.js`)).status, 404);
  t.equal((await fetch(`${off.url}/api/v1/status`)).status, 200, 'the JSON stays');
});
