// The REST API as the original agent and scripts see it (compat.md).
import t from 'tap';
import { FakeClock, originalReports, postReport, report, sample, startTestExporter } from './helpers/exporter.js';

t.test('original agent reports are accepted byte for byte and show up everywhere', async (t) => {
  const ex = await startTestExporter(t);
  for (const { name, body } of originalReports()) {
    const res = await postReport(ex.url, name, body);
    t.equal(res.status, 200, `${name} accepted`);
    t.equal(await res.text(), '', 'empty body, as the original');
  }
  const all = (await (await fetch(`${ex.url}/api/v1/agents/`)).json()) as Record<string, Record<string, unknown>>;
  t.same(Object.keys(all).sort(), ['netchecker-agent-hostnet-q9z4m', 'netchecker-agent-x7k2p']);
  const pod = all['netchecker-agent-x7k2p'] as Record<string, unknown>;
  t.equal(pod.nodename, 'kind-worker');
  t.equal(pod.hostdate, '2026-11-26T07:17:35.845997791Z');
  t.equal(pod.uptime, 1250);
  t.notOk('zero_extender' in pod, 'zero_extender is not stored');
  t.match(pod.last_updated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  t.same((pod.ips as Record<string, string[]>).eth0, ['192.0.2.2/24', 'fd00::2/64', 'fe80::fc:ff:fe00:1/64']);

  const one = await fetch(`${ex.url}/api/v1/agents/netchecker-agent-x7k2p`);
  t.equal(one.status, 200);
  t.same(await one.json(), pod);
  t.same(await (await fetch(`${ex.url}/api/v1/agents`)).json(), all, 'without the slash too');

  const check = await fetch(`${ex.url}/api/v1/connectivity_check`);
  t.equal(check.status, 200);
  const text = await check.text();
  t.ok(
    text.startsWith('{"Message":"All 2 pods successfully reported back to the server","Absent":null,"Outdated":null,'),
    text.slice(0, 140),
  );

  const metrics = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(metrics, 'ncagent_report_count_total{agent="kind-worker-private_network"}'), 1);
  t.equal(sample(metrics, 'ncagent_report_count_total{agent="kind-worker-host_network"}'), 1);
  t.equal(sample(metrics, 'ncagent_http_probe_code{agent="kind-worker-private_network",url="http://127.0.0.1:18082/api/v1/ping"}'), 200);
  t.equal(
    sample(metrics, 'ncagent_http_probe_connection_result{agent="kind-worker-host_network",url="http://127.0.0.1:1/unreachable"}'),
    0,
  );
  t.equal(sample(metrics, 'netchecker_agent_up{agent="netchecker-agent-hostnet-q9z4m",node="kind-worker",network="host"}'), 1);
  t.equal(sample(metrics, 'netchecker_agent_state{agent="netchecker-agent-x7k2p",node="kind-worker",network="pod",state="ok"}'), 1);
  t.equal(sample(metrics, 'netchecker_reports_accepted_total'), 2);
});

t.test('saturated probe durations are unknown, not 9.2e12 ms', async (t) => {
  const ex = await startTestExporter(t);
  const body = report({
    network_probes: [
      {
        URL: 'http://s/api/v1/ping',
        ConnectionResult: 1,
        HTTPCode: 200,
        Total: 9223372036854,
        ContentTransfer: 9223372036854,
        TCPConnection: 3,
      },
    ],
  });
  t.equal((await postReport(ex.url, 'netchecker-agent-a', body)).status, 200);
  const metrics = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(metrics, 'ncagent_http_probe_total_time_ms{agent="node-a-private_network",url="http://s/api/v1/ping"}'), undefined);
  t.equal(sample(metrics, 'ncagent_http_probe_tcp_connection_time_ms{agent="node-a-private_network",url="http://s/api/v1/ping"}'), 3);
  t.notMatch(metrics, /9223372036854/);
});

t.test('connectivity_check: 400 with both lists, key order kept, per-agent detail after', async (t) => {
  const clock = new FakeClock();
  const ex = await startTestExporter(t, ['--expect', 'agent-a,agent-b,agent-hostnet-c', '--startup-grace', '10'], clock);
  let res = await fetch(`${ex.url}/api/v1/connectivity_check`);
  t.equal(res.status, 400, 'within the startup grace the agents are starting, and without a report they fail the check');
  const starting = (await res.json()) as { Absent: string[]; agents: Array<{ state: string }> };
  t.same(
    starting.agents.map((a) => a.state),
    ['starting', 'starting', 'starting'],
  );
  t.same(starting.Absent, ['agent-a', 'agent-b', 'agent-hostnet-c']);

  await postReport(ex.url, 'agent-a', report({ report_interval: 2 }));
  await postReport(ex.url, 'agent-hostnet-c', report({ report_interval: 5 }));
  clock.advance(11);
  res = await fetch(`${ex.url}/api/v1/connectivity_check`);
  t.equal(res.status, 400);
  t.equal(res.headers.get('content-type'), 'application/json');
  const text = await res.text();
  t.ok(
    text.startsWith(
      '{"Message":"Connectivity check fails. Reason: there are absent or outdated pods; look up the payload","Absent":["agent-b"],"Outdated":["agent-a","agent-hostnet-c"],',
    ),
    text.slice(0, 200),
  );
  const body = JSON.parse(text) as { agents: Array<Record<string, unknown>> };
  t.same(Object.keys(body), ['Message', 'Absent', 'Outdated', 'agents']);
  t.match(body.agents[0], {
    name: 'agent-a',
    node: 'node-a',
    network: 'pod',
    state: 'outdated',
    expected: true,
    last_report_age_seconds: 11,
    report_interval_seconds: 2,
  });
  t.match(body.agents[1], { name: 'agent-b', state: 'absent', last_report_age_seconds: null });
  t.match(body.agents[2], { name: 'agent-hostnet-c', network: 'host', state: 'outdated' });

  await postReport(ex.url, 'agent-b', report());
  await postReport(ex.url, 'agent-a', report());
  await postReport(ex.url, 'agent-hostnet-c', report());
  res = await fetch(`${ex.url}/api/v1/connectivity_check/`);
  t.equal(res.status, 200, 'slash variant, and back to pass');
  t.ok((await res.text()).startsWith('{"Message":"All 3 pods successfully reported back to the server","Absent":null,"Outdated":null,'));
});

t.test('evidence only: an expected agent checked at once is Absent, not "All 0 pods"', async (t) => {
  const ex = await startTestExporter(t, ['--expect', 'netchecker-agent-nobody']);
  const res = await fetch(`${ex.url}/api/v1/connectivity_check`);
  t.equal(res.status, 400);
  const body = (await res.json()) as {
    Message: string;
    Absent: string[];
    Outdated: string[];
    agents: Array<{ name: string; state: string; reason: string }>;
  };
  t.same([body.Absent, body.Outdated], [['netchecker-agent-nobody'], []]);
  t.match(
    body.agents[0],
    { name: 'netchecker-agent-nobody', state: 'starting', reason: /waiting for the first report/ },
    'its state and reason stay in the detail',
  );

  const excusing = await startTestExporter(t, [
    '--expect',
    'netchecker-agent-nobody,netchecker-agent-one',
    '--failing-states',
    'absent,outdated',
  ]);
  await postReport(excusing.url, 'netchecker-agent-one', report());
  const ok = await fetch(`${excusing.url}/api/v1/connectivity_check`);
  t.equal(ok.status, 200, '--failing-states absent,outdated excuses a starting agent');
  t.match(
    await ok.json(),
    { Message: 'All 1 pods successfully reported back to the server' },
    'the count is of the fresh reports, not of the expected set',
  );
});

t.test('one list empty is [] on failure', async (t) => {
  const clock = new FakeClock();
  const ex = await startTestExporter(t, [], clock);
  await postReport(ex.url, 'agent-a', report({ report_interval: 1 }));
  clock.advance(2.5);
  const text = await (await fetch(`${ex.url}/api/v1/connectivity_check`)).text();
  t.ok(text.includes('"Absent":[],"Outdated":["agent-a"]'), text.slice(0, 200));
});

t.test('other endpoints', async (t) => {
  const ex = await startTestExporter(t);
  const ping = await fetch(`${ex.url}/api/v1/ping`);
  t.same([ping.status, await ping.text()], [200, '']);
  const health = await fetch(`${ex.url}/healthz`);
  t.same([health.status, await health.text()], [200, 'ok\n']);
  t.equal((await fetch(`${ex.url}/readyz`)).status, 200);
  const unknown = await fetch(`${ex.url}/api/v1/agents/nobody`);
  t.equal(unknown.status, 404);
  t.match(await unknown.json(), { error: 'agent_not_found' });
  t.same(await (await fetch(`${ex.url}/api/v1/agents/`)).json(), {}, 'exactly {} when empty');
  const missing = await fetch(`${ex.url}/no/such/path`);
  t.equal(missing.status, 404);
  t.match(await missing.json(), { error: 'not_found' });
  const wrong = await fetch(`${ex.url}/api/v1/connectivity_check`, { method: 'POST', body: '{}' });
  t.equal(wrong.status, 405);
  t.equal(wrong.headers.get('allow'), 'GET, HEAD');
  const del = await fetch(`${ex.url}/api/v1/agents/a`, { method: 'DELETE' });
  t.same([del.status, del.headers.get('allow')], [405, 'POST, GET, HEAD']);
  const head = await fetch(`${ex.url}/api/v1/connectivity_check`, { method: 'HEAD' });
  t.same([head.status, await head.text()], [200, '']);
  const metrics = await fetch(`${ex.url}/metrics`);
  t.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  t.match(await metrics.text(), /^netchecker_build_info\{version="\d+\.\d+\.\d+",nodejs_version="[^"]+"\} 1$/m);
});

t.test('agents that are gone are pruned from the store and /metrics after the TTL', async (t) => {
  const clock = new FakeClock();
  const ex = await startTestExporter(t, ['--report-ttl', '60', '--expect', 'kept'], clock);
  await postReport(ex.url, 'gone', report({ report_interval: 5, nodename: 'node-gone' }));
  await postReport(ex.url, 'kept', report({ report_interval: 5 }));
  clock.advance(60);
  t.same(Object.keys((await (await fetch(`${ex.url}/api/v1/agents/`)).json()) as object).sort(), ['gone', 'kept'], 'not before the TTL');
  clock.advance(1);
  t.same(Object.keys((await (await fetch(`${ex.url}/api/v1/agents/`)).json()) as object), ['kept'], 'pruned; expected agents are kept');
  t.equal((await fetch(`${ex.url}/api/v1/agents/gone`)).status, 404);
  const metrics = await (await fetch(`${ex.url}/metrics`)).text();
  t.notMatch(metrics, /agent="gone"/, 'series removed');
  t.notMatch(metrics, /node-gone-private_network/, 'legacy series removed');
  t.match(metrics, /netchecker_agent_state\{agent="kept",node="node-a",network="pod",state="outdated"\} 1/);
  t.ok(
    ex.logs.some((l) => l.msg === 'agent pruned' && l.agent === 'gone'),
    'pruning is logged',
  );
});
