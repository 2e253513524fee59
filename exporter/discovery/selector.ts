// Kubernetes label selectors (the equality and set-based syntax of `kubectl -l`), parsed so that
// --agent-selector fails at start with a clear message instead of a 400 from the API server
// later. Pure; the test fake API server uses the same matcher to answer list and watch.

export type Operator = 'in' | 'notin' | 'exists' | '!exists';

export interface Requirement {
  readonly key: string;
  readonly op: Operator;
  readonly values: readonly string[];
}

export type SelectorResult = { ok: true; value: readonly Requirement[] } | { ok: false; error: string };

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && PREFIX.test(prefix) && NAME.test(key.slice(slash + 1));
}

const validValue = (v: string): boolean => v === '' || NAME.test(v);

/** Splits on commas that are not inside parentheses. */
function splitTop(text: string): string[] | null {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return null;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) return null;
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

function parseOne(part: string): Requirement | string {
  let m = /^(!?)\s*([^\s=!(),]+)$/.exec(part);
  if (m) return { key: m[2] as string, op: m[1] ? '!exists' : 'exists', values: [] };
  m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(part);
  if (m) return { key: m[1] as string, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3] as string] };
  m = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
  if (m) {
    const values = (m[3] as string).split(',').map((v) => v.trim());
    return { key: m[1] as string, op: m[2] as Operator, values };
  }
  return `cannot parse "${part}"`;
}

/** Parses a selector; the empty string selects everything. */
export function parseSelector(text: string): SelectorResult {
  if (text.length > 4096) return { ok: false, error: 'longer than 4096 characters' };
  if (text.trim() === '') return { ok: true, value: [] };
  const parts = splitTop(text);
  if (!parts) return { ok: false, error: 'unbalanced parentheses' };
  const value: Requirement[] = [];
  for (const part of parts) {
    const r = parseOne(part);
    if (typeof r === 'string') return { ok: false, error: r };
    if (!validKey(r.key)) return { ok: false, error: `invalid label key "${r.key}"` };
    const bad = r.values.find((v) => !validValue(v));
    if (bad !== undefined) return { ok: false, error: `invalid label value "${bad}"` };
    value.push(r);
  }
  return { ok: true, value };
}

/** Whether labels satisfy every requirement. */
export function matches(selector: readonly Requirement[], labels: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(labels[r.key] as string);
      case 'notin':
        return !has || !r.values.includes(labels[r.key] as string);
    }
  });
}
