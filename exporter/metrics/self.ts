// The exporter's own metrics, through prom-client: build info, reports accepted and rejected,
// store and discovery health, render time, the cluster DNS replicas known and handed out, plus
// the standard process_* and nodejs_* metrics.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { VERSION } from '../../lib/version.js';
import { LIMITS } from '../../report/schema.js';
import type { DnsReplicaSource } from '../discovery/dns-replicas.js';
import { REJECT_REASONS, type RejectReason } from '../errors.js';
import { STORE_OPS, type StoreHealth, type StoreOp } from '../store/store.js';

export class SelfMetrics {
  readonly registry = new Registry();
  readonly #accepted: Counter;
  readonly #rejected: Counter<'reason'>;
  readonly #storeErrors: Counter<'op'>;
  #storeHealth: () => StoreHealth = () => ({ up: true, queued: 0 });
  #discoveryUp: () => boolean = () => true;
  #dnsReplicas: Pick<DnsReplicaSource, 'replicas' | 'known'> | null = null;
  readonly renderSeconds: Histogram;
  readonly verdictSeconds: Histogram;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges *_total, which reads as a counter; they are left out.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    new Gauge({
      name: 'netchecker_build_info',
      help: 'Always 1; labels carry the version of netchecker and of Node.js.',
      labelNames: ['version', 'nodejs_version'],
      registers,
    }).set({ version: VERSION, nodejs_version: process.versions.node }, 1);
    this.#accepted = new Counter({ name: 'netchecker_reports_accepted_total', help: 'Reports validated and stored.', registers });
    this.#rejected = new Counter({
      name: 'netchecker_reports_rejected_total',
      help: 'Reports refused and not stored, by reason (the error code in the response): 4xx, and 429/503 when a token cannot be checked now.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of REJECT_REASONS) this.#rejected.inc({ reason }, 0);
    this.#storeErrors = new Counter({
      name: 'netchecker_store_errors_total',
      help: 'Store operations that failed or timed out, by operation (put, delete, load, watch, lease); etcd store only.',
      labelNames: ['op'],
      registers,
    });
    for (const op of STORE_OPS) this.#storeErrors.inc({ op }, 0);
    const health = (): StoreHealth => this.#storeHealth();
    new Gauge({
      name: 'netchecker_store_up',
      help: '1 while the store answers and this exporter sees every change in it (always 1 for the memory store).',
      registers,
      collect() {
        this.set(health().up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'netchecker_store_queued_writes',
      help: 'Reports and deletes accepted during a store outage, waiting to be written back.',
      registers,
      collect() {
        this.set(health().queued);
      },
    });
    const discoveryUp = (): boolean => this.#discoveryUp();
    new Gauge({
      name: 'netchecker_discovery_up',
      help: '1 while discovery holds a full, current view of the expected agents (always 1 without Kubernetes discovery).',
      registers,
      collect() {
        this.set(discoveryUp() ? 1 : 0);
      },
    });
    const dnsReplicas = (): Pick<DnsReplicaSource, 'replicas' | 'known'> | null => this.#dnsReplicas;
    new Gauge({
      name: 'netchecker_dns_replicas',
      help: `Cluster DNS replicas the exporter knows (ready endpoints of the DNS Service, or --dns-replicas), by status: handed_out to the agents, or left_out beyond the ${LIMITS.dnsReplicasMax} an agent takes (the first by address are handed out).`,
      labelNames: ['status'],
      registers,
      collect() {
        const source = dnsReplicas();
        if (!source) return; // no replica source configured: no series
        const handedOut = source.replicas().length;
        this.set({ status: 'handed_out' }, handedOut);
        this.set({ status: 'left_out' }, source.known() - handedOut);
      },
    });
    this.renderSeconds = new Histogram({
      name: 'netchecker_metrics_render_seconds',
      help: 'Time to render the agent series of one /metrics scrape, in seconds.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.verdictSeconds = new Histogram({
      name: 'netchecker_verdict_compute_seconds',
      help: 'Time to compute the verdict over all agents, in seconds.',
      buckets: [0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
  }

  accepted(): void {
    this.#accepted.inc();
  }

  rejected(reason: RejectReason): void {
    this.#rejected.inc({ reason });
  }

  storeError(op: StoreOp): void {
    this.#storeErrors.inc({ op });
  }

  /** Where netchecker_store_up and netchecker_store_queued_writes are read from at scrape time. */
  watchStore(health: () => StoreHealth): void {
    this.#storeHealth = health;
  }

  /** Where netchecker_discovery_up is read from at scrape time. */
  watchDiscovery(up: () => boolean): void {
    this.#discoveryUp = up;
  }

  /** Where netchecker_dns_replicas is read from at scrape time; unwatched (no replica source), it has no series. */
  watchDnsReplicas(source: Pick<DnsReplicaSource, 'replicas' | 'known'>): void {
    this.#dnsReplicas = source;
  }
}
