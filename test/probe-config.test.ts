// The probe flags of the agent: defaults that never touch this machine's resolver outside
// Kubernetes, and clear startup errors for bad values.
import t from 'tap';
import { parseAgentConfig } from '../agent/config.js';
import { runCli } from './helpers/cli.js';

const env = { MY_POD_NAME: 'agent-a' };
const probes = (argv: string[], e: Record<string, string> = env) => {
  const p = parseAgentConfig(argv, e);
  if (!p.ok || p.help) throw new Error(p.ok ? 'help' : p.error);
  return p.config.probes;
};
const error = (argv: string[]): string => {
  const p = parseAgentConfig(argv, env);
  return p.ok ? 'accepted' : p.error;
};

t.test('defaults and forms', async (t) => {
  t.same(
    probes([]),
    {
      dns: null,
      listen: null,
      advertise: null,
      peerAttempts: 3,
      mtuSizes: [1200, 1400, 1450, 1500],
      icmp: true,
      apiServer: null,
      mustBeBlocked: [],
    },
    'outside Kubernetes: no DNS, no mesh',
  );
  t.same(
    probes([], { ...env, KUBERNETES_SERVICE_HOST: '10.96.0.1' }).dns,
    {
      servers: null,
      names: ['netchecker-service', 'kubernetes.default.svc.cluster.local'],
    },
    'in Kubernetes: resolv.conf, the service name and the API name',
  );
  t.same(probes(['--dns-server', '198.18.0.2,[fd00::53]:5353', '--dns-names', 'a.example', '--cluster-domain', 'c.local']).dns, {
    servers: ['198.18.0.2', '[fd00::53]:5353'],
    names: ['a.example'],
  });
  t.same(
    probes(['--server', 'http://198.18.0.2:8081', '--dns-server', '198.18.0.2', '--cluster-domain', 'c.local']).dns?.names,
    ['kubernetes.default.svc.c.local'],
    'an IP server has no name to look up',
  );
  t.equal(probes(['--dns-server=']).dns, null, 'an empty list turns DNS off (what netchecker local passes)');
  t.same(probes(['--listen', '0.0.0.0:8090', '--advertise', '198.18.0.11']), {
    dns: null,
    listen: { host: '0.0.0.0', port: 8090 },
    advertise: ['198.18.0.11'],
    peerAttempts: 3,
    mtuSizes: [1200, 1400, 1450, 1500],
    icmp: true,
    apiServer: null,
    mustBeBlocked: [],
  });
  t.same(
    probes([], { ...env, MY_POD_IP: '10.244.1.5', NETCHECKER_LISTEN: '0.0.0.0:8090' }).advertise,
    ['10.244.1.5'],
    'MY_POD_IP from the downward API',
  );
  t.same(
    probes([], { ...env, MY_POD_IP: '10.244.1.5,fd00:10:244::5', NETCHECKER_LISTEN: '0.0.0.0:8090' }).advertise,
    ['10.244.1.5', 'fd00:10:244::5'],
    'status.podIPs of a dual-stack pod: one address per family',
  );
  t.same(probes(['--mtu-sizes', '', '--no-icmp', '--peer-attempts', '5']), {
    dns: null,
    listen: null,
    advertise: null,
    peerAttempts: 5,
    mtuSizes: [],
    icmp: false,
    apiServer: null,
    mustBeBlocked: [],
  });
});

t.test('bad values are startup errors naming the flag', async (t) => {
  t.match(error(['--dns-server', 'dns.example']), /--dns-server: "dns.example" is not an IP address/);
  t.match(error(['--listen', 'nowhere']), /--listen must be HOST:PORT/);
  t.match(error(['--advertise', 'my-pod']), /--advertise must be IP addresses/);
  t.match(error(['--mtu-sizes', '1500,big']), /--mtu-sizes must be an integer from 68 to 65535/);
  t.match(error(['--mtu-sizes', '40']), /--mtu-sizes must be an integer from 68 to 65535/);
  t.match(error(['--peer-attempts', '0']), /--peer-attempts must be an integer from 1 to 100/);
  const cli = await runCli(['agent', '--name', 'agent-a', '--listen', 'x'], {});
  t.equal(cli.status, 2);
  t.match(cli.stderr, /^netchecker agent: --listen must be HOST:PORT/);
});

t.test('a listen address already taken: a clear startup error, no stack trace', async (t) => {
  const net = await import('node:net');
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  t.teardown(() => taken.close());
  const port = (taken.address() as import('node:net').AddressInfo).port;
  const cli = await runCli(
    ['agent', '--name', 'agent-a', '--server', 'http://127.0.0.1:1', '--listen', `127.0.0.1:${port}`, '--no-icmp'],
    {},
  );
  t.equal(cli.status, 1);
  t.match(cli.stderr, new RegExp(`netchecker agent: cannot listen on 127.0.0.1:${port}: EADDRINUSE`));
  t.notMatch(cli.stderr, /\bat .*\.js:\d+/);
});
