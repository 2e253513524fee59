// Paths that must stay blocked (--must-be-blocked, off by default): one TCP connect per round to
// each target an operator lists (another namespace's pod port, a metadata service, ...). A
// completed handshake means the path is OPEN: result ok, which the exporter reads as a failure.
// Anything else (a drop read as timeout, a reject read as refused or unreachable) counts as
// blocked. It checks policy from this agent's pod (its namespace and labels) or, for the
// hostNetwork agent, from its node, and from nowhere else. Never throws.

import net from 'node:net';
import { splitHostPort } from '../../report/address.js';
import type { WireBlocked } from '../../report/schema.js';
import { classifyError } from './classify.js';
import type { Outcome, ProbeLimits, ProbeRow } from './probe.js';

export interface BlockedOutcome extends Outcome {
  readonly target: string;
}

export function probeBlocked(target: string, { timeoutMs, signal }: ProbeLimits): Promise<BlockedOutcome> {
  const hp = splitHostPort(target);
  if (!hp) return Promise.resolve({ target, result: 'error', error: 'target is not HOST:PORT' });
  return new Promise((resolve) => {
    const timeout = AbortSignal.timeout(Math.ceil(timeoutMs));
    const stop = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const socket = net.connect({ host: hp.host, port: hp.port, signal: stop });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ target, result: 'ok' });
    });
    socket.once('error', (err) =>
      resolve(stop.aborted ? { target, result: 'timeout' } : { target, result: classifyError(err), error: err.message }),
    );
  });
}

export const wireBlocked = (o: BlockedOutcome): WireBlocked => ({ target: o.target, result: o.result });

export const blockedProbe: ProbeRow = async ({ config }) => {
  const targets = config.probes.mustBeBlocked;
  if (targets.length === 0) return null;
  return {
    round: async (limits) => ({ must_be_blocked: (await Promise.all(targets.map((t) => probeBlocked(t, limits)))).map(wireBlocked) }),
  };
};
