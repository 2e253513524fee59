// The netchecker monitoring mixin: prometheusAlerts, prometheusRules and grafanaDashboards for
// kube-prometheus and any jsonnet setup that imports mixins, with a _config to tune them:
//   jobSelector      the selector of the exporter's scrape job        'job="netchecker-service"'
//   clusterLabel     the label telling clusters apart, kept by every
//                    aggregation and offered as the dashboards' cluster variable   'cluster'
//   runbookBaseUrl   where the runbooks live (no trailing slash)
//   keepFiringFor    how long alerts keep firing once their series vanish           '5m'
//   thresholds       { nodeUnreachableRatio, nodeReachesFewPeersRatio, networkDegradedAgentRatio,
//                      packetLossRatio, highLatencySeconds, apiServerUnreachableRatio,
//                      clusterDnsFailingRatio, dnsReplicaFailingRatio, dnsSlowSeconds,
//                      clockSkewSeconds }
//   for              { <alert name>: <duration> } replacing an alert's `for:`
// The rules and dashboards come from generated/bundle.json, which `npm run alerts:generate` writes
// from alerts/rules/ and dashboards/ (the sources of deploy/'s PrometheusRule and dashboards too);
// test/mixin.test.ts renders this file with Debian's jsonnet and compares both.
local bundle = import 'generated/bundle.json';

// Applies f to every string inside x.
local walk(x, f) =
  if std.isString(x) then f(x)
  else if std.isArray(x) then [walk(e, f) for e in x]
  else if std.isObject(x) then { [k]: walk(x[k], f) for k in std.objectFields(x) }
  else x;

// A number as its shortest decimal, as the TypeScript generator writes it (0.6, not std.toString's
// 0.59999999999999998 in jsonnet 0.18).
local decimal(x) = [s for s in [std.format('%.' + p + 'g', [x]) for p in std.range(1, 17)] if std.parseJson(s) == x][0];

{
  _config+:: bundle.defaults,

  local config = self._config,
  local markers = bundle.markers,
  local pairs = [
    [markers.jobSelector, config.jobSelector],
    [markers.clusterLabel, config.clusterLabel],
    [markers.runbookBaseUrl, config.runbookBaseUrl],
    [markers.keepFiringFor, config.keepFiringFor],
  ] + [[markers.thresholds[k], decimal(config.thresholds[k])] for k in std.objectFields(markers.thresholds)],
  local substitute(s) = std.foldl(function(acc, p) std.strReplace(acc, p[0], p[1]), pairs, s),
  local rule(r) = walk(r, substitute) + (
    if std.objectHas(r, 'alert') && std.objectHas(config['for'], r.alert) then { 'for': config['for'][r.alert] } else {}
  ),
  // The groups holding rules of one kind ('alert' or 'record'), with only those rules.
  local groups(kind) = [
    g { rules: [rule(r) for r in g.rules if std.objectHas(r, kind)] }
    for g in bundle.groups
    if std.length([r for r in g.rules if std.objectHas(r, kind)]) > 0
  ],

  prometheusAlerts+:: { groups+: groups('alert') },
  prometheusRules+:: { groups+: groups('record') },
  grafanaDashboards+:: { [file]: walk(bundle.dashboards[file], substitute) for file in std.objectFields(bundle.dashboards) },
}
