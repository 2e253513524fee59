// `npm run alerts:generate`: writes the monitoring bundle for deploy/ from the sources of truth,
// alerts/rules/*.yaml (and alerts/legacy/ when asked) and dashboards/*.ts:
//   deploy/components/monitoring/prometheusrule.yaml   the PrometheusRule
//   deploy/components/monitoring/dashboards.yaml       ConfigMaps for the Grafana sidecar
//   dashboards/*.json                                  the dashboards, for jsonnet and import
//   mixin/generated/bundle.json                        the monitoring mixin's rules and dashboards
// Settings (thresholds, for: overrides, exporter job, runbook base URL) come from --settings FILE.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { DASHBOARDS, renderDashboard } from '../dashboards/all.js';
import { helpText, parseFlags, type FlagSpec } from '../lib/flags.js';
import { renderMixinBundle } from './mixin.js';
import { GENERATED_HEADER, type RuleGroup, alertNames, applySettings, readRuleDir, renderPrometheusRule } from './rules.js';
import { DEFAULT_SETTINGS, type Settings, parseSettings } from './settings.js';

export const MONITORING_DIR = 'deploy/components/monitoring';
export const MIXIN_BUNDLE = 'mixin/generated/bundle.json';

/** The rule groups the settings select, before the settings are applied. */
function selectedGroups(root: string, s: Settings): RuleGroup[] {
  return [...readRuleDir(join(root, 'alerts/rules')), ...(s.legacy ? readRuleDir(join(root, 'alerts/legacy')) : [])];
}

/** The rule groups the settings select, with the settings applied. */
export function ruleGroups(root: string, s: Settings): RuleGroup[] {
  return applySettings(selectedGroups(root, s), s);
}

function dashboardConfigMaps(s: Settings): string {
  return DASHBOARDS.map(({ file, spec }) =>
    stringify(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `grafana-dashboard-${file.replace(/\.json$/, '')}`,
          // The grafana_folder annotation is a stack setting (deploy/components/stack-settings).
          labels: { grafana_dashboard: '1', 'app.kubernetes.io/name': 'netchecker', 'app.kubernetes.io/component': 'monitoring' },
        },
        data: { [file]: renderDashboard(spec, s) },
      },
      { lineWidth: 0 },
    ),
  ).join('---\n');
}

/** Every generated file (path relative to root -> content). */
export function bundle(root: string, s: Settings): Map<string, string> {
  const out = new Map<string, string>();
  out.set(`${MONITORING_DIR}/prometheusrule.yaml`, renderPrometheusRule(ruleGroups(root, s)));
  out.set(`${MONITORING_DIR}/dashboards.yaml`, GENERATED_HEADER + dashboardConfigMaps(s));
  for (const { file, spec } of DASHBOARDS) out.set(`dashboards/${file}`, renderDashboard(spec, s));
  out.set(MIXIN_BUNDLE, renderMixinBundle(selectedGroups(root, s), s));
  return out;
}

/** Reads and validates a settings file (YAML or JSON). */
export function loadSettings(root: string, path: string | undefined): { ok: true; value: Settings } | { ok: false; error: string } {
  if (!path) return { ok: true, value: DEFAULT_SETTINGS };
  let input: unknown;
  try {
    input = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return { ok: false, error: `${path}: ${(e as Error).message}` };
  }
  const names = alertNames([...readRuleDir(join(root, 'alerts/rules')), ...readRuleDir(join(root, 'alerts/legacy'))]);
  const parsed = parseSettings(input, names);
  return parsed.ok ? parsed : { ok: false, error: `${path}: ${parsed.error}` };
}

const flags = [
  {
    name: 'settings',
    kind: 'string',
    metavar: 'FILE',
    help: 'YAML settings: runbookBaseUrl, exporterJob, clusterLabel, keepFiringFor, thresholds, for, legacy.',
  },
  { name: 'root', kind: 'string', metavar: 'DIR', default: '.', help: 'Repository root to read from and write to.' },
] as const satisfies readonly FlagSpec[];

export function run(argv: readonly string[]): number {
  const parsed = parseFlags(flags, argv);
  if (!parsed.ok) {
    process.stderr.write(`alerts:generate: ${parsed.error}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(
      helpText('npm run alerts:generate -- [flags]', 'Writes the PrometheusRule, dashboard ConfigMaps and dashboard JSON.', flags),
    );
    return 0;
  }
  const { root } = parsed.values;
  const settings = loadSettings(root, parsed.values.settings);
  if (!settings.ok) {
    process.stderr.write(`alerts:generate: ${settings.error}\n`);
    return 2;
  }
  for (const [path, text] of bundle(root, settings.value)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
    process.stdout.write(`wrote ${path}\n`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = run(process.argv.slice(2));
