import t from 'tap';
import { AGENT_FLAGS, agentCommand, parseAgentConfig, type AgentConfig } from '../agent/config.js';
import { commandHelp } from '../lib/command.js';
import { flagLabel } from '../lib/flags.js';

const env = { MY_POD_NAME: 'netchecker-agent-x7k2p', MY_NODE_NAME: 'kind-worker' };

const defaults: AgentConfig = {
  serverUrl: 'http://netchecker-service:8081',
  reportUrl: 'http://netchecker-service:8081/api/v1/agents/netchecker-agent-x7k2p',
  pingUrl: 'http://netchecker-service:8081/api/v1/ping',
  intervalSeconds: 60,
  timeoutMs: 5000,
  probeUrls: [],
  zeroExtenderLength: 1500,
  name: 'netchecker-agent-x7k2p',
  nodeName: 'kind-worker',
  network: 'pod',
  logLevel: 'info',
  probes: {
    dns: null,
    listen: null,
    advertise: null,
    peerAttempts: 3,
    mtuSizes: [1200, 1400, 1450, 1500],
    icmp: true,
    apiServer: null,
    mustBeBlocked: [],
  },
  tokenFile: null,
  notes: [],
};

const glogNote =
  "the original's log flags (-v, -logtostderr, -alsologtostderr) are ignored: netchecker writes JSON lines to stderr at --log-level";

const ok: Array<[string, string[], Record<string, string>, Partial<AgentConfig>]> = [
  ['defaults from env identity', [], env, {}],
  [
    'token file (flag and env)',
    ['--token-file', '/var/run/secrets/netchecker/token'],
    env,
    { tokenFile: '/var/run/secrets/netchecker/token' },
  ],
  [
    'original single-dash flags',
    [
      '-serverendpoint',
      '10.0.0.1:31081',
      '-reportinterval',
      '15',
      '-probeurls',
      'http://a.example/x;https://b.example',
      '-zeroextenderlength',
      '0',
    ],
    env,
    {
      serverUrl: 'http://10.0.0.1:31081',
      reportUrl: 'http://10.0.0.1:31081/api/v1/agents/netchecker-agent-x7k2p',
      pingUrl: 'http://10.0.0.1:31081/api/v1/ping',
      intervalSeconds: 15,
      probeUrls: ['http://a.example/x', 'https://b.example/'],
      zeroExtenderLength: 0,
    },
  ],
  [
    'original flags with -- and =',
    ['--serverendpoint=[::1]:8081', '--reportinterval=2'],
    env,
    {
      serverUrl: 'http://[::1]:8081',
      reportUrl: 'http://[::1]:8081/api/v1/agents/netchecker-agent-x7k2p',
      pingUrl: 'http://[::1]:8081/api/v1/ping',
      intervalSeconds: 2,
      timeoutMs: 1000,
    },
  ],
  [
    'long forms',
    [
      '--server',
      'https://exporter.example/prefix/',
      '--interval',
      '10',
      '--probe-urls',
      'http://a.example',
      '--timeout',
      '2.5',
      '--log-level',
      'debug',
      '--network',
      'host',
    ],
    env,
    {
      serverUrl: 'https://exporter.example/prefix',
      reportUrl: 'https://exporter.example/prefix/api/v1/agents/netchecker-agent-x7k2p',
      pingUrl: 'https://exporter.example/prefix/api/v1/ping',
      intervalSeconds: 10,
      probeUrls: ['http://a.example/'],
      timeoutMs: 2500,
      logLevel: 'debug',
      network: 'host',
    },
  ],
  [
    'flags win over env',
    ['--name', 'other', '--node', ''],
    env,
    { name: 'other', nodeName: '', reportUrl: 'http://netchecker-service:8081/api/v1/agents/other' },
  ],
  ['empty node name', [], { MY_POD_NAME: 'a' }, { name: 'a', nodeName: '', reportUrl: 'http://netchecker-service:8081/api/v1/agents/a' }],
  [
    'hostnet name means host network',
    [],
    { MY_POD_NAME: 'netchecker-agent-hostnet-abcde' },
    {
      name: 'netchecker-agent-hostnet-abcde',
      nodeName: '',
      network: 'host',
      reportUrl: 'http://netchecker-service:8081/api/v1/agents/netchecker-agent-hostnet-abcde',
    },
  ],
  [
    'env network wins over the name rule',
    [],
    { ...env, MY_POD_NAME: 'x-hostnet', NETCHECKER_NETWORK: 'pod' },
    { name: 'x-hostnet', network: 'pod', reportUrl: 'http://netchecker-service:8081/api/v1/agents/x-hostnet' },
  ],
  [
    "kubespray's agent arguments",
    ['-v=5', '-alsologtostderr=true', '-serverendpoint=netchecker-service:8081', '-reportinterval=60'],
    env,
    { notes: [glogNote] },
  ],
  ['glog flags in Go spellings: one note for all', ['-v', '0', '--logtostderr', '-alsologtostderr=f'], env, { notes: [glogNote] }],
  ['default timeout is half a short interval', ['--interval', '1'], env, { intervalSeconds: 1, timeoutMs: 500 }],
];

const kube = { ...env, KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
const dnsDefaults = { servers: null, names: ['netchecker-service', 'kubernetes.default.svc.cluster.local'] };
const apiServer = (
  name: string,
  port: number,
  path = '/readyz',
  caFile: string | null = null,
  dns = dnsDefaults,
): Partial<AgentConfig> => ({
  probes: {
    ...defaults.probes,
    dns,
    apiServer: {
      targets: [
        { via: 'service', host: '10.96.0.1', port },
        { via: 'dns', host: name, port },
      ],
      path,
      caFile,
    },
  },
});
ok.push(
  ['in Kubernetes: the API server through its Service address and name', [], kube, apiServer('kubernetes.default.svc.cluster.local', 443)],
  [
    'API server flags',
    ['--cluster-domain', 'k8s.example', '--api-server-path', '/version', '--api-server-ca', '/etc/ca.pem'],
    { ...kube, KUBERNETES_SERVICE_PORT: '6443' },
    apiServer('kubernetes.default.svc.k8s.example', 6443, '/version', '/etc/ca.pem', {
      servers: null,
      names: ['netchecker-service', 'kubernetes.default.svc.k8s.example'],
    }),
  ],
  ['--no-api-server', ['--no-api-server'], kube, { probes: { ...defaults.probes, dns: dnsDefaults } }],
);

for (const [name, argv, e, want] of ok) {
  t.test(name, async (t) => {
    const r = parseAgentConfig(argv, e);
    if (!r.ok || r.help) return t.fail(`expected a config, got ${JSON.stringify(r)}`);
    t.same(r.config, { ...defaults, ...want });
    t.ok(Object.isFrozen(r.config));
  });
}

const bad: Array<[string[], Record<string, string>, string]> = [
  [[], {}, '--name is required (or env MY_POD_NAME)'],
  [['--name', 'Bad_Name'], {}, '--name "Bad_Name" is not a valid pod name (lowercase RFC 1123 subdomain)'],
  [
    ['-serverendpoint', 'netchecker-service'],
    env,
    '-serverendpoint must be HOST:PORT with a port from 1 to 65535, got "netchecker-service"',
  ],
  [['-serverendpoint', ':8081'], env, '-serverendpoint must be HOST:PORT with a port from 1 to 65535, got ":8081"'],
  [['-serverendpoint', 'h:0'], env, '-serverendpoint must be HOST:PORT with a port from 1 to 65535, got "h:0"'],
  [['-serverendpoint', 'h:1', '--server', 'http://h:1'], env, 'give either --server or -serverendpoint, not both'],
  [['--server', 'ftp://h'], env, '--server must be an http(s) URL without query, got "ftp://h"'],
  [['--server', 'http://h/?q=1'], env, '--server must be an http(s) URL without query, got "http://h/?q=1"'],
  [['-reportinterval', '0'], env, '--interval must be an integer from 1 to 3600, got 0'],
  [['--interval', '1.5'], env, '--interval must be an integer from 1 to 3600, got 1.5'],
  [['--interval', '3601'], env, '--interval must be an integer from 1 to 3600, got 3601'],
  [['--interval', 'soon'], env, '--interval must be an integer from 1 to 3600, got "soon"'],
  [['-probeurls', 'http://ok.example,tcp://x'], env, '--probe-urls: "tcp://x" is not an http(s) URL'],
  [['-probeurls', Array.from({ length: 32 }, (_, i) => `http://h${i}/`).join(',')], env, '--probe-urls: at most 31 URLs'],
  [['-probeurls', `http://h/${'a'.repeat(600)}`], env, `--probe-urls: "http://h/${'a'.repeat(51)}..." is longer than 512 characters`],
  [['--listen', 'localhost:8090'], env, '--listen host must be an IP address (or give --advertise IP), got "localhost"'],
  [['--advertise', 'node-1'], env, '--advertise must be IP addresses, got "node-1"'],
  [['--advertise', '10.0.0.1,10.0.0.2'], env, '--advertise takes at most one IPv4 and one IPv6 address, got "10.0.0.1,10.0.0.2"'],
  [['-zeroextenderlength', '-1'], env, '--zero-extender-length must be an integer from 0 to 65535, got -1'],
  [['--zero-extender-length', '65536'], env, '--zero-extender-length must be an integer from 0 to 65535, got 65536'],
  [['--network', 'both'], env, '--network must be one of pod, host, got "both"'],
  [['--interval', '10', '--timeout', '10'], env, '--timeout must be more than 0 and less than --interval (10 s), got 10'],
  [['--timeout', '0'], env, '--timeout must be more than 0 and less than --interval (60 s), got 0'],
  [['--log-level', 'loud'], env, '--log-level must be one of debug, info, warn, error, got "loud"'],
  [['--bogus'], env, 'unknown flag "--bogus" (see --help)'],
  [['-serverendpoint', '[1:2:3]:80'], env, '-serverendpoint must be HOST:PORT with a port from 1 to 65535, got "[1:2:3]:80"'],
  [['-v=loud'], env, '-v must be an integer, got "loud"'],
  [['-v=1.5'], env, '-v must be an integer, got 1.5'],
  [['-alsologtostderr=maybe'], env, '-alsologtostderr must be true or false, got "maybe"'],
  [['-logtostderr', 'true'], env, 'unexpected argument "true"'],
  [['-v'], env, 'flag -v needs a value'],
  [['--api-server-path', 'readyz'], env, '--api-server-path must be a URL path starting with /, got "readyz"'],
  [['--api-server-name', 'a b'], env, '--api-server-name must be a host name or IP address, got "a b"'],
  [
    [],
    { ...env, KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: 'https' },
    'KUBERNETES_SERVICE_PORT must be a port from 1 to 65535, got "https"',
  ],
];

for (const [argv, e, error] of bad) {
  t.test(`rejects ${JSON.stringify(argv)}`, async (t) => {
    t.same(parseAgentConfig(argv, e), { ok: false, error });
  });
}

t.test('help', async (t) => {
  t.same(parseAgentConfig(['--help'], {}), { ok: true, help: true, version: false });
  const text = commandHelp(agentCommand);
  for (const f of AGENT_FLAGS) t.match(text, flagLabel(f));
  t.match(text, '-serverendpoint');
  t.match(text, 'env MY_POD_NAME');
});
