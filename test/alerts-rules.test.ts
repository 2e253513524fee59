// The alert rule files as a user loads them: promtool accepts them, the promtool unit tests in
// alerts/tests/ pass and cover every alert (firing with labels and annotations, and a case where
// it must stay quiet), and every alert carries what an on-call person needs.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { ruleGroups } from '../alerts/generate.js';
import { alertNames, readRuleDir, renderRuleFile } from '../alerts/rules.js';
import { DEFAULT_CLUSTER_LABEL, DEFAULT_EXPORTER_JOB, DEFAULT_RUNBOOK_BASE_URL, parseSettings } from '../alerts/settings.js';
import { requireBinary } from './helpers/prometheus.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RULE_FILES = readdirSync(`${ROOT}alerts/rules`)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => `alerts/rules/${f}`);
const TEST_FILES = readdirSync(`${ROOT}alerts/tests`)
  .filter((f) => f.endsWith('.test.yaml'))
  .map((f) => `alerts/tests/${f}`);
const rules = readRuleDir(`${ROOT}alerts/rules`).flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert);

function seconds(d: string): number {
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  return [...d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)].reduce((sum, m) => sum + Number(m[1]) * (unit[m[2] as string] ?? NaN), 0);
}

t.test('promtool check rules accepts every rule file, legacy included', async (t) => {
  const promtool = requireBinary(t, 'prometheus', 'promtool');
  if (!promtool) return;
  const r = spawnSync(promtool, ['check', 'rules', ...RULE_FILES, 'alerts/legacy/ncagent.yaml'], { cwd: ROOT, encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.equal((r.stdout.match(/SUCCESS/g) ?? []).length, RULE_FILES.length + 1);
});

t.test('promtool test rules: every unit test passes', async (t) => {
  const promtool = requireBinary(t, 'prometheus', 'promtool');
  if (!promtool) return;
  for (const file of TEST_FILES) {
    const r = spawnSync(promtool, ['test', 'rules', file], { cwd: ROOT, encoding: 'utf8' });
    t.equal(r.status, 0, `${file}\n${r.stdout}${r.stderr}`);
  }
});

t.test('every unit test file that loads the recording rules evaluates them first', async (t) => {
  // Without group_eval_order promtool evaluates the groups in map order, which is random: an
  // alert then reads a recording rule one step late now and then, and a test at its for: fails.
  for (const file of TEST_FILES) {
    const text = readFileSync(`${ROOT}${file}`, 'utf8');
    if (!text.includes('../rules/recording.yaml')) continue;
    t.match(text, /^group_eval_order: \[netchecker\.recording, /m, file);
  }
});

t.test('the unit tests would catch a broken alert (a shorter for: makes them fail)', async (t) => {
  const promtool = requireBinary(t, 'prometheus', 'promtool');
  if (!promtool) return;
  const broken = readFileSync(`${ROOT}alerts/rules/presence.yaml`, 'utf8').replace(/(alert: NetcheckerAgentAbsent[\s\S]*?for: )6m/, '$11m');
  t.not(broken, readFileSync(`${ROOT}alerts/rules/presence.yaml`, 'utf8'));
  const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  t.teardown(() => execFileSync('rm', ['-rf', dir]));
  execFileSync('sh', [
    '-c',
    `mkdir -p ${dir}/rules ${dir}/tests && cp ${ROOT}alerts/rules/*.yaml ${dir}/rules/ && cp ${ROOT}alerts/tests/presence.test.yaml ${dir}/tests/`,
  ]);
  execFileSync('sh', ['-c', `cat > ${dir}/rules/presence.yaml`], { input: broken });
  const r = spawnSync(promtool, ['test', 'rules', 'tests/presence.test.yaml'], { cwd: dir, encoding: 'utf8' });
  t.equal(r.status, 1, 'promtool test rules fails');
  t.match(r.stdout + r.stderr, /alertname: NetcheckerAgentAbsent, time: 5m/);
});

t.test('a restarting agent raises no loss or latency alert even with a for: shorter than the window', async (t) => {
  const promtool = requireBinary(t, 'prometheus', 'promtool');
  if (!promtool) return;
  const settings = parseSettings(
    { for: { NetcheckerPacketLoss: '1m', NetcheckerHighLatency: '1m' } },
    alertNames(readRuleDir(`${ROOT}alerts/rules`)),
  );
  if (!settings.ok) throw new Error(settings.error);
  const generated = renderRuleFile(ruleGroups(ROOT, settings.value));
  // The churn of the moment only, as before: the test must catch it.
  const momentary = generated.replace(/max_over_time\((agent:netchecker_agent_away:max\{[^}]*\})\[\d+m\]\)/g, '$1');
  t.not(momentary, generated);
  const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  t.teardown(() => execFileSync('rm', ['-rf', dir]));
  execFileSync('sh', [
    '-c',
    `mkdir -p ${dir}/rules ${dir}/tests && cp ${ROOT}alerts/tests/restart.test.yaml ${dir}/tests/ && echo 'groups: []' > ${dir}/rules/recording.yaml`,
  ]);
  const run = (rules: string): SpawnSyncReturns<string> => {
    execFileSync('sh', ['-c', `cat > ${dir}/rules/mesh.yaml`], { input: rules });
    return spawnSync(promtool, ['test', 'rules', 'tests/restart.test.yaml'], { cwd: dir, encoding: 'utf8' });
  };
  const good = run(generated);
  t.equal(good.status, 0, `promtool test rules passes with for: 1m${good.status === 0 ? '' : `: ${good.stdout}${good.stderr}`}`);
  const bad = run(momentary);
  t.equal(bad.status, 1, 'it fails when only the churn of the moment is left out');
  t.match(`${bad.stdout}${bad.stderr}`, /alertname: NetcheckerPacketLoss/);
});

t.test('every alert is covered by a firing test and a must-not-fire test', async (t) => {
  interface AlertTest {
    alertname: string;
    exp_alerts: Array<{ exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }>;
  }
  const cases = TEST_FILES.flatMap((f) => {
    const doc = parse(readFileSync(`${ROOT}${f}`, 'utf8')) as { tests: Array<{ alert_rule_test?: AlertTest[] }> };
    return doc.tests.flatMap((x) => x.alert_rule_test ?? []);
  });
  for (const { alert } of alerts) {
    const mine = cases.filter((c) => c.alertname === alert);
    const firing = mine.filter((c) => c.exp_alerts.length > 0);
    t.ok(firing.length > 0, `${alert} has a firing test`);
    t.ok(
      firing.every((c) =>
        c.exp_alerts.every(
          (a) => a.exp_annotations && ['summary', 'description', 'runbook_url'].every((k) => k in (a.exp_annotations ?? {})),
        ),
      ),
      `${alert}: firing tests check every annotation`,
    );
    t.ok(
      mine.some((c) => c.exp_alerts.length === 0),
      `${alert} has a must-not-fire test`,
    );
  }
});

t.test('every alert: name, severity, for:, annotations naming node or network and the value, runbook', async (t) => {
  t.ok(alerts.length >= 17, `${alerts.length} alerts`);
  for (const a of alerts) {
    const name = a.alert as string;
    t.match(name, /^Netchecker[A-Z][A-Za-z]+$/, 'name');
    t.match(a.labels?.severity, /^(critical|warning|info)$/, `${name} severity`);
    t.ok(a.for && seconds(a.for) >= 120, `${name} for: ${a.for} is at least 2m, so a blip or an exporter restart does not page`);
    if (name !== 'NetcheckerExporterDown') t.ok(a.keep_firing_for, `${name} keeps firing while the exporter is down`);
    const ann = a.annotations ?? {};
    t.same(Object.keys(ann).sort(), ['description', 'runbook_url', 'summary'], `${name} annotations`);
    t.match(ann.description, /\{\{ \$value/, `${name} description gives the value`);
    const where = `${ann.summary} ${ann.description}`;
    t.ok(
      /\$labels\.(node|network|job)/.test(where) || a.labels?.network !== undefined || /cluster|agents/.test(where),
      `${name} names the node, network or scope`,
    );
    t.equal(ann.runbook_url, `${DEFAULT_RUNBOOK_BASE_URL}/${name}.md`, `${name} runbook_url`);
    const runbook = `${ROOT}docs/runbooks/${name}.md`;
    t.ok(existsSync(runbook), `${runbook} exists`);
    if (!existsSync(runbook)) continue;
    const text = readFileSync(runbook, 'utf8');
    t.match(text, new RegExp(`^# ${name}$`, 'm'), `${name} runbook title`);
    for (const section of ['Meaning', 'Impact', 'Confirm', 'Mitigate'])
      t.match(text, new RegExp(`^## ${section}`, 'm'), `${name} runbook has ${section}`);
    t.match(text, /kubectl /, `${name} runbook gives kubectl commands`);
  }
});

t.test('churn and agent-fault states never feed a network alert; agent faults only NetcheckerAgentDown', async (t) => {
  const churn = ['starting', 'terminating', 'node_not_ready', 'node_cordoned'];
  const agentFault = ['not_scheduled', 'pod_not_running', 'agent_not_ready'];
  const rec = rules.find((r) => r.record === 'agent:netchecker_agent_churn:max');
  for (const s of [...churn, ...agentFault]) t.match(rec?.expr, s, `${s} silences the agent's network alerts`);
  const down = alerts.find((a) => a.alert === 'NetcheckerAgentDown');
  t.equal(down?.labels?.severity, 'warning', 'an agent fault never pages');
  for (const s of agentFault) t.match(down?.expr, s, `${s} is an agent fault`);
  for (const a of alerts.filter((x) => /netchecker_agent_state/.test(x.expr) && x.alert !== 'NetcheckerAgentDown')) {
    t.notMatch(a.expr, new RegExp([...churn, ...agentFault].join('|')), `${a.alert} matches only network evidence`);
  }
  // The DNS replica series count only agents whose state is ok: churn is left out by the exporter.
  const counted = ['NetcheckerExporterDown', 'NetcheckerDnsReplicaFailing'];
  for (const a of alerts.filter((x) => x.labels?.severity === 'critical' && !counted.includes(x.alert ?? ''))) {
    t.match(a.expr, /agent:netchecker_agent_churn:max/, `${a.alert} (critical) leaves out agents in churn or down`);
  }
});

/** Every vector selector of an expression: metric name and its matchers ('' when bare). */
function selectors(expr: string): Array<{ name: string; matchers: string }> {
  const out: Array<{ name: string; matchers: string }> = [];
  for (const m of expr.matchAll(/(?<![\w:"])([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?(?!\s*\()/g)) {
    const name = m[1] as string;
    if (!/^(netchecker_|ncagent_|up$|ALERTS$)|:/.test(name)) continue;
    out.push({ name, matchers: m[2] ?? '' });
  }
  return out;
}

t.test('every selector carries the job selector; every aggregation and join keeps namespace, job and cluster', async (t) => {
  const job = `job="${DEFAULT_EXPORTER_JOB}"`;
  for (const r of rules) {
    const name = r.alert ?? r.record;
    const sel = selectors(r.expr);
    t.ok(sel.length > 0, `${name} has selectors`);
    for (const x of sel) t.ok(x.matchers.includes(job), `${name}: ${x.name}${x.matchers} carries ${job}`);
    for (const m of r.expr.matchAll(/\b(by|on)\s*\(([^)]*)\)/g)) {
      const labels = (m[2] as string).split(',').map((l) => l.trim());
      // `or on (job) absent(...)`: absent() has only the job to match on.
      if (m[1] === 'on' && /^\s*absent\(/.test(r.expr.slice((m.index ?? 0) + m[0].length))) continue;
      for (const l of ['namespace', 'job', DEFAULT_CLUSTER_LABEL]) t.ok(labels.includes(l), `${name}: ${m[0]} keeps ${l}`);
    }
    for (const m of r.expr.matchAll(/\bwithout\s*\(([^)]*)\)/g)) {
      t.notMatch(m[1], /\b(namespace|job|cluster)\b/, `${name}: ${m[0]} keeps namespace, job and cluster`);
    }
    t.notMatch(
      r.expr,
      /\b(sum|avg|max|min|count|group|stddev|topk|bottomk|quantile)\s*\(/,
      `${name}: every aggregation says by (...) or without (...)`,
    );
  }
});

t.test('in the promtool tests every firing alert carries namespace and job', async (t) => {
  interface AlertTest {
    alertname: string;
    exp_alerts: Array<{ exp_labels: Record<string, string> }>;
  }
  const firing = TEST_FILES.filter((f) => !f.includes('legacy')).flatMap((f) => {
    const doc = parse(readFileSync(`${ROOT}${f}`, 'utf8')) as { tests: Array<{ name: string; alert_rule_test?: AlertTest[] }> };
    return doc.tests.flatMap((x) =>
      (x.alert_rule_test ?? []).flatMap((c) => c.exp_alerts.map((a) => ({ test: x.name, alert: c.alertname, labels: a.exp_labels }))),
    );
  });
  t.ok(firing.length >= alerts.length, `${firing.length} firing alerts checked`);
  for (const f of firing) {
    // absent() of an exporter never scraped cannot know the namespace: that one case only.
    const neverScraped = f.alert === 'NetcheckerExporterDown' && /never scraped/.test(f.test);
    t.ok(neverScraped || f.labels.namespace, `${f.test}: ${f.alert} has namespace`);
    t.ok(f.labels.job, `${f.test}: ${f.alert} has job`);
  }
});

t.test('README and the runbook index list every alert with its severity and for:', async (t) => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const index = readFileSync(`${ROOT}docs/runbooks/README.md`, 'utf8');
  for (const a of alerts) {
    t.match(readme, `| \`${a.alert}\` | ${a.labels?.severity} | ${a.for} |`, `README row of ${a.alert}`);
    t.match(index, `| [${a.alert}](${a.alert}.md) | ${a.labels?.severity} |`, `runbook index row of ${a.alert}`);
  }
});
