// The monitoring mixin's data (mixin/generated/bundle.json), generated from the same sources as
// the PrometheusRule and the dashboards so the two cannot drift: the rule groups and dashboards
// rendered with marker settings (a job name, a cluster label, a runbook URL, a keep_firing_for
// and one number per threshold that appear nowhere else), the markers, and the default _config.
// mixin/mixin.libsonnet replaces each marker with the _config value; `for:` overrides it applies
// by alert name. Pure.

import { DASHBOARDS } from '../dashboards/all.js';
import { dashboard } from '../dashboards/grafana.js';
import { type RuleGroup, applySettings } from './rules.js';
import { type Settings, THRESHOLDS, type ThresholdName } from './settings.js';

const JOB_MARKER = 'NETCHECKER_MIXIN_JOB';
const thresholdMarker = (i: number): number => 1_234_500_001 + i;

export const MIXIN_MARKERS = Object.freeze({
  jobSelector: `job="${JOB_MARKER}"`,
  clusterLabel: 'netchecker_mixin_cluster_label',
  runbookBaseUrl: 'https://netchecker-mixin.invalid/runbooks',
  keepFiringFor: 'NETCHECKER_MIXIN_KEEP_FIRING_FOR',
  thresholds: Object.fromEntries(Object.keys(THRESHOLDS).map((name, i) => [name, String(thresholdMarker(i))])) as Record<
    ThresholdName,
    string
  >,
});

const markerSettings: Settings = Object.freeze({
  runbookBaseUrl: MIXIN_MARKERS.runbookBaseUrl,
  exporterJob: JOB_MARKER,
  clusterLabel: MIXIN_MARKERS.clusterLabel,
  keepFiringFor: MIXIN_MARKERS.keepFiringFor,
  thresholds: Object.fromEntries(Object.keys(THRESHOLDS).map((name, i) => [name, thresholdMarker(i)])) as Record<ThresholdName, number>,
  for: {},
  legacy: false,
});

/** The mixin's _config: the settings the bundle was generated with, in mixin terms. */
export function mixinConfig(s: Settings): Record<string, unknown> {
  return {
    jobSelector: `job="${s.exporterJob}"`,
    clusterLabel: s.clusterLabel,
    runbookBaseUrl: s.runbookBaseUrl,
    keepFiringFor: s.keepFiringFor,
    thresholds: s.thresholds,
    for: s.for,
  };
}

/** mixin/generated/bundle.json from the rule groups as read (before settings) and the settings for the defaults. */
export function renderMixinBundle(groups: readonly RuleGroup[], s: Settings): string {
  const bundle = {
    defaults: mixinConfig(s),
    markers: MIXIN_MARKERS,
    groups: applySettings(groups, markerSettings),
    dashboards: Object.fromEntries(
      DASHBOARDS.map(({ file, spec }) => [file, dashboard(spec, { clusterLabel: MIXIN_MARKERS.clusterLabel })]),
    ),
  };
  return `${JSON.stringify(bundle, null, 1)}\n`;
}
