// Every inhibit rule of alerts/alertmanager.example.yaml: its source alerts fire no later than
// the alerts it silences. Alertmanager only inhibits while the source fires, so a target whose
// for: ends first notifies before it is silenced (issue 12: AgentOutdated paged 7 s before the
// NodeUnreachable that should have silenced it). Both start from signals that appear up to one
// report interval plus one evaluation apart, hence a margin of 1 minute, not mere equality.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { readRuleDir } from '../alerts/rules.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MARGIN_SECONDS = 60;
const alerts = readRuleDir(`${ROOT}alerts/rules`).flatMap((g) => g.rules.filter((r) => r.alert));
const config = parse(readFileSync(`${ROOT}alerts/alertmanager.example.yaml`, 'utf8')) as {
  inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal: string[] }>;
};

function seconds(d: string | undefined): number {
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  return [...(d ?? '0s').matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)].reduce((sum, m) => sum + Number(m[1]) * (unit[m[2] as string] ?? NaN), 0);
}

/** Alert names an Alertmanager matcher list selects (alertname matchers; others are rejected). */
function select(matchers: readonly string[]): string[] {
  const tests = matchers.map((m) => {
    const x = /^alertname(=~|!~|=|!=)"(.*)"$/.exec(m);
    if (!x) throw new Error(`only alertname matchers are understood here: ${m}`);
    const [, op, v] = x as unknown as [string, string, string];
    const re = new RegExp(`^(?:${op.includes('~') ? v : v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})$`);
    return (name: string) => re.test(name) === !op.startsWith('!');
  });
  return alerts.map((a) => a.alert as string).filter((n) => tests.every((f) => f(n)));
}

t.test('every inhibitor fires at least 1m before every alert it inhibits', async (t) => {
  t.ok(config.inhibit_rules.length >= 5, `${config.inhibit_rules.length} inhibit rules`);
  for (const rule of config.inhibit_rules) {
    const sources = select(rule.source_matchers);
    const targets = select(rule.target_matchers).filter((n) => !sources.includes(n));
    t.ok(sources.length > 0 && targets.length > 0, `${rule.source_matchers.join(' ')} -> ${targets.length} alerts`);
    for (const s of sources) {
      for (const x of targets) {
        const [fs, fx] = [seconds(alerts.find((a) => a.alert === s)?.for), seconds(alerts.find((a) => a.alert === x)?.for)];
        t.ok(fs + MARGIN_SECONDS <= fx, `${s} (for ${fs}s) fires before ${x} (for ${fx}s)`);
      }
    }
  }
});

t.test('the per-node inhibit rule names every alert that carries a node, and only those', async (t) => {
  const rule = config.inhibit_rules.find(
    (r) => r.source_matchers.includes('alertname="NetcheckerNodeUnreachable"') && r.equal.includes('node'),
  );
  const perNode = alerts
    .filter((a) => a.alert !== 'NetcheckerNodeUnreachable' && /\$labels\.node\b/.test(a.annotations?.summary ?? ''))
    .map((a) => a.alert as string);
  t.same(select(rule?.target_matchers ?? []).sort(), perNode.filter((n) => n !== 'NetcheckerPeerUnreachable').sort());
});
