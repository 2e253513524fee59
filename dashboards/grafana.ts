// Grafana dashboard JSON as data: small builders for the panel kinds netchecker uses, a
// `datasource` variable every panel reads through, a `cluster` variable on the configurable
// cluster label, firing netchecker alerts as annotations, and a row-filling layout so panels are
// declared in reading order with a width only.

export interface Target {
  readonly expr: string;
  readonly legend?: string;
  /** A table of current values rather than a time series. */
  readonly instant?: boolean;
}

export interface PanelSpec {
  readonly kind: 'timeseries' | 'stat' | 'table';
  readonly title: string;
  readonly description: string;
  readonly targets: readonly Target[];
  readonly unit?: string;
  /** Grid columns out of 24. */
  readonly width: number;
  readonly height?: number;
  readonly links?: ReadonlyArray<{ title: string; url: string }>;
  readonly transformations?: ReadonlyArray<Record<string, unknown>>;
  readonly mappings?: ReadonlyArray<Record<string, unknown>>;
  /** Ascending [value, color] steps; the first value is ignored (base). */
  readonly thresholds?: ReadonlyArray<readonly [number | null, string]>;
}

export interface Variable {
  readonly name: string;
  readonly label: string;
  readonly query: string;
  readonly includeAll?: boolean;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** After the datasource, cluster and job variables every dashboard has. */
  readonly variables: readonly Variable[];
  readonly panels: readonly PanelSpec[];
}

/** What a rendering may change: the label telling clusters apart (the alert settings' clusterLabel). */
export interface DashboardSettings {
  readonly clusterLabel: string;
}
export const DEFAULT_DASHBOARD_SETTINGS: DashboardSettings = Object.freeze({ clusterLabel: 'cluster' });

/**
 * Every selector of the specs carries `job=~"$job"`; rendering adds the cluster matcher next to
 * it, so the specs stay readable and no query can miss the cluster.
 */
const JOB_MATCHER = 'job=~"$job"';
const withCluster = (expr: string, s: DashboardSettings): string =>
  expr.replaceAll(JOB_MATCHER, `${s.clusterLabel}=~"$cluster", ${JOB_MATCHER}`);

/** Firing netchecker alerts of the chosen job, marked on every time axis. */
export const ALERTS_ANNOTATION_EXPR = `ALERTS{${JOB_MATCHER}, alertname=~"Netchecker.+", alertstate="firing"}`;

export const TAG = 'netchecker';
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
/** Current dashboard schema (Grafana 10.4 / 11). */
export const SCHEMA_VERSION = 39;

function variable(v: Variable, s: DashboardSettings): Record<string, unknown> {
  const query = withCluster(v.query, s);
  return {
    name: v.name,
    label: v.label,
    type: 'query',
    datasource: DATASOURCE,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    definition: query,
    refresh: 2,
    sort: 1,
    includeAll: v.includeAll ?? false,
    multi: v.includeAll ?? false,
    ...(v.includeAll ? { allValue: '.*', current: { text: 'All', value: '$__all' } } : {}),
  };
}

function panel(
  p: PanelSpec,
  id: number,
  gridPos: { x: number; y: number; w: number; h: number },
  s: DashboardSettings,
): Record<string, unknown> {
  const steps = (p.thresholds ?? [[null, 'green']]).map(([value, color]) => ({ value, color }));
  return {
    id,
    type: p.kind,
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    gridPos,
    targets: p.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: withCluster(t.expr, s),
      legendFormat: t.legend ?? '__auto',
      range: !t.instant,
      instant: t.instant ?? false,
      ...(t.instant ? { format: 'table' } : {}),
    })),
    fieldConfig: {
      defaults: {
        ...(p.unit ? { unit: p.unit } : {}),
        thresholds: { mode: 'absolute', steps },
        mappings: p.mappings ?? [],
        links: p.links ?? [],
      },
      overrides: [],
    },
    options:
      p.kind === 'stat'
        ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'none' }
        : {},
    transformations: p.transformations ?? [],
  };
}

/** Places panels left to right, wrapping at 24 columns. */
export function dashboard(d: DashboardSpec, s: DashboardSettings = DEFAULT_DASHBOARD_SETTINGS): Record<string, unknown> {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const panels = d.panels.map((p, i) => {
    const h = p.height ?? 8;
    if (x + p.width > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const placed = panel(p, i + 1, { x, y, w: p.width, h }, s);
    x += p.width;
    rowHeight = Math.max(rowHeight, h);
    return placed;
  });
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: [TAG],
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    editable: false,
    graphTooltip: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    links: [{ type: 'dashboards', tags: [TAG], asDropdown: false, includeVars: false, keepTime: true, title: 'netchecker dashboards' }],
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', refresh: 1, current: {} },
        // Without the label (one cluster, no external label) All matches every series.
        variable(
          { name: 'cluster', label: 'Cluster', query: `label_values(netchecker_build_info, ${s.clusterLabel})`, includeAll: true },
          s,
        ),
        variable({ name: 'job', label: 'Job', query: `label_values(netchecker_build_info{${s.clusterLabel}=~"$cluster"}, job)` }, s),
        ...d.variables.map((v) => variable(v, s)),
      ],
    },
    annotations: {
      list: [
        {
          name: 'netchecker alerts',
          datasource: DATASOURCE,
          enable: true,
          iconColor: 'red',
          expr: withCluster(ALERTS_ANNOTATION_EXPR, s),
          step: '60s',
          titleFormat: '{{alertname}}',
          textFormat: '{{severity}} {{agent}} {{node}} {{network}}',
          useValueForTime: false,
        },
      ],
    },
    panels,
  };
}

/** Link to another netchecker dashboard keeping the time range, data source, cluster and job. */
export function linkTo(uid: string, title: string, vars = ''): { title: string; url: string } {
  return { title, url: `/d/${uid}?\${__url_time_range}&var-datasource=\${datasource}&var-cluster=\${cluster}&var-job=\${job}${vars}` };
}

/** Every PromQL expression of a dashboard's panels and annotations, with the panel (or annotation) it belongs to. */
export function panelQueries(json: Record<string, unknown>): Array<{ panel: string; expr: string }> {
  const panels = json.panels as Array<{ title: string; targets: Array<{ expr: string }> }>;
  const annotations = (json.annotations as { list: Array<{ name: string; expr?: string }> }).list;
  return [
    ...panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr }))),
    ...annotations.flatMap((a) => (a.expr ? [{ panel: `annotation ${a.name}`, expr: a.expr }] : [])),
  ];
}

/** What Grafana sends for `$name`, `${name}` and `$__rate_interval` given the variable values. */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => values[braced ?? bare ?? ''] ?? whole,
  );
}
