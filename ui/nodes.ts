// The node table: one row per node with its pod-network and host-network agents, sortable by any
// column (header buttons) and filtered by a name fragment and a state.

import type { AgentRow, StatusBody } from '../exporter/status/status.js';
import { byId, el, seconds } from './dom.js';
import { familyLook, look } from './states.js';

type NodeEntry = StatusBody['nodes'][number];
type Key = 'node' | 'pod' | 'host' | 'families' | 'age' | 'interval' | 'dns' | 'api' | 'blocked' | 'mtu' | 'offset';

/** The agent of a network on the node; with several (a rollout), the one in the worst state. */
function agentOf(n: NodeEntry, network: string): AgentRow | undefined {
  let worst: AgentRow | undefined;
  for (const a of n.agents) if (a.network === network && (!worst || look(a.state).rank < look(worst.state).rank)) worst = a;
  return worst;
}

function oldestAge(n: NodeEntry): number | null {
  const ages = n.agents.map((a) => a.last_report_age_seconds).filter((x): x is number => x !== null);
  return ages.length ? Math.max(...ages) : null;
}

const pick = <T>(n: NodeEntry, f: (a: AgentRow) => T | null): T | null => {
  for (const a of n.agents) {
    const v = f(a);
    if (v !== null) return v;
  }
  return null;
};

const dnsFailed = (n: NodeEntry): number | null => pick(n, (a) => a.dns?.failed ?? null);
const apiFailed = (n: NodeEntry): number | null => pick(n, (a) => a.api_server?.failed ?? null);
/** Targets that must be blocked and answered, over the node's agents; null when none checks any. */
const openPaths = (n: NodeEntry): string[] | null =>
  n.agents.some((a) => a.must_be_blocked) ? [...new Set(n.agents.flatMap((a) => a.must_be_blocked?.open ?? []))] : null;
const mtu = (n: NodeEntry): number | null => pick(n, (a) => a.path_mtu_bytes?.peers ?? a.path_mtu_bytes?.exporter ?? null);
const offset = (n: NodeEntry): number | null => pick(n, (a) => a.clock_offset_seconds);
const interval = (n: NodeEntry): number | null => pick(n, (a) => a.report_interval_seconds);

const FAMILY_RANK: Record<string, number> = { failing: 0, unknown: 1, ok: 2 };

/** Per IP family, the worst state among the node's dual-stack agents and the first agent in it; null without one. */
function familiesOf(n: NodeEntry): Array<{ family: string; state: string; reason: string }> | null {
  const worst = new Map<string, { family: string; state: string; reason: string }>();
  for (const a of n.agents)
    for (const [family, f] of Object.entries(a.families ?? {})) {
      const w = worst.get(family);
      if (!w || (FAMILY_RANK[f.state] ?? 1) < (FAMILY_RANK[w.state] ?? 1))
        worst.set(family, { family, state: f.state, reason: `${a.name}: ${f.reason}` });
    }
  return worst.size > 0 ? [...worst.values()] : null;
}

const SORT_VALUE: Record<Key, (n: NodeEntry) => string | number | null> = {
  node: (n) => n.node,
  pod: (n) => look(agentOf(n, 'pod')?.state ?? '').rank,
  host: (n) => look(agentOf(n, 'host')?.state ?? '').rank,
  families: (n) => {
    const f = familiesOf(n);
    return f ? Math.min(...f.map((x) => FAMILY_RANK[x.state] ?? 1)) : null;
  },
  age: oldestAge,
  interval,
  dns: dnsFailed,
  api: apiFailed,
  blocked: (n) => openPaths(n)?.length ?? null,
  mtu,
  offset: (n) => (offset(n) === null ? null : Math.abs(offset(n) as number)),
};

function agentCell(a: AgentRow | undefined): HTMLTableCellElement {
  if (!a) return el('td', {}, el('span', { class: 'state s-none' }, '– none'));
  const l = look(a.state);
  return el(
    'td',
    {},
    el('span', { class: `state ${l.cls}` }, `${l.symbol} ${a.state}`),
    el('span', { class: 'reason' }, `${a.name}: ${a.reason}`),
  );
}

/** DNS queries or API server checks of the node's agents: how many failed and how, or the slowest answer. */
function checksText(d: { count: number; failed: number; worst: string | null; max_latency_ms: number | null } | null): string {
  if (!d) return '–';
  if (d.failed > 0) return `✗ ${d.failed}/${d.count} failed (${d.worst ?? '?'})`;
  return `✓ ${d.count} ok${d.max_latency_ms === null ? '' : `, ≤ ${d.max_latency_ms.toFixed(1)} ms`}`;
}

/** A node's IP families: each family's worst state, and why, where one is not ok. */
function familiesCell(n: NodeEntry): HTMLTableCellElement {
  const f = familiesOf(n);
  if (!f) return el('td', {}, '–');
  const bad = f.find((x) => x.state !== 'ok');
  return el(
    'td',
    {},
    ...f.map((x) =>
      el('span', { class: `state ${familyLook(x.state).cls}`, 'data-family': x.family }, `${familyLook(x.state).symbol} ${x.family} `),
    ),
    bad ? el('span', { class: 'reason' }, bad.reason) : null,
  );
}

const dnsText = (n: NodeEntry): string => checksText(pick(n, (a) => a.dns && { ...a.dns, count: a.dns.queries }));
function blockedText(n: NodeEntry): string {
  const open = openPaths(n);
  if (!open) return '–';
  return open.length > 0 ? `✗ open: ${open.join(', ')}` : '✓ blocked';
}

const apiText = (n: NodeEntry): string => checksText(pick(n, (a) => a.api_server && { ...a.api_server, count: a.api_server.checks }));

/**
 * Rows drawn until the user asks for all: a live update rebuilds every drawn row (their ages
 * change each poll), and 1,000 rows cost more main-thread time than a poll should.
 */
const ROWS_SHOWN = 200;

export class NodeTable {
  #nodes: readonly NodeEntry[] = [];
  #limit = ROWS_SHOWN;
  #key: Key = 'node';
  #descending = false;
  readonly #body = byId<HTMLTableElement>('nodes').tBodies[0] as HTMLTableSectionElement;
  readonly #name = byId<HTMLInputElement>('filter-name');
  readonly #state = byId<HTMLSelectElement>('filter-state');
  /** The IP families column, shown while some agent is dual-stack. */
  readonly #familiesCol = byId('families-col');

  constructor(states: readonly string[]) {
    for (const s of states) this.#state.append(el('option', { value: s }, `${look(s).symbol} ${s}`));
    this.#name.addEventListener('input', () => this.#render());
    this.#state.addEventListener('change', () => this.#render());
    for (const b of byId('nodes').querySelectorAll<HTMLButtonElement>('th button')) {
      b.addEventListener('click', () => {
        const key = b.dataset.sort as Key;
        this.#descending = key === this.#key ? !this.#descending : false;
        this.#key = key;
        for (const th of byId('nodes').querySelectorAll('th')) th.removeAttribute('aria-sort');
        b.parentElement?.setAttribute('aria-sort', this.#descending ? 'descending' : 'ascending');
        this.#render();
      });
    }
  }

  update(nodes: readonly NodeEntry[]): void {
    this.#nodes = nodes;
    this.#render();
  }

  #render(): void {
    const name = this.#name.value.trim().toLowerCase();
    const state = this.#state.value;
    const value = SORT_VALUE[this.#key];
    const sign = this.#descending ? -1 : 1;
    const rows = this.#nodes
      .filter(
        (n) =>
          (!name || n.node.toLowerCase().includes(name) || n.agents.some((a) => a.name.includes(name))) &&
          (!state || n.agents.some((a) => a.state === state)),
      )
      .map((n) => ({ n, v: value(n) }))
      .sort((x, y) => (x.v === y.v ? 0 : x.v === null ? 1 : y.v === null ? -1 : x.v < y.v ? -sign : sign));
    const out = document.createDocumentFragment();
    const families = this.#nodes.some((n) => n.agents.some((a) => a.families));
    this.#familiesCol.hidden = !families;
    for (const { n } of rows.slice(0, this.#limit)) {
      const off = offset(n);
      const m = mtu(n);
      out.append(
        el(
          'tr',
          { 'data-node': n.node },
          el('th', { scope: 'row' }, n.node || '(node unknown)'),
          agentCell(agentOf(n, 'pod')),
          agentCell(agentOf(n, 'host')),
          families ? familiesCell(n) : null,
          el('td', {}, seconds(oldestAge(n))),
          el('td', {}, seconds(interval(n))),
          el('td', {}, dnsText(n)),
          el('td', {}, apiText(n)),
          el('td', {}, blockedText(n)),
          el('td', {}, m === null ? '–' : `${m} B`),
          el('td', {}, off === null ? '–' : `${off >= 0 ? '+' : ''}${off.toFixed(3)} s`),
        ),
      );
    }
    if (rows.length > this.#limit) {
      const all = el('button', { type: 'button' }, `Show all ${rows.length} rows`);
      all.addEventListener('click', () => {
        this.#limit = Infinity;
        this.#render();
      });
      out.append(
        el(
          'tr',
          {},
          el('td', { colspan: families ? '11' : '10' }, `${rows.length - this.#limit} more; sort or filter to find them, or `, all),
        ),
      );
    }
    this.#body.replaceChildren(out);
    byId('shown').textContent =
      `${rows.length} of ${this.#nodes.length} nodes${rows.length > this.#limit ? `, first ${this.#limit} shown` : ''}`;
  }
}
