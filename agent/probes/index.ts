// The probe table: each agent probe is one file and one row here. A row starts what the probe
// keeps across rounds, or returns null when its flags turn it off; round.ts runs the started
// probes together each round under the round's deadline and merges the fields they fill.

import { apiServerProbe } from './api-server.js';
import { blockedProbe } from './blocked.js';
import { dnsProbe } from './dns.js';
import { dnsReplicasProbe } from './dns-replicas.js';
import { exporterProbe } from './exporter.js';
import { pathMtuProbe } from './mtu.js';
import { peerProbe } from './peer.js';
import type { ProbeRow } from './probe.js';

export const PROBES = {
  /** The original's: HTTP to the exporter's ping and --probe-urls, the server name lookup. */
  exporter: exporterProbe,
  /** Each resolver x each name, UDP (TCP when truncated). */
  dns: dnsProbe,
  /** Each cluster DNS replica the exporter hands out, queried directly (the first name). */
  'dns-replicas': dnsReplicasProbe,
  /** The listener, the assigned peers, the next round's peer list. */
  peers: peerProbe,
  /** ICMP availability and don't-fragment path MTU to the exporter and peers. */
  'path-mtu': pathMtuProbe,
  /** TCP and HTTPS to the API server through its Service address and its DNS name. */
  'api-server': apiServerProbe,
  /** TCP connects to targets that policy must deny: an answer is a failure. */
  'must-be-blocked': blockedProbe,
} as const satisfies Record<string, ProbeRow>;

export type ProbeName = keyof typeof PROBES;
