// The CLI as a user runs it: help, bad flags, exit codes of `check`, clean shutdown.
import t from 'tap';
import { runCli, spawnCli } from './helpers/cli.js';
import { FakeClock, postReport, report, startTestExporter } from './helpers/exporter.js';

t.test('help for the CLI and each command', async (t) => {
  const top = await runCli(['--help']);
  t.equal(top.status, 0);
  for (const c of ['exporter', 'agent', 'local', 'check']) t.match(top.stdout, new RegExp(`^  ${c} `, 'm'));
  t.equal((await runCli([])).status, 2, 'no command: usage and exit 2');
  const expectFlags: Record<string, string[]> = {
    exporter: [
      '--listen HOST:PORT, -endpoint',
      '--expect NAME',
      '--expect-file',
      '--report-ttl',
      '--max-body-bytes',
      '--legacy-metrics',
      '--log-level',
      '-kubeproxyinit',
      '-v LEVEL',
      '-logtostderr',
      '-alsologtostderr',
    ],
    agent: [
      '--server URL',
      '-serverendpoint',
      '-reportinterval',
      '-probeurls',
      '-zeroextenderlength',
      '--network',
      'MY_POD_NAME',
      '-v LEVEL',
      '-alsologtostderr',
    ],
    local: ['--listen', '--interval'],
    check: ['--server URL', '--json', 'NETCHECKER_SERVER'],
  };
  for (const [command, flags] of Object.entries(expectFlags)) {
    const r = await runCli([command, '--help']);
    t.equal(r.status, 0, `${command} --help`);
    for (const f of flags) t.ok(r.stdout.includes(f), `${command} --help mentions ${f}`);
  }
});

t.test('bad flags fail at start with a message naming the flag', async (t) => {
  const cases: Array<[string[], number, RegExp]> = [
    [['frobnicate'], 2, /unknown command "frobnicate"/],
    [['exporter', '--listen', 'nowhere'], 2, /--listen must be HOST:PORT/],
    [['exporter', '--bogus'], 2, /unknown flag "--bogus"/],
    [['exporter', '--report-ttl', 'soon'], 2, /--report-ttl must be an integer from 1 to 2592000, got "soon"/],
    [['exporter', '--max-body-bytes', '10'], 2, /--max-body-bytes must be an integer from 1024/],
    [['exporter', '--log-level', 'loud'], 2, /--log-level must be/],
    [
      ['exporter', '--expect', 'Not/A/Pod', '--listen', '127.0.0.1:0'],
      2,
      /^netchecker exporter: --expect: expected agent "Not\/A\/Pod" is not a valid pod name$/,
    ],
    [
      ['exporter', '--expect-file', '/nonexistent/agents.txt', '--listen', '127.0.0.1:0'],
      2,
      /^netchecker exporter: --expect-file \/nonexistent\/agents.txt: ENOENT$/,
    ],
    [
      ['exporter', '--auth', 'token', '--auth-token-file', '/nonexistent/token', '--listen', '127.0.0.1:0'],
      2,
      /^netchecker exporter: --auth-token-file \/nonexistent\/token: ENOENT$/,
    ],
    [['agent'], 2, /name/],
    [['agent', '--name', 'a', '--interval', '0'], 2, /interval/],
    [['check', '--server', 'ftp://x'], 2, /--server must be an http\(s\) URL/],
  ];
  for (const [args, status, message] of cases) {
    const r = await runCli(args);
    t.equal(r.status, status, args.join(' '));
    t.match(r.stderr.trimEnd(), message, args.join(' '));
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    if (args[0] !== 'frobnicate') t.equal(r.stderr.trimEnd().split('\n').length, 1, `${args.join(' ')}: one line`);
  }
});

t.test('check: exit 0 on pass, 1 on fail with one line per problem agent, 2 when unreachable', async (t) => {
  const clock = new FakeClock();
  const ex = await startTestExporter(t, ['--expect', 'agent-a,agent-b', '--startup-grace', '0'], clock);
  await postReport(ex.url, 'agent-a', report({ report_interval: 5 }));
  await postReport(ex.url, 'agent-b', report({ report_interval: 5, nodename: 'node-b' }));
  const pass = await runCli(['check', '--server', ex.url]);
  t.equal(pass.status, 0);
  t.match(pass.stdout, /^PASS: All 2 pods successfully reported back to the server\n2 agents, 2 ok\n$/);

  clock.advance(11);
  await postReport(ex.url, 'agent-a', report({ report_interval: 5 }));
  const fail = await runCli(['check', '--server', ex.url]);
  t.equal(fail.status, 1);
  t.match(fail.stdout, /^FAIL: Connectivity check fails/);
  t.match(fail.stdout, /^ {2}outdated {2}agent-b \(node node-b, pod network\): last report 11\.0 s ago, more than 2 x its 5 s interval$/m);
  t.notMatch(fail.stdout, /agent-a/, 'agents that are ok are not listed');

  const asJson = await runCli(['check', '--json'], { NETCHECKER_SERVER: ex.url });
  t.equal(asJson.status, 1);
  t.match(JSON.parse(asJson.stdout), { Absent: [], Outdated: ['agent-b'] });

  const closed = await startTestExporter(t);
  const url = closed.url;
  await closed.close();
  const gone = await runCli(['check', '--server', url, '--timeout', '2']);
  t.equal(gone.status, 2);
  t.match(gone.stderr, /cannot reach/);
});

t.test('exporter: SIGTERM shuts down cleanly with exit 0', async (t) => {
  const ex = spawnCli(t, ['exporter', '--listen', '127.0.0.1:0']);
  const [, url] = (await ex.waitFor(/"msg":"exporter listening".*?"url":"([^"]+)"/)) as [string, string];
  t.equal((await fetch(`${url}/healthz`)).status, 200);
  ex.child.kill('SIGTERM');
  t.equal(await ex.exited(), 0);
  t.match(ex.stderr, /"msg":"shutting down".*"signal":"SIGTERM"/);
});

t.test('exporter: --heap-growth takes 0 to 300 percent; a bad value stops it at start', async (t) => {
  for (const bad of ['-1', '301', '12.5', 'lots']) {
    const r = await runCli(['exporter', '--listen', '127.0.0.1:0', '--heap-growth', bad]);
    t.equal(r.status, 2, `--heap-growth ${bad}: exit 2`);
    t.match(r.stderr, /--heap-growth/, 'the error names the flag');
  }
  t.match((await runCli(['exporter', '--help'])).stdout, /--heap-growth PERCENT\s+After a full GC[^]*GOGC/);
});
