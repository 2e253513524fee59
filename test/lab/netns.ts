// The multi-node lab's network: Linux network namespaces as nodes, joined by veth pairs to a
// bridge that lives in its own namespace. Every address exists only inside these namespaces
// (198.18.0.0/15, the benchmarking range); nothing is added to the machine's own namespace.
//
//   <p>-sw:  bridge br0 with ports vex, vn1..vnN
//   <p>-ex:  eth0 198.18.0.2/24 (exporter, cluster DNS)
//   <p>-nI:  eth0 198.18.0.(10+I)/24, the node (host network); forwards for its pod
//   <p>-pI:  eth0 198.19.I.2/24 behind the node's pod0 198.19.I.1 (pod network)
//
// Dual-stack (option ipv6): each also gets an IPv6 ULA address beside its IPv4 one, inside the
// lab's namespaces and nowhere else: exporter fd00:18::2, node fd00:18::(10+I), pod fd00:19:I::2 behind the
// node's pod0 fd00:19:I::1, all /64, added without duplicate address detection (no wait).
//
// Names carry the test process id so parallel runs never collide; teardown kills whatever runs
// inside and deletes every namespace, also when the test failed.

import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Test } from 'tap';

export interface LabNode {
  readonly index: number;
  readonly node: string;
  /** Namespace of the node (host network). */
  readonly hostNs: string;
  /** Namespace of the node's pod (pod network). */
  readonly podNs: string;
  readonly hostIp: string;
  readonly podIp: string;
  /** IPv6 addresses of the node and its pod; null on an IPv4-only lab. */
  readonly hostIp6: string | null;
  readonly podIp6: string | null;
  /** The node's port on the bridge, in the switch namespace. */
  readonly switchPort: string;
}

export interface LabNet {
  readonly prefix: string;
  readonly switchNs: string;
  readonly exporterNs: string;
  readonly exporterIp: string;
  /** Null on an IPv4-only lab. */
  readonly exporterIp6: string | null;
  readonly nodes: readonly LabNode[];
  /** Runs a command inside a namespace; rejects with its stderr. */
  exec(ns: string, cmd: string[]): Promise<string>;
  /** Loads an nft ruleset (text) inside a namespace. */
  nft(ns: string, rules: string): Promise<void>;
}

export function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Fails with a clear message when this machine cannot build the lab. */
async function requireNetns(probe: string): Promise<void> {
  try {
    await run('ip', ['netns', 'add', probe]);
    await run('ip', ['netns', 'del', probe]);
  } catch (e) {
    throw new Error(
      `the lab needs root and working network namespaces ("ip netns add" failed; run as root with iproute2 installed): ${(e as Error).message}`,
    );
  }
  for (const tool of ['nft', 'ethtool', 'dnsmasq', 'ping']) {
    await run('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new Error(`the lab needs ${tool} (Debian packages: nftables, ethtool, dnsmasq-base, iputils-ping)`);
    });
  }
}

/** Deletes what an earlier lab left behind when its test process was killed before teardown. */
async function reapStaleLabs(): Promise<void> {
  const list = await run('ip', ['netns', 'list']);
  for (const m of list.matchAll(/^(nc(\d+)-(?:sw|ex|dns|probe|[np]\d+))\b/gm)) {
    const [ns, pid] = [m[1] as string, Number(m[2])];
    try {
      process.kill(pid, 0);
      continue; // its test is still running
    } catch {
      // dead owner: clean up below
    }
    await killInside(ns);
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true }); // its resolv.conf (cluster.ts resolvConf)
  }
}

async function killInside(ns: string): Promise<void> {
  const pids = (await run('ip', ['netns', 'pids', ns]).catch(() => '')).split('\n').filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function createLabNet(t: Test, nodeCount: number, { ipv6 = false } = {}): Promise<LabNet> {
  const prefix = `nc${process.pid}`;
  await requireNetns(`${prefix}-probe`);
  await reapStaleLabs();
  const namespaces: string[] = [];
  const exec = (ns: string, cmd: string[]): Promise<string> => run('ip', ['netns', 'exec', ns, ...cmd]);
  const ipIn = (ns: string, args: string): Promise<string> => run('ip', ['-n', ns, ...args.split(' ')]);
  const addNs = async (ns: string): Promise<void> => {
    await run('ip', ['netns', 'add', ns]);
    namespaces.push(ns);
    await ipIn(ns, 'link set lo up');
  };
  t.teardown(async () => {
    for (const ns of namespaces.reverse()) {
      await killInside(ns);
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  });

  const switchNs = `${prefix}-sw`;
  const exporterNs = `${prefix}-ex`;
  const exporterIp = '198.18.0.2';
  const exporterIp6 = ipv6 ? 'fd00:18::2' : null;
  const addr6 = async (ns: string, ip: string | null, dev: string): Promise<void> => {
    if (ip) await ipIn(ns, `-6 addr add ${ip}/64 dev ${dev} nodad`);
  };
  await addNs(switchNs);
  // No multicast snooping: IPv6 neighbour discovery is multicast, flooded like ARP's broadcast.
  await ipIn(switchNs, 'link add br0 type bridge mcast_snooping 0');
  await ipIn(switchNs, 'link set br0 up');
  const plug = async (ns: string, port: string, ip: string): Promise<void> => {
    await run('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', switchNs]);
    await ipIn(switchNs, `link set ${port} master br0 up`);
    await ipIn(ns, `addr add ${ip}/24 dev eth0`);
    await ipIn(ns, 'link set eth0 up');
  };
  await addNs(exporterNs);
  await plug(exporterNs, 'vex', exporterIp);
  await addr6(exporterNs, exporterIp6, 'eth0');

  const nodes: LabNode[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    const n: LabNode = {
      index: i,
      node: `node-${i}`,
      hostNs: `${prefix}-n${i}`,
      podNs: `${prefix}-p${i}`,
      hostIp: `198.18.0.${10 + i}`,
      podIp: `198.19.${i}.2`,
      hostIp6: ipv6 ? `fd00:18::${10 + i}` : null,
      podIp6: ipv6 ? `fd00:19:${i}::2` : null,
      switchPort: `vn${i}`,
    };
    await addNs(n.hostNs);
    await addNs(n.podNs);
    await plug(n.hostNs, n.switchPort, n.hostIp);
    await run('ip', ['link', 'add', 'pod0', 'netns', n.hostNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.podNs]);
    await ipIn(n.hostNs, `addr add 198.19.${i}.1/24 dev pod0`);
    await ipIn(n.hostNs, 'link set pod0 up');
    await ipIn(n.podNs, `addr add ${n.podIp}/24 dev eth0`);
    await ipIn(n.podNs, 'link set eth0 up');
    await ipIn(n.podNs, `route add default via 198.19.${i}.1`);
    await exec(n.hostNs, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    if (ipv6) {
      await addr6(n.hostNs, n.hostIp6, 'eth0');
      await addr6(n.hostNs, `fd00:19:${i}::1`, 'pod0');
      await addr6(n.podNs, n.podIp6, 'eth0');
      await ipIn(n.podNs, `-6 route add default via fd00:19:${i}::1`);
      await exec(n.hostNs, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    }
    nodes.push(n);
  }
  // Routes to every pod network through its node, from the exporter and from every other node.
  for (const n of nodes) {
    for (const ns of [exporterNs, ...nodes.filter((m) => m !== n).map((m) => m.hostNs)]) {
      await ipIn(ns, `route add 198.19.${n.index}.0/24 via ${n.hostIp}`);
      if (n.hostIp6) await ipIn(ns, `-6 route add fd00:19:${n.index}::/64 via ${n.hostIp6}`);
    }
  }
  return {
    prefix,
    switchNs,
    exporterNs,
    exporterIp,
    exporterIp6,
    nodes,
    exec,
    nft: async (ns, rules) => {
      await run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], rules);
    },
  };
}
