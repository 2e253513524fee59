// The flags of --discovery kubernetes and --failing-states: bad values stop the exporter at start
// with a message naming the flag; a missing kubeconfig is a clear startup error.
import t from 'tap';
import { parseExporterConfig } from '../exporter/config.js';
import { eventually, runCli, spawnCli } from './helpers/cli.js';
import { agentPod, FakeKube, node } from './helpers/fake-kube.js';

t.test('defaults: the original selector, all namespaces, every state without a fresh report but terminating fails', async (t) => {
  const r = parseExporterConfig(['--discovery', 'kubernetes']);
  t.ok(r.ok && !r.help);
  if (!r.ok || r.help) return;
  t.same(r.config.kubernetes, {
    kubeconfig: undefined,
    namespace: '',
    agentSelector: 'app in (netchecker-agent,netchecker-agent-hostnet)',
  });
  t.same(r.config.failingStates, [
    'starting',
    'absent',
    'outdated',
    'not_scheduled',
    'pod_not_running',
    'agent_not_ready',
    'node_not_ready',
    'node_cordoned',
  ]);
  const excusing = parseExporterConfig(['--failing-states', 'absent,outdated']);
  t.same(excusing.ok && !excusing.help && excusing.config.failingStates, ['absent', 'outdated'], 'the churn-excusing choice');
  t.ok(Object.isFrozen(r.config.kubernetes) && Object.isFrozen(r.config.failingStates));
});

t.test('bad values name the flag', async (t) => {
  const table: Array<[string[], RegExp]> = [
    [['--discovery', 'consul'], /--discovery must be one of static, kubernetes/],
    [['--discovery', 'kubernetes', '--agent-selector', 'app in (a'], /--agent-selector: unbalanced parentheses/],
    [['--discovery', 'kubernetes', '--agent-selector', ' '], /--agent-selector must not be empty/],
    [['--discovery', 'kubernetes', '--namespace', 'Not_A_Namespace'], /--namespace must be a Kubernetes namespace name/],
    [
      ['--failing-states', 'absent,broken'],
      /^--failing-states must be one of starting, absent, outdated, not_scheduled, pod_not_running, agent_not_ready, terminating, node_not_ready, node_cordoned, got "broken"$/,
    ],
    [['--failing-states', 'ok'], /--failing-states must be one of .*, got "ok"$/],
    [['--failing-states', ''], /--failing-states must name at least one state/],
    [['--discovery', 'kubernetes', '--expect', 'a'], /--expect and --expect-file need --discovery static/],
  ];
  for (const [argv, re] of table) {
    const r = parseExporterConfig(argv);
    t.notOk(r.ok, argv.join(' '));
    if (!r.ok) t.match(r.error, re, argv.join(' '));
  }
});

t.test('the CLI stops with a readable error when there is no Kubernetes configuration', async (t) => {
  const missing = await runCli([
    'exporter',
    '--listen',
    '127.0.0.1:0',
    '--discovery',
    'kubernetes',
    '--kubeconfig',
    '/nonexistent/kubeconfig',
  ]);
  t.equal(missing.status, 2, 'a --kubeconfig that cannot be read is a bad flag');
  t.equal(missing.stderr, 'netchecker exporter: --kubeconfig /nonexistent/kubeconfig: ENOENT\n');
  t.notMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  // No KUBECONFIG, no ~/.kube/config (HOME is empty), not in a pod.
  const none = await runCli(['exporter', '--listen', '127.0.0.1:0', '--discovery', 'kubernetes'], { HOME: '/nonexistent-home' });
  t.equal(none.status, 1);
  t.match(none.stderr, /no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a pod with a service account/);
  const bad = await runCli(['exporter', '--discovery', 'kubernetes', '--agent-selector', 'app in']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--agent-selector/);
});

t.test('netchecker exporter --discovery kubernetes as a process: KUBECONFIG, ready, SIGTERM ends it cleanly', async (t) => {
  const kube = await FakeKube.start(t);
  kube.apply('nodes', node('n1'));
  kube.apply('pods', agentPod('netchecker-agent-a', { node: 'n1' }));
  const ex = spawnCli(t, ['exporter', '--listen', '127.0.0.1:0', '--discovery', 'kubernetes', '--startup-grace', '0'], {
    KUBECONFIG: kube.kubeconfigPath,
    HOME: '/nonexistent-home',
  });
  const url = (await ex.waitFor(/"url":"(http:\/\/[^"]+)"/))[1] as string;
  await eventually(async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined), 10_000, 'ready');
  const res = await fetch(`${url}/api/v1/connectivity_check`);
  t.equal(res.status, 400);
  t.same(((await res.json()) as { Absent: string[] }).Absent, ['netchecker-agent-a']);
  ex.child.kill('SIGTERM');
  t.equal(await ex.exited(), 0, 'exits 0: the informers do not keep the process alive');
  await eventually(async () => (kube.openWatches() === 0 ? true : undefined), 5000, 'no watch left open');
});
