// --auth kubernetes at scale: 1,000 agents x 50 reports each over keep-alive connections, all
// accepted, and the API server sees at most one TokenReview per token (counted at the fake API).
import { Agent, request } from 'node:http';
import t from 'tap';
import { eventually } from './helpers/cli.js';
import { report, sample, startTestExporter } from './helpers/exporter.js';
import { agentPod, discoveryArgs, FakeKube, node } from './helpers/fake-kube.js';
import { TokenIssuer } from './helpers/tokens.js';

const AGENTS = 1000;
const REPORTS = 50;
const CONCURRENCY = 64;

function post(agent: Agent, url: URL, name: string, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: `/api/v1/agents/${name}`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

t.test(`${AGENTS} agents x ${REPORTS} reports: all stored, at most one review per token`, async (t) => {
  const kube = await FakeKube.start(t);
  const nodes = Array.from({ length: AGENTS }, (_, i) => `node-${i}`);
  kube.apply('nodes', ...nodes.map((n) => node(n)));
  const names = nodes.map((_, i) => `netchecker-agent-${i}`);
  kube.apply('pods', ...names.map((name, i) => agentPod(name, { node: nodes[i] as string })));
  const tokens = new TokenIssuer(kube);
  const minted = names.map((name) => tokens.agent(kube, name));
  // The review deadline is the test's margin: 64 reviews in flight on a busy 2-core machine took
  // longer than the default 3 s, and a review past it is a 503 and a second review.
  const ex = await startTestExporter(t, [
    ...discoveryArgs(kube),
    '--auth',
    'kubernetes',
    '--auth-review-burst',
    String(AGENTS),
    '--auth-review-timeout',
    '60',
  ]);
  await eventually(async () => ((await fetch(`${ex.url}/readyz`)).status === 200 ? true : undefined), 20_000, 'the pod informer');

  const url = new URL(ex.url);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.teardown(() => agent.destroy());
  const bodies = names.map((name, i) => report({ podname: name, nodename: nodes[i], network: 'pod', report_interval: 60 }));
  const statuses = new Map<number, number>();
  // Round-robin over the agents, report k of every agent before report k+1 of any: the first
  // round has every token new at once (CONCURRENCY reviews in flight), later rounds hit the cache.
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < AGENTS * REPORTS; i = next++) {
      const a = i % AGENTS;
      const status = await post(agent, url, names[a] as string, minted[a] as string, bodies[a] as string);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  t.same(Object.fromEntries(statuses), { 200: AGENTS * REPORTS }, 'every report accepted');
  const reviews = kube.count({ verb: 'tokenreview' });
  t.ok(reviews <= AGENTS, `at most one review per token (${reviews} reviews for ${AGENTS} tokens)`);
  t.equal(reviews, AGENTS, 'and every token reviewed');
  const metrics = await (await fetch(`${ex.url}/metrics`)).text();
  t.equal(sample(metrics, 'netchecker_reports_accepted_total'), AGENTS * REPORTS);
  const agents = (await (await fetch(`${ex.url}/api/v1/agents/`)).json()) as Record<string, unknown>;
  t.equal(Object.keys(agents).length, AGENTS, 'one record per agent');
});
