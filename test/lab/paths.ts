// Paths a workload depends on, in the lab: a fake Kubernetes API server over TLS and a target
// that policy must block, both at the exporter namespace's address. Each is a server of the test
// on a unix socket behind tcp-proxy.mjs listening on the lab address: the test sets the answers
// (slow, a certificate the agents' CA does not sign), and stopping the proxy stops the endpoint
// (connections refused). The agents reach the API server at the Service address the pod's env
// gives (KUBERNETES_SERVICE_HOST/PORT) and by kubernetes.default.svc.cluster.local, which the
// lab's dnsmasq answers (the cluster's resolvConf option); policy is an nft drop on each node.
//
//   const paths = labPaths(t);
//   const c = await startLabCluster(t, 3, { resolvConf: true, agents: paths.agents });
//   const { api, blocked } = await paths.start(c);

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { selfSigned } from '../helpers/fake-kube.js';
import { DNS_NAMES, killAndWait, type LabCluster, PROXY } from './cluster.js';
import type { LabNet, LabNode } from './netns.js';

export const API_SERVER_PORT = 6443;
/** The must-be-blocked target's port (a database's, say). */
export const BLOCKED_PORT = 5432;
const API_SERVER_NAME = DNS_NAMES[0] as string;

export interface LabApiServer {
  /** IP:PORT, the Service address. */
  readonly target: string;
  /** Milliseconds before each answer. */
  delayMs: number;
  /** Serves a certificate the agents' CA does not sign (true), or the right one again (false). */
  impostor(on: boolean): void;
  /** Stops the endpoint: connections refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface LabBlockedTarget {
  /** IP:PORT, what the agents get in --must-be-blocked; it answers every TCP connect. */
  readonly target: string;
  /** Policy that blocks it from a node and its pod (an nft drop, idempotent); resolves with the quiet undo. */
  block(node: LabNode): Promise<() => Promise<unknown>>;
}

export interface LabPaths {
  /** The cluster's `agents` option: the API server's env and CA, the must-be-blocked target. */
  readonly agents: (net: LabNet) => { args: string[]; env: Record<string, string> };
  /** Starts both endpoints; the target blocked on every node before it answers. */
  start(c: LabCluster): Promise<{ api: LabApiServer; blocked: LabBlockedTarget }>;
}

/**
 * Drops TCP from a node and its pod to `ip:port` with an nft table in the node's namespace, in
 * place of the table's earlier rules (so it may be applied twice); resolves with the quiet undo.
 */
export async function dropOnNode(labNet: LabNet, node: LabNode, table: string, ip: string, port: number): Promise<() => Promise<unknown>> {
  const match = `ip daddr ${ip} tcp dport ${port} drop`;
  await labNet.nft(
    node.hostNs,
    `table inet ${table}
    delete table inet ${table}
    table inet ${table} {
      chain output { type filter hook output priority 0; ${match}; }
      chain forward { type filter hook forward priority 0; ${match}; }
    }`,
  );
  return () => labNet.exec(node.hostNs, ['nft', 'delete', 'table', 'inet', table]).catch(() => undefined);
}

export function labPaths(t: Test): LabPaths {
  const dir = mkdtempSync(join(tmpdir(), 'lab-paths-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let good: { key: string; cert: string } | null = null;
  let other: { key: string; cert: string } | null = null;
  const agents = (labNet: LabNet): { args: string[]; env: Record<string, string> } => {
    // Both certificates name the API server's address and name: the impostor's fails on its CA only.
    const san = `IP:${labNet.exporterIp},DNS:${API_SERVER_NAME}`;
    other = selfSigned(mkdtempSync(join(dir, 'impostor-')), 'impostor', san);
    good = selfSigned(dir, 'kube-apiserver', san); // dir/cert.pem: the agents' CA
    return {
      args: ['--api-server-ca', join(dir, 'cert.pem'), '--must-be-blocked', `${labNet.exporterIp}:${BLOCKED_PORT}`],
      env: { KUBERNETES_SERVICE_HOST: labNet.exporterIp, KUBERNETES_SERVICE_PORT: String(API_SERVER_PORT) },
    };
  };

  const start = async (c: LabCluster): Promise<{ api: LabApiServer; blocked: LabBlockedTarget }> => {
    if (!good || !other) throw new Error('labPaths: give `agents` to startLabCluster first');
    const [signed, impostor] = [good, other];
    const ex = c.net.exporterIp;
    const server = https.createServer(signed, (_req, res) =>
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), api.delayMs),
    );
    const held = new Set<net.Socket>();
    const db = net.createServer((s) => s.end());
    server.on('connection', (s: net.Socket) => (held.add(s), s.once('close', () => held.delete(s))));
    await listen(server, join(dir, 'api.sock'));
    await listen(db, join(dir, 'db.sock'));
    t.teardown(() => {
      for (const s of held) s.destroy();
      server.close();
      db.close();
    });
    const expose = (address: string, socket: string): Promise<ChildProcess> =>
      c.spawnIn(c.net.exporterNs, [process.execPath, PROXY, address, `unix:${join(dir, socket)}`, '0'], /proxy listening/);

    let proxy: ChildProcess | null = await expose(`${ex}:${API_SERVER_PORT}`, 'api.sock');
    const api: LabApiServer = {
      target: `${ex}:${API_SERVER_PORT}`,
      delayMs: 0,
      impostor: (on) => server.setSecureContext(on ? impostor : signed),
      stop: () => {
        const p = proxy;
        proxy = null;
        return killAndWait(p);
      },
      start: async () => {
        proxy ??= await expose(`${ex}:${API_SERVER_PORT}`, 'api.sock');
      },
    };
    const blocked: LabBlockedTarget = {
      target: `${ex}:${BLOCKED_PORT}`,
      block: (node) => dropOnNode(c.net, node, 'lab_policy', ex, BLOCKED_PORT),
    };
    for (const n of c.net.nodes) await blocked.block(n);
    await expose(blocked.target, 'db.sock');
    return { api, blocked };
  };
  return { agents, start };
}

function listen(server: net.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
}
