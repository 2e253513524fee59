// Paths a workload depends on, in the netns lab (3 nodes, a pod-network and a host-network agent
// on each): the API server (a fake endpoint over TLS, reached at the Service address and by its
// DNS name through the lab's dnsmasq) stopped, slow, with a certificate the agents' CA does not
// sign, and cut from one node; and a target that must stay blocked, opened on one node. Each
// fault must show on the right agents with the right result class in /metrics within a round,
// and go away when healed. One lab for all, one fault after another (see lab-faults.test.ts).
import t from 'tap';
import { INTERVAL_SECONDS, type LabAgent, type Metric, select, startLabCluster, TIMEOUT_SECONDS, within } from './lab/cluster.js';
import { API_SERVER_PORT, dropOnNode, labPaths } from './lab/paths.js';

/** The fault may land mid-round: the next full round, its probes' timeout and its report. */
const ROUND_MS = 2 * INTERVAL_SECONDS * 1000 + TIMEOUT_SECONDS * 1000;

/** An agent's API server checks as "via/check result" (result ok, or the failure's class), in label order. */
function apiServer(m: readonly Metric[], a: LabAgent): string[] {
  return select(m, 'netchecker_agent_api_server_up', { agent: a.name })
    .map(({ labels: { via, check }, value }) => {
      const failure = select(m, 'netchecker_agent_api_server_failure', { agent: a.name, via: via ?? '', check: check ?? '' })[0];
      return `${via}/${check} ${value === 1 ? 'ok' : (failure?.labels.result ?? 'down, no class')}`;
    })
    .sort();
}

/** What every way (service, dns) shows for a TCP result and an HTTPS result. */
const both = (tcp: string, https: string): string[] =>
  [`dns/https ${https}`, `dns/tcp ${tcp}`, `service/https ${https}`, `service/tcp ${tcp}`].sort();
const OK = both('ok', 'ok');

t.setTimeout(300_000);

t.test('lab: the API server and a must-be-blocked path', async (t) => {
  const paths = labPaths(t);
  const c = await startLabCluster(t, 3, { resolvConf: true, agents: paths.agents });
  const { api, blocked } = await paths.start(c);
  const n2 = c.net.nodes[1];
  if (!n2) throw new Error('no node 2');

  /** Waits until every agent's API server checks read want(agent); resolves with the metrics then. */
  const apiReads = async (limitMs: number, what: string, want: (a: LabAgent) => string[]): Promise<number> => {
    let last = '';
    const { ms } = await within(limitMs, what, async () => {
      const m = await c.metrics();
      const wrong = c.agents.filter((a) => JSON.stringify(apiServer(m, a)) !== JSON.stringify(want(a)));
      last = wrong.map((a) => `${a.name}: ${apiServer(m, a).join(', ')}`).join('; ');
      return wrong.length === 0 ? true : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; last seen: ${last}`);
    });
    return ms;
  };
  t.comment(`every agent reaches the API server both ways after ${await apiReads(30_000, 'the baseline', () => OK)} ms`);

  await t.test('the API server stopped: refused from every agent, both ways', async (t) => {
    t.teardown(() => api.start());
    await api.stop();
    t.pass(`seen after ${await apiReads(ROUND_MS, 'refused everywhere', () => both('refused', 'refused'))} ms`);
    await api.start();
    t.pass(`healed after ${await apiReads(2 * ROUND_MS, 'ok again', () => OK)} ms`);
  });

  await t.test("the API server slow (answers after the agents' --timeout): connected, then a timeout", async (t) => {
    t.teardown(() => void (api.delayMs = 0));
    api.delayMs = 2 * TIMEOUT_SECONDS * 1000;
    t.pass(`seen after ${await apiReads(ROUND_MS, 'https timeout everywhere', () => both('ok', 'timeout'))} ms`);
    api.delayMs = 0;
    t.pass(`healed after ${await apiReads(2 * ROUND_MS, 'ok again', () => OK)} ms`);
  });

  await t.test("a certificate the agents' CA does not sign: connected, then a TLS error", async (t) => {
    t.teardown(() => api.impostor(false));
    api.impostor(true);
    t.pass(`seen after ${await apiReads(ROUND_MS, 'tls_error everywhere', () => both('ok', 'tls_error'))} ms`);
    api.impostor(false);
    t.pass(`healed after ${await apiReads(2 * ROUND_MS, 'ok again', () => OK)} ms`);
  });

  await t.test('the path to the API server cut from one node: only its agents fail', async (t) => {
    const [ip] = api.target.split(':') as [string];
    const heal = await dropOnNode(c.net, n2, 'lab_api_cut', ip, API_SERVER_PORT);
    t.teardown(heal);
    const want = (a: LabAgent): string[] => (a.node === n2 ? both('timeout', 'timeout') : OK);
    t.pass(`seen after ${await apiReads(ROUND_MS, "node-2's agents time out, the others reach it", want)} ms`);
    await heal();
    t.pass(`healed after ${await apiReads(2 * ROUND_MS, 'ok again', () => OK)} ms`);
  });

  await t.test('a must-be-blocked target: blocked by policy on every node; opened on one, the exporter names it', async (t) => {
    /** Per agent: "open/blocked counts" and the targets named open. */
    const reads = (m: readonly Metric[], a: LabAgent): string => {
      const n = (status: string): number | undefined => select(m, 'netchecker_agent_blocked_paths', { agent: a.name, status })[0]?.value;
      const named = select(m, 'netchecker_agent_blocked_path_open', { agent: a.name }).map((s) => `${s.labels.target}=${s.value}`);
      return `open ${n('open')} blocked ${n('blocked')} ${named.join(',') || 'none named'}`;
    };
    const states = async (limitMs: number, what: string, want: (a: LabAgent) => string): Promise<number> => {
      let last = '';
      const { ms } = await within(limitMs, what, async () => {
        const m = await c.metrics();
        last = c.agents.map((a) => `${a.name}: ${reads(m, a)}`).join('; ');
        return c.agents.every((a) => reads(m, a) === want(a)) ? true : undefined;
      }).catch((e: Error) => {
        throw new Error(`${e.message}; last seen: ${last}`);
      });
      return ms;
    };
    const closed = 'open 0 blocked 1 none named';
    t.comment(`blocked everywhere (baseline) after ${await states(ROUND_MS, 'blocked on every agent', () => closed)} ms`);
    // The policy on node-2 goes: the target answers its agents (a TCP connect completes).
    await c.net.exec(n2.hostNs, ['nft', 'delete', 'table', 'inet', 'lab_policy']);
    t.teardown(() => blocked.block(n2));
    const open = `open 1 blocked 0 ${blocked.target}=1`;
    t.pass(`seen after ${await states(ROUND_MS, "open from node-2's agents only", (a) => (a.node === n2 ? open : closed))} ms`);
    await blocked.block(n2);
    t.pass(`healed after ${await states(2 * ROUND_MS, 'blocked again everywhere', () => closed)} ms`);
  });
});
