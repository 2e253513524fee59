// The status page's entry: polls GET /api/v1/status and renders the verdict, the node table, the
// matrix and the recent changes; says so when the exporter stops answering. Loaded as a module
// from /ui/page.js (the CSP allows no inline script).

import type { StatusBody } from '../exporter/status/status.js';
import { byId, el } from './dom.js';
import { Matrix } from './matrix.js';
import { NodeTable } from './nodes.js';
import { LOOKS, familyLook, look } from './states.js';

/** Poll period: half the shortest report interval, 1 to 5 s, so a change shows within an interval. */
function pollMs(s: StatusBody): number {
  let shortest = Infinity;
  for (const n of s.nodes)
    for (const a of n.agents) if (a.report_interval_seconds !== null) shortest = Math.min(shortest, a.report_interval_seconds);
  return Math.round(Math.min(5, Math.max(1, shortest / 2)) * 1000);
}

/** A request not answered (body included) within this is a failure: generous, a busy browser reads 1,000 nodes' JSON slowly. */
const TIMEOUT_MS = 15_000;

function renderVerdict(s: StatusBody): void {
  const verdict = byId('verdict');
  const check = s.check;
  if ('error' in check) {
    verdict.className = 'verdict s-warn';
    verdict.textContent = '! no verdict (500)';
    byId('message').textContent = check.error;
  } else {
    const pass = check.http_status === 200;
    verdict.className = `verdict ${pass ? 's-ok' : 's-fail'}`;
    verdict.textContent = pass ? '✓ pass' : '✗ fail';
    byId('message').textContent = check.Message;
  }
  verdict.dataset.status = String(check.http_status);
  byId('counts').replaceChildren(
    ...Object.entries(s.counts)
      .filter(([, n]) => n > 0)
      .map(([state, n]) => el('li', { class: look(state).cls }, `${look(state).symbol} ${state}: ${n}`)),
  );
  // Only with a dual-stack agent: which IP family is broken, as connectivity_check's `families` says.
  const families = byId('families');
  families.hidden = s.families === null;
  families.replaceChildren(
    ...Object.entries(s.families ?? {}).map(([family, f]) =>
      el(
        'li',
        { 'data-family': family },
        el('span', { class: `state ${familyLook(f.state).cls}` }, `${familyLook(f.state).symbol} ${family} ${f.state}`),
        ` ${f.reason}`,
      ),
    ),
  );
  const failing = byId<HTMLTableElement>('failing');
  failing.hidden = s.failing.length === 0;
  (failing.tBodies[0] as HTMLTableSectionElement).replaceChildren(
    ...s.failing.map((a) =>
      el(
        'tr',
        {},
        el('td', {}, a.name),
        el('td', {}, a.node),
        el('td', {}, a.network),
        el('td', { class: `state ${look(a.state).cls}` }, `${look(a.state).symbol} ${a.state}`),
        el('td', {}, a.reason),
      ),
    ),
  );
}

/** Shown only when the exporter knows DNS replicas; a replica most agents fail is marked failing. */
function renderReplicas(s: StatusBody): void {
  const replicas = s.dns_replicas;
  byId('replicas-section').hidden = replicas.length === 0;
  (byId<HTMLTableElement>('replicas').tBodies[0] as HTMLTableSectionElement).replaceChildren(
    ...replicas.map((r) => {
      const bad = r.failing > r.ok;
      return el(
        'tr',
        {},
        el('td', {}, r.replica),
        el('td', {}, r.pod || '–'),
        el('td', {}, r.node || '–'),
        el('td', {}, String(r.ok)),
        el('td', { class: r.failing === 0 ? 's-ok' : bad ? 's-fail' : 's-warn' }, `${bad ? '✗ ' : ''}${r.failing}`),
        el('td', {}, r.latency_ms === null ? '–' : `${r.latency_ms.toFixed(1)} ms`),
        el('td', {}, r.failing_agents.join(', ') + (r.failing > r.failing_agents.length ? ', …' : '')),
      );
    }),
  );
}

function renderChanges(s: StatusBody): void {
  const body = byId<HTMLTableElement>('changes').tBodies[0] as HTMLTableSectionElement;
  body.replaceChildren(
    ...s.transitions.map((t) =>
      el(
        'tr',
        {},
        el('td', {}, new Date(t.at).toLocaleTimeString()),
        el('td', {}, t.agent),
        el('td', {}, t.node),
        el(
          'td',
          {},
          el('span', { class: look(t.from).cls }, `${look(t.from).symbol} ${t.from}`),
          ' → ',
          el('span', { class: look(t.to).cls }, `${look(t.to).symbol} ${t.to}`),
        ),
        el('td', {}, t.reason),
      ),
    ),
  );
  if (s.transitions.length === 0) body.append(el('tr', {}, el('td', { colspan: '5' }, 'No state changes since the exporter started.')));
}

function start(): void {
  const table = new NodeTable(Object.keys(LOOKS));
  const matrix = new Matrix(['pod->pod', 'host->host', 'pod->host', 'host->pod']);
  const banner = byId('banner');
  let lastOk: Date | null = null;
  let failingSince: Date | null = null;
  let period = 2000;

  const poll = async (): Promise<void> => {
    try {
      const res = await fetch('/api/v1/status', { cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const arrived = performance.now();
      const s = (await res.json()) as StatusBody;
      const parsed = performance.now();
      renderVerdict(s);
      table.update(s.nodes);
      matrix.update(
        s.mesh,
        s.nodes.map((n) => n.node),
      );
      renderReplicas(s);
      renderChanges(s);
      // The latest poll's costs, for DevTools and bench/status.ts (one entry each: no growth).
      performance.clearMeasures('netchecker:parse');
      performance.clearMeasures('netchecker:render');
      performance.measure('netchecker:parse', { start: arrived, end: parsed });
      performance.measure('netchecker:render', { start: parsed });
      lastOk = new Date();
      failingSince = null;
      banner.hidden = true;
      byId('updated').textContent = `updated ${lastOk.toLocaleTimeString()} (exporter time ${s.generated_at})`;
      period = pollMs(s);
      document.body.dataset.loaded = 'true';
    } catch (e) {
      failingSince ??= new Date();
      banner.hidden = false;
      banner.textContent = `The exporter is not answering (${e instanceof Error ? e.message : String(e)}) since ${failingSince.toLocaleTimeString()}; ${lastOk ? `the page shows data from ${lastOk.toLocaleTimeString()}` : 'no data yet'}. Retrying.`;
    }
    setTimeout(() => void poll(), period);
  };
  void poll();
}

start();
