// Grafana dashboard JSON as data: small builders for the panel kinds netchecker uses, a
// `datasource` variable every panel reads through, and a row-filling layout so panels are
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
  readonly variables: readonly Variable[];
  readonly panels: readonly PanelSpec[];
}

export const TAG = 'netchecker';
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
/** Current dashboard schema (Grafana 10.4 / 11). */
export const SCHEMA_VERSION = 39;

function variable(v: Variable): Record<string, unknown> {
  return {
    name: v.name,
    label: v.label,
    type: 'query',
    datasource: DATASOURCE,
    query: { query: v.query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    definition: v.query,
    refresh: 2,
    sort: 1,
    includeAll: v.includeAll ?? false,
    multi: v.includeAll ?? false,
    ...(v.includeAll ? { allValue: '.*', current: { text: 'All', value: '$__all' } } : {}),
  };
}

function panel(p: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }): Record<string, unknown> {
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
      expr: t.expr,
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
    options: p.kind === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'none' } : {},
    transformations: p.transformations ?? [],
  };
}

/** Places panels left to right, wrapping at 24 columns. */
export function dashboard(d: DashboardSpec): Record<string, unknown> {
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
    const placed = panel(p, i + 1, { x, y, w: p.width, h });
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
        ...d.variables.map(variable),
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

/** Link to another netchecker dashboard keeping the time range and the chosen data source. */
export function linkTo(uid: string, title: string, vars = ''): { title: string; url: string } {
  return { title, url: `/d/${uid}?\${__url_time_range}&var-datasource=\${datasource}${vars}` };
}

/** Every PromQL expression of a dashboard, with the panel it belongs to. */
export function panelQueries(json: Record<string, unknown>): Array<{ panel: string; expr: string }> {
  const panels = json.panels as Array<{ title: string; targets: Array<{ expr: string }> }>;
  return panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
}

/** What Grafana sends for `$name`, `${name}` and `$__rate_interval` given the variable values. */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => values[braced ?? bare ?? ''] ?? whole);
}
