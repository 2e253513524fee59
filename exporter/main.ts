// `netchecker exporter`: builds the parts from the config, serves until SIGTERM/SIGINT.

import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runCommand } from '../lib/command.js';
import { FlagError } from '../lib/flags.js';
import { createLogger, type Logger } from '../lib/log.js';
import { checkHandler } from './api/check.js';
import { type ReportAuth, reportAuths } from './auth/auth.js';
import { protectMetrics } from './auth/metrics-auth.js';
import { healthz, ping, readyz } from './api/health.js';
import { BodyBudget } from './api/body.js';
import { peersHandler } from './api/peers.js';
import { reportHandlers } from './api/reports.js';
import { LargeResponses } from './api/large-responses.js';
import { metricsHandler } from './api/metrics.js';
import { statusHandler } from './api/status.js';
import { uiHandlers } from './api/ui.js';
import { loadAssets } from './ui/assets.js';
import { type ExporterConfig, exporterCommand } from './config.js';
import { discoveries, startDnsReplicas } from './discovery/discoveries.js';
import { SelfMetrics } from './metrics/self.js';
import { type Clock, systemClock } from '../lib/clock.js';
import { Monitor } from './monitor.js';
import { createHttpServer, type Route } from './server.js';
import { closeServer, drainConnections, serveUntilSignal } from './shutdown.js';
import { stores } from './store/stores.js';

export interface RunningExporter {
  /** Base URL, e.g. http://127.0.0.1:8081 */
  readonly url: string;
  readonly monitor: Monitor;
  /** Shutdown begins: /readyz answers 503, every answer closes its connection; still serving. */
  drain(): void;
  close(): Promise<void>;
}

/** Starts an exporter; throws with a readable message when the config cannot be used. */
export async function startExporter(config: ExporterConfig, log: Logger, clock: Clock = systemClock): Promise<RunningExporter> {
  // Before anything opens: a missing build is a start error with nothing to close.
  const ui = config.ui ? uiHandlers(loadAssets()) : null;
  const discovery = await discoveries[config.discovery]({ ...config, log, monoMs: () => clock.monoMs() });
  const dnsReplicas = await startDnsReplicas(config.dnsReplicas, config.kubernetes.kubeconfig, log).catch(async (e: unknown) => {
    await discovery.close();
    throw e;
  });
  const makeStore = stores[config.store];
  const self = new SelfMetrics();
  const store = await makeStore({
    etcd: config.etcd,
    kubeStore: config.kubeStore,
    kubernetes: config.kubernetes,
    reportTtlSeconds: config.reportTtlSeconds,
    clock,
    log,
    onError: (op) => self.storeError(op),
  }).catch(async (e: unknown) => {
    await Promise.all([discovery.close(), dnsReplicas.close()]); // informers would keep the process alive
    throw e;
  });
  self.watchStore(() => store.health());
  self.watchDiscovery(() => discovery.ready());
  if (config.dnsReplicas !== null) self.watchDnsReplicas(dnsReplicas);
  const monitor = new Monitor({
    store,
    discovery,
    self,
    log,
    clock,
    reportTtlSeconds: config.reportTtlSeconds,
    startupGraceSeconds: config.startupGraceSeconds,
    failingStates: new Set(config.failingStates),
    legacyMetrics: config.legacyMetrics,
    dnsReplicas: () => dnsReplicas.replicas(),
  });
  let draining = false;
  let auth: ReportAuth | null = null;
  /** Closes what start opened: an etcd client, informers or a token file timer would keep the process alive. */
  const closeParts = async (): Promise<void> => {
    auth?.close();
    await Promise.all([store.close(), discovery.close(), dnsReplicas.close()]);
  };
  const giveUp = async (e: unknown): Promise<never> => {
    await closeParts();
    throw e;
  };
  const authDeps = { config: config.auth, kubeconfig: config.kubernetes.kubeconfig, discovery, clock, log, peerCidrs: config.peerCidrs };
  auth = await reportAuths[config.auth.mode](authDeps).catch(giveUp);
  const large = new LargeResponses({ max: config.maxLargeResponses, writeTimeoutMs: config.writeTimeoutMs });
  const reports = reportHandlers({
    monitor,
    store,
    discovery,
    self,
    maxBodyBytes: config.maxBodyBytes,
    bodyBudget: new BodyBudget(config.maxInflightBodyBytes),
    maxAgents: config.maxAgents,
    maxReportIntervalSeconds: config.maxReportIntervalSeconds,
    auth,
    large,
  });
  const peers = peersHandler({
    monitor,
    store,
    discovery,
    dnsReplicas: () => dnsReplicas.replicas(),
    meshPeers: config.meshPeers,
    peerCidrs: config.peerCidrs,
    clock,
    log,
  });
  const metrics = metricsHandler({ monitor, self, large, now: () => performance.now() }); // real time: it bounds how stale a shared body is
  const guarded = config.auth.metrics === 'kubernetes' ? await protectMetrics(metrics, authDeps).catch(giveUp) : metrics;
  const routes: Route[] = [
    { path: '/api/v1/agents/:name', methods: { POST: reports.post, GET: reports.getOne }, strictQuery: true },
    { path: '/api/v1/agents', methods: { GET: reports.list }, strictQuery: true },
    { path: '/api/v1/peers/:name', methods: { GET: peers }, strictQuery: true },
    { path: '/api/v1/connectivity_check', methods: { GET: checkHandler(monitor, discovery, store) }, strictQuery: true },
    {
      path: '/api/v1/status',
      methods: { GET: statusHandler(monitor, discovery, store, clock, () => dnsReplicas.replicas()) },
      strictQuery: true,
    },
    { path: '/api/v1/ping', methods: { GET: ping } },
    { path: '/metrics', methods: { GET: guarded } },
    { path: '/healthz', methods: { GET: healthz } },
    { path: '/readyz', methods: { GET: readyz(store, discovery, () => draining) } },
    ...(ui
      ? [
          { path: '/', methods: { GET: ui.index } },
          { path: '/ui/:name', methods: { GET: ui.file } },
        ]
      : []),
  ];
  const server = createHttpServer(routes, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${config.host}:${config.port}: ${e.code ?? e.message}`)),
    );
    // Agents connect afresh per report: a deep accept queue (Linux caps it at net.core.somaxconn)
    // rides out a GC pause without dropping SYNs, which clients would retry only 1 s later.
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, resolve);
  }).catch(giveUp);
  monitor.start();
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info('exporter listening', { url, store: config.store, discovery: config.discovery, expected: discovery.expected()?.size ?? null });
  return {
    url,
    monitor,
    drain() {
      if (draining) return;
      draining = true;
      drainConnections(server);
    },
    async close() {
      monitor.stop();
      await closeServer(server);
      await closeParts();
    },
  };
}

export const run = (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> => runCommand(exporterCommand, argv, env, serve);

async function serve(config: ExporterConfig): Promise<number> {
  // Process-wide, so here and not in startExporter (tests run exporters inside their own process).
  // V8 reads it at every full GC; --max-semi-space-size is read only at start (a node flag in deploy/).
  if (config.heapGrowthPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowthPercent}`);
  const log = createLogger(config.logLevel, { component: 'exporter' });
  for (const note of config.notes) log.info(note);
  let exporter: RunningExporter;
  try {
    exporter = await startExporter(config, log);
  } catch (e) {
    if (e instanceof FlagError) throw e; // the prologue's one line, exit 2
    log.error('cannot start', { error: (e as Error).message });
    return 1;
  }
  return serveUntilSignal(exporter, {
    delayMs: config.shutdownDelaySeconds * 1000,
    log,
    exit: (code) => process.exit(code),
    signals: process,
  });
}
