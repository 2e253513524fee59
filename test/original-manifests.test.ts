// The original netchecker's manifests with only the image swapped: kubespray's server and agent
// argument lists start our exporter and agent through the image's entrypoint (dist/cli.js with no
// command), against a real etcd, and connectivity_check passes as kubespray's CI reads it.
import t from 'tap';
import { parseExporterConfig } from '../exporter/config.js';
import { eventually, runCli, spawnCli } from './helpers/cli.js';
import { startEtcd } from './helpers/etcd.js';
import { postReport, report } from './helpers/exporter.js';
import { FakeKube } from './helpers/fake-kube.js';

const GLOG_NOTE =
  "the original's log flags (-v, -logtostderr, -alsologtostderr) are ignored: netchecker writes JSON lines to stderr at --log-level";
const KUBE_NOTE =
  '-kubeproxyinit=true: reports are kept in Kubernetes resources (--store kubernetes: AgentShard objects, deploy/components/kubernetes-store)';

t.test("the original server's flags map onto the exporter's", async (t) => {
  const cases: Array<[string, string[], Record<string, unknown>]> = [
    [
      "kubespray's server arguments",
      ['-v=5', '-logtostderr', '-kubeproxyinit=false', '-endpoint=0.0.0.0:8081', '-etcd-endpoints=http://127.0.0.1:2379'],
      { host: '0.0.0.0', port: 8081, store: 'etcd', etcd: { endpoints: ['http://127.0.0.1:2379'] }, notes: [GLOG_NOTE] },
    ],
    [
      'the original README: space-separated values, -kubeproxyinit alone',
      ['-v', '5', '-logtostderr', '-kubeproxyinit', '-endpoint', '127.0.0.1:8081'],
      { port: 8081, store: 'kubernetes', etcd: null, notes: [GLOG_NOTE, KUBE_NOTE] },
    ],
    [
      'double dashes, as Go takes them, and -report-ttl',
      ['--endpoint=[::1]:9000', '--report-ttl=120', '--kubeproxyinit=false'],
      { host: '::1', port: 9000, store: 'memory', reportTtlSeconds: 120, notes: [] },
    ],
    [
      'TLS to etcd',
      ['-etcd-endpoints=https://etcd:2379', '-etcd-ca=/etc/ssl/ca.pem', '-etcd-cert=/etc/ssl/c.pem', '-etcd-key=/etc/ssl/k.pem'],
      {
        store: 'etcd',
        etcd: { tls: true, caFile: '/etc/ssl/ca.pem', certFile: '/etc/ssl/c.pem', keyFile: '/etc/ssl/k.pem' },
        auth: { mode: 'none' },
      },
    ],
  ];
  for (const [name, argv, want] of cases) {
    const r = parseExporterConfig(argv, {});
    if (!r.ok || r.help) {
      t.fail(`${name}: ${JSON.stringify(r)}`);
      continue;
    }
    t.match(r.config, want, name);
  }
  const bad: Array<[string[], string]> = [
    [['-v=high'], '-v must be an integer, got "high"'],
    [['-v=2.5'], '-v must be an integer, got 2.5'],
    [['-logtostderr=sometimes'], '-logtostderr must be true or false, got "sometimes"'],
    [['-kubeproxyinit=maybe'], '-kubeproxyinit must be true or false, got "maybe"'],
    [['-kubeproxyinit', '--store', 'etcd'], 'give either --store or -kubeproxyinit, not both'],
    [['-kubeproxyinit=true', '-etcd-endpoints=http://127.0.0.1:2379'], '--etcd-endpoints needs --store etcd'],
    [['-endpoint=nowhere'], '--listen must be HOST:PORT, got "nowhere"'],
    [['-etcd-endpoints=127.0.0.1:2379'], '--etcd-endpoints must be http:// or https:// URLs with a host and port, got "127.0.0.1:2379"'],
    [['-report-ttl=0'], '--report-ttl must be an integer from 1 to 2592000, got 0'],
  ];
  for (const [argv, error] of bad) t.same(parseExporterConfig(argv, {}), { ok: false, error }, argv.join(' '));
});

t.test('without a command the original flags pick the part; otherwise exit 2 with one line', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['-v=5', '-logtostderr'],
      /^netchecker: no command given, and no flag of the original server \(-endpoint\) or agent \(-serverendpoint\) to pick one by$/,
    ],
    [
      ['-endpoint=127.0.0.1:0', '-serverendpoint=a:1'],
      /^netchecker: flags of both the original server \(-endpoint\) and agent \(-serverendpoint\) given: name the command$/,
    ],
    [['-v=5', '-endpoint=127.0.0.1:0', '-v=x'], /^netchecker exporter: -v must be an integer, got "x"$/],
    [['-serverendpoint=nohost', '-v=5'], /^netchecker agent: -serverendpoint must be HOST:PORT with a port from 1 to 65535, got "nohost"$/],
    [['-reportinterval=0', '-alsologtostderr=true'], /^netchecker agent: --interval must be an integer from 1 to 3600, got 0$/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { MY_POD_NAME: 'netchecker-agent-abcde' });
    t.equal(r.status, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr.trimEnd(), message, args.join(' '));
    t.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line');
  }
});

t.test("kubespray's server and agents on real etcd pass connectivity_check", async (t) => {
  const etcd = await startEtcd(t);
  // kubespray's exact server arguments; the etcd endpoint and the address are the test's own.
  const server = spawnCli(t, [
    '-v=5',
    '-logtostderr',
    '-kubeproxyinit=false',
    '-endpoint=127.0.0.1:0',
    `-etcd-endpoints=${etcd.endpoints[0]}`,
  ]);
  const [, url] = (await server.waitFor(/"msg":"exporter listening".*?"url":"(http:[^"]+)"/)) as [string, string];
  t.match(server.stderr, /"msg":"exporter listening".*"store":"etcd"/, '-etcd-endpoints selects the etcd store');
  const hostPort = new URL(url).host;
  // kubespray's agent arguments, pointed at the test's exporter with a short interval; both
  // DaemonSets' pods (the name says which network, as the original's).
  const agents = ['netchecker-agent-k8s7q', 'netchecker-agent-hostnet-p2x4m'].map((name) =>
    spawnCli(t, ['-v=5', '-alsologtostderr=true', `-serverendpoint=${hostPort}`, '-reportinterval=5'], {
      MY_POD_NAME: name,
      MY_NODE_NAME: 'node-1',
    }),
  );
  const check = await eventually(
    async () => {
      const res = await fetch(`${url}/api/v1/connectivity_check`);
      const body = await res.text();
      return res.status === 200 && body.includes('All 2 pods') ? { status: res.status, body } : undefined;
    },
    60_000,
    'connectivity_check to pass with both agents',
  );
  t.equal(check.status, 200);
  t.equal(
    check.body.slice(0, check.body.indexOf(',"Absent"')),
    '{"Message":"All 2 pods successfully reported back to the server"',
    'the compat message',
  );
  t.match(JSON.parse(check.body), { Absent: null, Outdated: null }, 'null lists on pass');
  t.match(
    await etcd.etcdctl(['get', '/netchecker/agents/netchecker-agent-hostnet-p2x4m', '--print-value-only']),
    /"report_interval":5/,
    'reports are kept in etcd',
  );
  const notes = (text: string): number => text.split('\n').filter((l) => l.includes(GLOG_NOTE)).length;
  t.equal(notes(server.stderr), 1, 'the exporter says once that the log flags are ignored');
  for (const a of agents) {
    t.equal(notes(a.stderr), 1, 'each agent says it once too');
    t.match(a.stderr, /"msg":"agent started".*"interval_seconds":5/);
  }
  server.child.kill('SIGTERM');
  t.equal(await server.exited(), 0, 'the exporter stops cleanly');
});

t.test('-kubeproxyinit=true (older kubespray) keeps reports in Kubernetes resources and says so once', async (t) => {
  const kube = await FakeKube.start(t);
  const server = spawnCli(t, ['-v=5', '-logtostderr', '-kubeproxyinit', '-endpoint', '127.0.0.1:0'], {
    KUBECONFIG: kube.kubeconfigPath,
    NETCHECKER_STORE_NAMESPACE: 'kube-system',
  });
  const [, url] = (await server.waitFor(/"msg":"exporter listening".*?"url":"(http:[^"]+)"/)) as [string, string];
  t.match(server.stderr, /"msg":"exporter listening".*"store":"kubernetes"/);
  t.equal(server.stderr.split('\n').filter((l) => l.includes(`"msg":"${KUBE_NOTE}"`)).length, 1, 'one line about the store');
  t.equal((await fetch(`${url}/api/v1/ping`)).status, 200);
  t.equal((await postReport(url, 'netchecker-agent-x', report({ report_interval: 60 }))).status, 200);
  await eventually(
    async () => (kube.list('agentshards').some((o) => JSON.stringify(o.spec).includes('netchecker-agent-x')) ? true : undefined),
    5000,
    'the agent in an AgentShard',
  );
  t.pass('the report is in an AgentShard object in the namespace');
  server.child.kill('SIGTERM');
  t.equal(await server.exited(), 0);
});
