// The must-be-blocked families: how many of the agent's listed targets answered (open) or not
// (blocked) in its last round, 2 series per agent that checks any, plus one sparse series per
// target that answers, naming it. An open target is the failure here. Pure.

import type { Report } from '../../report/schema.js';
import { type Family, gaugeEach } from './family.js';

export const BLOCKED_STATUSES = ['open', 'blocked'] as const;

const isOpen = (result: string): boolean => result === 'ok';

export const blockedFamilies: readonly Family<{ readonly report: Report }>[] = [
  gaugeEach(
    'netchecker_agent_blocked_paths',
    'Targets that policy must deny (--must-be-blocked) that answered a TCP connect from the agent in its last round (open) or did not (blocked).',
    ['status'],
    (v) => {
      const checks = v.report.mustBeBlocked;
      if (!checks || checks.length === 0) return [];
      const open = checks.filter((c) => isOpen(c.result)).length;
      return [
        { labels: { status: 'open' }, value: open },
        { labels: { status: 'blocked' }, value: checks.length - open },
      ];
    },
  ),
  gaugeEach(
    'netchecker_agent_blocked_path_open',
    'Present (1) only while a target that policy must deny answers a TCP connect from the agent; removed when it is blocked again.',
    ['target'],
    (v) => (v.report.mustBeBlocked ?? []).filter((c) => isOpen(c.result)).map((c) => ({ labels: { target: c.target }, value: 1 })),
  ),
];
