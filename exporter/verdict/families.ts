// Which IP family is broken: for each dual-stack agent (a listener address of each family), what
// the last round's probes over each family say: its own probes of its peers and of the exporter,
// and its probers' probes of it. Evidence only from fresh reports (state `ok`): an agent without
// one, or a family no probe went over, is `unknown`, never `ok`. Pure: the verdict's states carry
// the clock (verdict.ts), this reads them; it never changes what passes the check.

import type { CheckFamily, CheckFamilySummary, FamilyState } from '../../report/answers.js';
import { dualStackPrimary } from '../../report/address.js';
import { IP_FAMILIES, type IpFamily } from '../../report/schema.js';
import type { AgentRecord } from '../store/store.js';

export type AgentFamilies = Readonly<Record<IpFamily, CheckFamily>>;

export interface FamiliesVerdict {
  /** Per dual-stack agent, by name. */
  readonly agents: ReadonlyMap<string, AgentFamilies>;
  readonly summary: Readonly<Record<IpFamily, CheckFamilySummary>>;
}

/** What the family verdict reads of an agent: the verdict's view. */
export interface FamilyAgent {
  readonly name: string;
  readonly node: string;
  readonly state: string;
  /** The check judges it (it counts in the pass message or fails it): the summary covers it. */
  readonly judged: boolean;
}

/** Nodes and agents named in a reason: enough to see the pattern, bounded at any scale. */
export const NAMES_SHOWN = 5;

interface Tally {
  /** Peers probed over the family and how many failed; failed peers' nodes. */
  out: number;
  outFailed: number;
  /** Probers (fresh) over the family and how many failed. */
  in: number;
  inFailed: number;
  nodes: Set<string>;
  /** The exporter's ping over the family: its result class, null when none was sent. */
  exporter: string | null;
}

const tally = (): Tally => ({ out: 0, outFailed: 0, in: 0, inFailed: 0, nodes: new Set(), exporter: null });

/** Null when no agent is dual-stack: a single-stack answer gets nothing new. */
export function familyVerdict(agents: readonly FamilyAgent[], records: ReadonlyMap<string, AgentRecord>): FamiliesVerdict | null {
  const dual = new Map<string, Record<IpFamily, Tally>>();
  for (const [name, r] of records) if (dualStackPrimary(r.report) !== null) dual.set(name, { ipv4: tally(), ipv6: tally() });
  if (dual.size === 0) return null;
  const byName = new Map(agents.map((a) => [a.name, a]));
  for (const [name, t] of dual) {
    const a = byName.get(name);
    if (a?.state !== 'ok') continue;
    const report = (records.get(name) as AgentRecord).report;
    for (const p of report.peers ?? []) {
      // Only a pair of dual-stack agents is probed per family; a result without one says nothing of either.
      if (!p.family || p.name === name) continue;
      const failed = p.result !== 'ok';
      const own = t[p.family];
      own.out++;
      if (failed) {
        own.outFailed++;
        own.nodes.add(p.node);
      }
      const target = dual.get(p.name)?.[p.family];
      if (!target) continue;
      target.in++;
      if (failed) {
        target.inFailed++;
        target.nodes.add(a.node);
      }
    }
    for (const f of IP_FAMILIES) t[f].exporter = report.exporterByFamily?.[f]?.result ?? null;
  }
  const out = new Map<string, AgentFamilies>();
  for (const [name, t] of dual) {
    const state = byName.get(name)?.state ?? 'unknown';
    out.set(name, { ipv4: familyOf('ipv4', state, t.ipv4), ipv6: familyOf('ipv6', state, t.ipv6) });
  }
  const judged = agents.filter((a) => a.judged && out.has(a.name));
  const summary = Object.fromEntries(IP_FAMILIES.map((f) => [f, summaryOf(f, judged, out)])) as Record<IpFamily, CheckFamilySummary>;
  return { agents: out, summary };
}

function familyOf(family: IpFamily, agentState: string, t: Tally): CheckFamily {
  const failingNodes = [...t.nodes].sort();
  if (agentState !== 'ok') return { state: 'unknown', reason: `no fresh report (${agentState})`, failing_nodes: [] };
  if (t.out + t.in === 0 && t.exporter === null)
    return { state: 'unknown', reason: `no probe over ${family} in the last round (no dual-stack peer)`, failing_nodes: [] };
  const parts: string[] = [];
  if (t.out > 0) parts.push(`reached ${t.out - t.outFailed} of ${t.out} peers`);
  if (t.in > 0) parts.push(`reached by ${t.in - t.inFailed} of ${t.in} probers`);
  if (t.exporter !== null) parts.push(`exporter ping ${t.exporter}`);
  const failing = t.outFailed + t.inFailed > 0 || (t.exporter !== null && t.exporter !== 'ok');
  const where = failingNodes.length > 0 ? `; failing with ${names(failingNodes)}` : '';
  return { state: failing ? 'failing' : 'ok', reason: `over ${family}: ${parts.join(', ')}${where}`, failing_nodes: failingNodes };
}

function summaryOf(family: IpFamily, judged: readonly FamilyAgent[], families: ReadonlyMap<string, AgentFamilies>): CheckFamilySummary {
  const failing: string[] = [];
  const unknown: string[] = [];
  const pairs = new Set<string>();
  for (const a of judged) {
    const f = (families.get(a.name) as AgentFamilies)[family];
    if (f.state === 'unknown') unknown.push(a.name);
    if (f.state !== 'failing') continue;
    failing.push(a.name);
    for (const n of f.failing_nodes) pairs.add(n === a.node ? `within ${n}` : a.node < n ? `${a.node} and ${n}` : `${n} and ${a.node}`);
  }
  const of = `of ${judged.length} dual-stack agents`;
  let state: FamilyState = 'ok';
  let reason = `every probe over ${family} of the ${judged.length} dual-stack agents answered in their last round`;
  if (failing.length > 0) {
    state = 'failing';
    reason = `${failing.length} ${of} fail over ${family}${pairs.size > 0 ? `, between ${names([...pairs].sort())}` : ' (the exporter ping)'}`;
  } else if (unknown.length > 0 || judged.length === 0) {
    state = 'unknown';
    reason =
      judged.length === 0 ? 'no dual-stack agent is judged by the check' : `no fresh evidence over ${family} for ${unknown.length} ${of}`;
  }
  return { state, reason, failing_agents: failing, unknown_agents: unknown };
}

const names = (list: readonly string[]): string =>
  list.length <= NAMES_SHOWN ? list.join(', ') : `${list.slice(0, NAMES_SHOWN).join(', ')} and ${list.length - NAMES_SHOWN} more`;
