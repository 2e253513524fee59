// DOM helpers of the status page. Every string from the exporter (agent and node names, reasons)
// becomes a text node: nothing is ever parsed as HTML.

export type Child = Node | string | null;

/** A new element with attributes (set as attributes, never as markup) and children (strings as text). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== null) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

export function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`status page: #${id} is missing`);
  return e as T;
}

/** Seconds for a person: 0.4 s, 12 s, 3 min, 2 h. */
export function seconds(s: number | null): string {
  if (s === null) return '–';
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
