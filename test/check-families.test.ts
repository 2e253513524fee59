// Which IP family is broken, as a user reads it: connectivity_check's optional `families` key (only
// with a dual-stack agent, the status code and the three compat keys untouched), the status API,
// and `netchecker check`. Reports go through the HTTP API; the clock is injected.
import t from 'tap';
import { runCli } from './helpers/cli.js';
import { dualStackReport, FakeClock, postReport, report, startTestExporter } from './helpers/exporter.js';

const NAMES = ['agent-a', 'agent-b', 'agent-c'];
interface Answer {
  families?: Record<string, { state: string; reason: string; failing_agents: string[]; unknown_agents: string[] }>;
  agents: Array<{ name: string; families?: Record<string, { state: string; reason: string; failing_nodes: string[] }> }>;
}

t.test('single-stack: the answer has exactly the keys it had', async (t) => {
  const ex = await startTestExporter(t, ['--expect', 'agent-a', '--log-level', 'warn']);
  await postReport(ex.url, 'agent-a', report({ listen: '198.18.0.1:8090', peers: [] }));
  const res = await fetch(`${ex.url}/api/v1/connectivity_check`);
  t.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown> & Answer;
  t.same(Object.keys(body), ['Message', 'Absent', 'Outdated', 'agents']);
  t.notOk('families' in (body.agents[0] ?? {}), 'no per-agent key');
  const status = (await (await fetch(`${ex.url}/api/v1/status`)).json()) as { families: unknown };
  t.equal(status.families, null, 'the status API says none');
  const cli = await runCli(['check', '--server', ex.url]);
  t.notMatch(cli.stdout, /ipv[46]/, 'netchecker check prints nothing of families');
});

t.test('dual-stack: ipv6 cut between two nodes is named; the check still passes', async (t) => {
  const clock = new FakeClock();
  const ex = await startTestExporter(t, ['--expect', NAMES.join(','), '--log-level', 'warn'], clock);
  for (const [i, name] of NAMES.entries())
    t.equal((await postReport(ex.url, name, dualStackReport(NAMES, i, ['agent-a', 'agent-b']))).status, 200);
  const res = await fetch(`${ex.url}/api/v1/connectivity_check`);
  t.equal(res.status, 200, 'a one-family partition leaves the status code alone');
  const text = await res.text();
  t.match(text, /^\{"Message":"All 3 pods successfully reported back to the server","Absent":null,"Outdated":null,"families":\{/);
  const body = JSON.parse(text) as Answer;
  t.same(body.families, {
    ipv4: {
      state: 'ok',
      reason: 'every probe over ipv4 of the 3 dual-stack agents answered in their last round',
      failing_agents: [],
      unknown_agents: [],
    },
    ipv6: {
      state: 'failing',
      reason: '2 of 3 dual-stack agents fail over ipv6, between node-a and node-b',
      failing_agents: ['agent-a', 'agent-b'],
      unknown_agents: [],
    },
  });
  t.same(body.agents.find((a) => a.name === 'agent-a')?.families?.ipv6, {
    state: 'failing',
    reason: 'over ipv6: reached 1 of 2 peers, reached by 1 of 2 probers; failing with node-b',
    failing_nodes: ['node-b'],
  });
  t.equal(body.agents.find((a) => a.name === 'agent-c')?.families?.ipv6?.state, 'ok');

  const status = (await (await fetch(`${ex.url}/api/v1/status`)).json()) as {
    families: Answer['families'];
    nodes: Array<{ node: string; agents: Answer['agents'] }>;
  };
  t.same(status.families, body.families, "the status API carries connectivity_check's families");
  t.equal(status.nodes.find((n) => n.node === 'node-b')?.agents[0]?.families?.ipv6?.state, 'failing', 'and each row its own');

  const cli = await runCli(['check', '--server', ex.url]);
  t.equal(cli.status, 0, 'netchecker check passes');
  t.match(cli.stdout, /^ipv4: ok: every probe over ipv4/m);
  t.match(cli.stdout, /^ipv6: failing: 2 of 3 dual-stack agents fail over ipv6, between node-a and node-b$/m);
  t.match(cli.stdout, /^ {2}failing {3}agent-a \(node node-a\): over ipv6: reached 1 of 2 peers/m);
  t.notMatch(cli.stdout, /failing {3}agent-c/);

  // agent-c falls silent: unknown, never ok, and the check fails as it always did.
  clock.advance(11);
  for (const [i, name] of NAMES.slice(0, 2).entries()) await postReport(ex.url, name, dualStackReport(NAMES, i, []));
  const late = await fetch(`${ex.url}/api/v1/connectivity_check`);
  t.equal(late.status, 400);
  const lateBody = (await late.json()) as Answer & { Outdated: string[] };
  t.same(lateBody.Outdated, ['agent-c']);
  t.same(
    [lateBody.families?.ipv4?.state, lateBody.families?.ipv6?.state, lateBody.families?.ipv6?.unknown_agents],
    ['unknown', 'unknown', ['agent-c']],
  );
  t.equal(lateBody.agents.find((a) => a.name === 'agent-c')?.families?.ipv6?.reason, 'no fresh report (outdated)');
});
