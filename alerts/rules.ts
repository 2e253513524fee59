// The rule files of alerts/ as data: read them, apply Settings (pure), and render them as a
// Prometheus rule file or as the prometheus-operator PrometheusRule for deploy/.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  DEFAULT_CLUSTER_LABEL,
  DEFAULT_EXPORTER_JOB,
  DEFAULT_RUNBOOK_BASE_URL,
  type Settings,
  THRESHOLDS,
  type ThresholdName,
} from './settings.js';

export interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly keep_firing_for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly Rule[];
}

const RULE_KEYS = new Set(['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: must be a mapping`);
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw new Error(`${where}.${k}: must be a string`);
  return v as Record<string, string>;
}

function decodeRule(v: unknown, where: string): Rule {
  if (typeof v !== 'object' || v === null) throw new Error(`${where}: a rule must be a mapping`);
  const r = v as Record<string, unknown>;
  const extra = Object.keys(r).find((k) => !RULE_KEYS.has(k));
  if (extra) throw new Error(`${where}: unknown key "${extra}"`);
  if (typeof r.expr !== 'string') throw new Error(`${where}: expr must be a string`);
  if ((typeof r.alert === 'string') === (typeof r.record === 'string')) throw new Error(`${where}: exactly one of alert and record`);
  if (r.for !== undefined && typeof r.for !== 'string') throw new Error(`${where}: for must be a string`);
  if (r.keep_firing_for !== undefined && typeof r.keep_firing_for !== 'string')
    throw new Error(`${where}: keep_firing_for must be a string`);
  const rule: Rule = {
    ...(typeof r.record === 'string' ? { record: r.record } : { alert: r.alert as string }),
    expr: r.expr,
    ...(r.for !== undefined ? { for: r.for } : {}),
    ...(r.keep_firing_for !== undefined ? { keep_firing_for: r.keep_firing_for } : {}),
  };
  const labels = stringMap(r.labels, `${where}.labels`);
  const annotations = stringMap(r.annotations, `${where}.annotations`);
  return { ...rule, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) };
}

/** Decodes one rule file's text (a `groups:` document). */
export function decodeRuleFile(text: string, where: string): RuleGroup[] {
  const doc = parse(text) as unknown;
  const groups = (doc as { groups?: unknown } | null)?.groups;
  if (!Array.isArray(groups)) throw new Error(`${where}: no groups`);
  return groups.map((g: unknown, i) => {
    const { name, rules } = g as { name?: unknown; rules?: unknown };
    if (typeof name !== 'string' || !Array.isArray(rules)) throw new Error(`${where}: group ${i} needs name and rules`);
    return { name, rules: rules.map((r: unknown, j) => decodeRule(r, `${where}: ${name}[${j}]`)) };
  });
}

/** Reads every *.yaml of a folder, in name order. */
export function readRuleDir(dir: string): RuleGroup[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => decodeRuleFile(readFileSync(join(dir, f), 'utf8'), join(dir, f)));
}

export function alertNames(groups: readonly RuleGroup[]): Set<string> {
  return new Set(groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))));
}

function literal(n: number): RegExp {
  return new RegExp(`(?<![\\w.])${String(n).replace('.', '\\.')}(?![\\w.])`, 'g');
}

/** The label lists of `by`, `without`, `on` and `ignoring` clauses. */
const GROUPING = /\b(by|without|on|ignoring)(\s*)\(([^()]*)\)/g;

/** `expr` with the cluster label of every grouping clause renamed. */
export function renameClusterLabel(expr: string, label: string): string {
  return expr.replace(
    GROUPING,
    (_, kw: string, sp: string, list: string) =>
      `${kw}${sp}(${list
        .split(',')
        .map((x) => (x.trim() === DEFAULT_CLUSTER_LABEL ? x.replace(DEFAULT_CLUSTER_LABEL, label) : x))
        .join(',')})`,
  );
}

/**
 * The groups with thresholds, job, cluster label, `for:`, `keep_firing_for:` and runbook base URL
 * of `s` in place of the defaults.
 */
export function applySettings(groups: readonly RuleGroup[], s: Settings): RuleGroup[] {
  const jobMatcher = `job="${DEFAULT_EXPORTER_JOB}"`;
  return groups.map((g) => ({
    name: g.name,
    rules: g.rules.map((r) => {
      let expr = renameClusterLabel(r.expr.replaceAll(jobMatcher, `job="${s.exporterJob}"`), s.clusterLabel);
      for (const [name, t] of Object.entries(THRESHOLDS)) {
        if (!r.alert || !(t.alerts as readonly string[]).includes(r.alert)) continue;
        if (!literal(t.default).test(expr)) throw new Error(`${r.alert}: threshold ${name} default ${t.default} is not in its expr`);
        expr = expr.replace(literal(t.default), String(s.thresholds[name as ThresholdName]));
      }
      const runbook = r.annotations?.runbook_url;
      const annotations = runbook?.startsWith(`${DEFAULT_RUNBOOK_BASE_URL}/`)
        ? { ...r.annotations, runbook_url: s.runbookBaseUrl + runbook.slice(DEFAULT_RUNBOOK_BASE_URL.length) }
        : r.annotations;
      const forOverride = r.alert ? s.for[r.alert] : undefined;
      return {
        ...r,
        expr,
        ...(forOverride ? { for: forOverride } : {}),
        ...(r.keep_firing_for ? { keep_firing_for: s.keepFiringFor } : {}),
        ...(annotations ? { annotations } : {}),
      };
    }),
  }));
}

const YAML_OPTIONS = { lineWidth: 0, blockQuote: 'literal' } as const;

/** A plain Prometheus rule file (what `rule_files:` loads). */
export function renderRuleFile(groups: readonly RuleGroup[]): string {
  return stringify({ groups }, YAML_OPTIONS);
}

export const GENERATED_HEADER = '# Generated by `npm run alerts:generate` from alerts/ and dashboards/: do not edit.\n';

/** The prometheus-operator object carrying the same groups. */
export function renderPrometheusRule(groups: readonly RuleGroup[]): string {
  const object = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'netchecker',
      labels: {
        'app.kubernetes.io/name': 'netchecker',
        'app.kubernetes.io/component': 'monitoring',
        prometheus: 'k8s',
        role: 'alert-rules',
      },
    },
    spec: { groups },
  };
  return GENERATED_HEADER + stringify(object, YAML_OPTIONS);
}
