// `netchecker agent`: parses the config, then reports on a fixed schedule until SIGTERM/SIGINT.
// Logs one line per change of delivery state, not one per report.

import { runCommand } from '../lib/command.js';
import { FlagError } from '../lib/flags.js';
import { createLogger, type Logger } from '../lib/log.js';
import { VERSION } from '../lib/version.js';
import { collectReport } from './collect.js';
import { agentCommand, type AgentConfig } from './config.js';
import { LoopHealth } from './health.js';
import { runSchedule } from './loop.js';
import { ProbeRound } from './probes/round.js';
import { sendReport, type SendResult } from './send.js';
import { TokenFile } from './token.js';

export const run = (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> =>
  runCommand(agentCommand, argv, env, runUntilSignal);

async function runUntilSignal(config: AgentConfig): Promise<number> {
  const stop = new AbortController();
  // The first signal finishes the report in flight; a second ends the process at once. Both are
  // handled: as PID 1 (a container without an init) a signal without a handler is ignored.
  let signals = 0;
  const onSignal = (): void => {
    if (signals++ === 0) stop.abort();
    else process.exit(1);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await runAgent(config, { signal: stop.signal });
  } catch (e) {
    // Only startup can fail (the listener's address taken): a clear message, no stack trace. A
    // bad flag found at startup goes to runCommand, which exits 2 as at parse time.
    if (e instanceof FlagError) throw e;
    process.stderr.write(`netchecker agent: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  return 0;
}

export interface RunAgentOptions {
  /** Stops the agent: the report in flight is finished first. */
  signal: AbortSignal;
  log?: Logger;
}

type Delivery = 'unknown' | 'ok' | 'failing';

export async function runAgent(config: AgentConfig, { signal, log }: RunAgentOptions): Promise<void> {
  const logger = (log ?? createLogger(config.logLevel)).child({ agent: config.name });
  logger.info('agent started', {
    version: VERSION,
    server: config.serverUrl,
    interval_seconds: config.intervalSeconds,
    network: config.network,
  });
  for (const note of config.notes) logger.info(note);
  let delivery: Delivery = 'unknown';
  // /healthz and /readyz on the listener: healthy while rounds keep starting (agent/health.ts).
  const health = new LoopHealth(config.intervalSeconds * 1000, config.timeoutMs);
  const probes = await ProbeRound.start(config, logger, health);
  const tokens = config.tokenFile === null ? null : new TokenFile(config.tokenFile, logger);
  await runSchedule(config.intervalSeconds * 1000, signal, async ({ index, deadlineMs }) => {
    health.roundStarted();
    const report = await collectReport(config, probes, deadlineMs);
    const token = (await tokens?.read()) ?? null;
    // hostdate is the agent's clock when the report goes out: the exporter's clock offset compares it
    // with its receipt, and a retry re-sent with the first try's hostdate would look like skew.
    const sent = await sendReport(config.reportUrl, () => JSON.stringify({ ...report, hostdate: new Date().toISOString() }), {
      timeoutMs: config.timeoutMs,
      deadlineMs,
      stop: signal,
      token,
    });
    logger.debug('report sent', { slot: index, ...sendFields(sent) });
    delivery = logDelivery(logger, delivery, sent);
  });
  await probes.stop();
  logger.info('agent stopped');
}

function logDelivery(log: Logger, was: Delivery, sent: SendResult): Delivery {
  const now: Delivery = sent.ok ? 'ok' : 'failing';
  if (now === was) return now;
  if (now === 'failing') log.warn('reports failing', sendFields(sent));
  else log.info(was === 'unknown' ? 'reports delivered' : 'reports succeeding again', sendFields(sent));
  return now;
}

const sendFields = (s: SendResult): Record<string, unknown> =>
  s.ok ? { status: s.status, attempts: s.attempts } : { status: s.status, error: s.error, detail: s.detail, attempts: s.attempts };
