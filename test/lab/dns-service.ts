// Cluster DNS as a Service in the lab: two dnsmasq replicas in their own namespace (<p>-dns, on
// the lab bridge at 198.18.0.3 and .4) behind a Service-like address, 198.18.0.100:53, made the
// way kube-proxy makes one: an nftables DNAT in every node's namespace (prerouting for the pod
// behind the node, output for the node itself) to `numgen random mod 2`, so each query (a new
// UDP flow) lands on either replica. A replica can be broken (it answers REFUSED: restarted
// without its records) and healed again. Only addresses inside the lab's namespaces are used.

import type { Test } from 'tap';
import { DNS_NAMES, type LabCluster } from './cluster.js';
import { type Dnsmasq, startDnsmasq } from './dnsmasq.js';
import { run } from './netns.js';

export const DNS_VIP = '198.18.0.100';

export interface LabReplica {
  /** IP:PORT, as --dns-replicas takes it and the series name it. */
  readonly address: string;
  readonly pod: string;
}

export interface LabDnsService {
  readonly replicas: readonly LabReplica[];
  /** The exporter flag that names the replicas (their pods on node "dns-node"). */
  readonly exporterArgs: readonly string[];
  /** Restarts replica i without records: it answers REFUSED to every query. */
  break(i: number): Promise<void>;
  heal(i: number): Promise<void>;
}

const IPS = ['198.18.0.3', '198.18.0.4'] as const;
export const REPLICAS: readonly LabReplica[] = IPS.map((ip, i) => ({ address: `${ip}:53`, pod: `coredns-${'ab'[i]}` }));
export const DNS_REPLICA_ARGS = ['--dns-replicas', REPLICAS.map((r) => `${r.address}=${r.pod}@dns-node`).join(',')];

/** Sets up the replicas and the Service address on a running lab (its agents use --dns-server DNS_VIP). */
export async function startDnsService(t: Test, c: LabCluster): Promise<LabDnsService> {
  const { net } = c;
  const ns = `${net.prefix}-dns`;
  await run('ip', ['netns', 'add', ns]);
  t.teardown(async () => {
    for (const pid of (await run('ip', ['netns', 'pids', ns]).catch(() => '')).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  });
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', 'vdns', 'netns', net.switchNs]);
  await run('ip', ['-n', net.switchNs, 'link', 'set', 'vdns', 'master', 'br0', 'up']);
  for (const ip of IPS) await run('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  for (const n of net.nodes) await run('ip', ['-n', ns, 'route', 'add', `198.19.${n.index}.0/24`, 'via', n.hostIp]);

  // A dual-stack lab's agents ask AAAA too: each name gets the exporter's address of each family.
  const addresses = [net.exporterIp, ...(net.exporterIp6 ? [net.exporterIp6] : [])];
  const records = DNS_NAMES.flatMap((name) => addresses.map((ip) => [name, ip] as const));
  const serve = (i: number, withRecords: boolean): Promise<Dnsmasq> =>
    startDnsmasq(t, { address: IPS[i] as string, port: 53, records: withRecords ? records : [], netns: ns });
  const running: Dnsmasq[] = [await serve(0, true), await serve(1, true)];

  const map = `numgen random mod 2 map { ${IPS.map((ip, i) => `${i} : ${ip}`).join(', ')} }`;
  const dnat = `ip daddr ${DNS_VIP} udp dport 53 dnat to ${map}; ip daddr ${DNS_VIP} tcp dport 53 dnat to ${map};`;
  for (const n of net.nodes) {
    await net.nft(
      n.hostNs,
      `table ip lab_dns_service {
        chain pre { type nat hook prerouting priority dstnat; ${dnat} }
        chain out { type nat hook output priority -100; ${dnat} }
      }`,
    );
  }
  const restart = async (i: number, withRecords: boolean): Promise<void> => {
    await running[i]?.stop();
    running[i] = await serve(i, withRecords);
  };
  return {
    replicas: REPLICAS,
    exporterArgs: DNS_REPLICA_ARGS,
    break: (i) => restart(i, false),
    heal: (i) => restart(i, true),
  };
}
