// How each agent state looks: a colour class, a symbol and the word itself, so that no state is
// told by colour alone.

export interface Look {
  readonly cls: string;
  readonly symbol: string;
  /** Sort rank: worst first when sorting by state. */
  readonly rank: number;
}

const FAIL: Look = { cls: 's-fail', symbol: '✗', rank: 0 };
const FAULT: Look = { cls: 's-warn', symbol: '!', rank: 1 };
const CHURN: Look = { cls: 's-warn', symbol: '~', rank: 2 };

export const LOOKS: Record<string, Look> = {
  absent: FAIL,
  outdated: FAIL,
  not_scheduled: FAULT,
  pod_not_running: FAULT,
  agent_not_ready: FAULT,
  node_not_ready: CHURN,
  node_cordoned: CHURN,
  starting: { cls: 's-wait', symbol: '…', rank: 3 },
  terminating: { cls: 's-none', symbol: '–', rank: 4 },
  ok: { cls: 's-ok', symbol: '✓', rank: 5 },
};

const UNKNOWN: Look = { cls: 's-none', symbol: '?', rank: 6 };

export function look(state: string): Look {
  return LOOKS[state] ?? UNKNOWN;
}

/** How an IP family's state looks (ok, failing, unknown): failing as a failure, unknown as no data. */
export function familyLook(state: string): Look {
  return state === 'failing' ? FAIL : look(state);
}
