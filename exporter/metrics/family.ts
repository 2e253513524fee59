// Metric families declared as data: a name, a HELP sentence, a type and a function from one
// object (an agent's view) to its samples. Rendering to the Prometheus text format lives here
// too, so every family is written the same way. Pure: no registry, no I/O.

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** Labels added to the object's own labels (agent, node, network). */
  readonly labels?: Labels;
  readonly value: number;
}

export interface Family<V> {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  /** Label names the family adds to the object's labels, for docs and tests. */
  readonly extraLabels: readonly string[];
  samples(view: V): readonly Sample[];
}

export function gauge<V>(name: string, help: string, value: (view: V) => number | null): Family<V> {
  return { name, help, type: 'gauge', extraLabels: [], samples: (v) => one(value(v)) };
}

export function counter<V>(name: string, help: string, value: (view: V) => number): Family<V> {
  return { name, help, type: 'counter', extraLabels: [], samples: (v) => one(value(v)) };
}

/** One series per possible state, exactly one of them 1 (the OpenMetrics stateset, as a gauge). */
export function stateset<V>(name: string, help: string, label: string, states: readonly string[], current: (view: V) => string): Family<V> {
  return {
    name,
    help,
    type: 'gauge',
    extraLabels: [label],
    samples: (v) => {
      const now = current(v);
      return states.map((s) => ({ labels: { [label]: s }, value: s === now ? 1 : 0 }));
    },
  };
}

/** A gauge with one sample per item of the view, told apart by extra labels (e.g. one per probed URL). */
export function gaugeEach<V>(
  name: string,
  help: string,
  extraLabels: readonly string[],
  samples: (view: V) => readonly Sample[],
): Family<V> {
  return { name, help, type: 'gauge', extraLabels, samples };
}

const one = (value: number | null): readonly Sample[] => (value === null ? [] : [{ value }]);

export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** `a="x",b="y"`: the object's labels, formatted once per object and reused for every sample. */
export function formatLabels(labels: Labels): string {
  let out = '';
  for (const k in labels) out += `${out ? ',' : ''}${k}="${escapeLabelValue(labels[k] as string)}"`;
  return out;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function header(f: Family<unknown>): string {
  return `# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${f.name} ${f.type}\n`;
}

/** The sample lines of one family for one object; `base` is the output of formatLabels. */
export function renderSamples<V>(f: Family<V>, base: string, view: V): string {
  let out = '';
  for (const s of f.samples(view)) {
    const extra = s.labels ? formatLabels(s.labels) : '';
    const labels = base && extra ? `${base},${extra}` : base || extra;
    out += `${f.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}\n`;
  }
  return out;
}
