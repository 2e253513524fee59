// deploy/: every kustomization renders with `kubectl kustomize`, every rendered object validates
// offline against the Kubernetes schemas (kubernetes-models), and the objects fit together:
// selectors match pod labels, the DaemonSets carry the env and dnsPolicy the agent needs, RBAC is
// read-only but for reviews, each agent DaemonSet has its own service account and a projected
// token and readiness/liveness probes on its own listener, every container runs as non-root, the
// pod-network agent meets Pod Security restricted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IService } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { AGENT_NODE_FLAGS } from '../bench/agent.js';
import { EXPORTER_NODE_FLAGS } from '../bench/lib.js';
import { exporterFlags, parseExporterConfig } from '../exporter/config.js';
import { CLOSE_DEADLINE_MS } from '../exporter/shutdown.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const IMAGE = 'ghcr.io/netchecker/netchecker:0.1.0';

/** A rendered object; read through the kubernetes-models interfaces once validated. */
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: IObjectMeta;
  [field: string]: unknown;
}
interface ServiceMonitor extends Obj {
  spec: { selector: { matchLabels?: Record<string, string> }; endpoints: Array<{ port?: string }> };
}
interface PrometheusRule extends Obj {
  spec?: { groups?: Array<{ rules?: Array<{ expr?: unknown; alert?: unknown; record?: unknown }> }> };
}
type Workload = (IDeployment | IDaemonSet) & Obj;
const overlays = readdirSync(`${root}deploy/overlays`).map((d) => `deploy/overlays/${d}`);
const DIRS = ['deploy/base', ...overlays, 'deploy/kind'];

function render(dir: string): Obj[] {
  const r = spawnSync('kubectl', ['kustomize', `${root}${dir}`], { encoding: 'utf8' });
  if (r.error) throw new Error(`kubectl is required (kubectl v1.32 with kustomize): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

const rendered = new Map<string, Obj[]>();
for (const dir of DIRS) {
  try {
    rendered.set(dir, render(dir));
  } catch (e) {
    t.fail((e as Error).message);
  }
}

const find = <T = Obj>(objs: Obj[], kind: string, name?: string): T[] =>
  objs.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name)) as T[];
function one(objs: Obj[], kind: 'Deployment', name: string): IDeployment;
function one(objs: Obj[], kind: 'DaemonSet', name: string): IDaemonSet;
function one(objs: Obj[], kind: 'Service', name: string): IService;
function one(objs: Obj[], kind: 'NetworkPolicy', name: string): INetworkPolicy;
function one(objs: Obj[], kind: 'ClusterRoleBinding', name: string): IClusterRoleBinding;
function one(objs: Obj[], kind: 'RoleBinding', name: string): IRoleBinding;
function one(objs: Obj[], kind: 'ClusterRole' | 'Role', name: string): Obj & { rules?: IPolicyRule[] };
function one(objs: Obj[], kind: string, name: string): unknown {
  const found = find(objs, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as Obj;
}
const subset = (small: Record<string, string> | undefined, big: Record<string, string> | undefined): boolean =>
  small !== undefined && Object.keys(small).length > 0 && Object.entries(small).every(([k, v]) => big?.[k] === v);
const workloads = (objs: Obj[]): Workload[] => objs.filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind)) as Workload[];
const OURS = ['netchecker-server', 'netchecker-agent', 'netchecker-agent-hostnet'];

/** kubernetes-models 4.5 has the built-in kinds; the prometheus-operator CRDs are checked by hand below. */
type Model = new (o: Obj) => { validate(): void };
async function model(apiVersion: string, kind: string): Promise<Model | null> {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return null;
  const mod = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, Model>;
  return mod[kind] ?? null;
}

t.test('every kustomization renders and every object validates against the Kubernetes schemas', async (t) => {
  t.ok(overlays.includes('deploy/overlays/kube-prometheus') && overlays.includes('deploy/overlays/kube-prometheus-stack') && overlays.includes('deploy/overlays/nodeport'));
  for (const dir of DIRS) {
    const objs = rendered.get(dir);
    if (!objs) continue;
    t.ok(objs.length > 0, `${dir} renders`);
    for (const o of objs) {
      const what = `${dir}: ${o.kind} ${o.metadata?.name}`;
      const Model = await model(String(o.apiVersion), String(o.kind));
      if (Model) {
        t.doesNotThrow(() => new Model(o).validate(), what);
      } else if (o.kind === 'ServiceMonitor') {
        const sm = o as ServiceMonitor;
        t.ok(sm.spec?.selector?.matchLabels && Array.isArray(sm.spec.endpoints) && sm.spec.endpoints.every((e) => typeof e.port === 'string'), what);
      } else if (o.kind === 'PrometheusRule') {
        const rules = ((o as PrometheusRule).spec?.groups ?? []).flatMap((g) => g.rules ?? []);
        t.ok(rules.length > 0 && rules.every((r) => typeof r.expr === 'string' && (typeof r.alert === 'string' || typeof r.record === 'string')), what);
      } else t.fail(`${what}: no schema to validate ${o.apiVersion} against`);
      const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind);
      if (!clusterScoped) t.equal(o.metadata?.namespace, 'netchecker', `${what} is in namespace netchecker`);
    }
  }
});

t.test('selectors match pod labels; the names users rely on', async (t) => {
  for (const [dir, objs] of rendered) {
    for (const w of workloads(objs)) {
      t.ok(subset(w.spec?.selector.matchLabels, w.spec?.template.metadata?.labels), `${dir}: ${w.kind} ${w.metadata.name} selects its own pods`);
    }
    const server = one(objs, 'Deployment', 'netchecker-server');
    const podLabels = server.spec?.template.metadata?.labels ?? {};
    t.equal(podLabels.app, 'netchecker-server');
    const svc = one(objs, 'Service', 'netchecker-service');
    t.ok(subset(svc.spec?.selector, podLabels), `${dir}: netchecker-service selects the exporter`);
    const ports = svc.spec?.ports ?? [];
    t.same(ports.map((p) => [p.name, p.port]), [['http', 8081]]);
    const np = one(objs, 'NetworkPolicy', 'netchecker-server');
    t.ok(subset(np.spec?.podSelector.matchLabels, podLabels), `${dir}: the NetworkPolicy guards the exporter`);
    const fromAgents = (np.spec?.ingress ?? []).flatMap((r) => r.from ?? []).some((f) => f.podSelector?.matchLabels?.app === 'netchecker-agent' && !f.namespaceSelector);
    t.ok(fromAgents, `${dir}: pod-network agents may reach the exporter`);
    for (const sm of find<ServiceMonitor>(objs, 'ServiceMonitor')) {
      t.ok(subset(sm.spec.selector.matchLabels, svc.metadata?.labels), `${dir}: the ServiceMonitor selects netchecker-service`);
      t.ok(sm.spec.endpoints.every((e) => ports.some((p) => p.name === e.port)), `${dir}: ServiceMonitor ports exist`);
    }
    for (const ds of ['netchecker-agent', 'netchecker-agent-hostnet']) {
      t.equal(one(objs, 'DaemonSet', ds).spec?.template.metadata?.labels?.app, ds, `${dir}: ${ds} pods carry app=${ds} (the discovery selector)`);
    }
  }
});

t.test('the DaemonSets carry the downward-API env, args, dnsPolicy and tolerations the agent needs', async (t) => {
  for (const [dir, objs] of rendered) {
    for (const name of ['netchecker-agent', 'netchecker-agent-hostnet']) {
      const spec = one(objs, 'DaemonSet', name).spec?.template.spec;
      const c = spec?.containers[0] as IContainer;
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
      t.same(
        env,
        { MY_POD_NAME: 'metadata.name', MY_NODE_NAME: 'spec.nodeName', MY_POD_IP: 'status.podIP', MY_NODE_IP: 'status.hostIP', NETCHECKER_NETWORK: name.endsWith('hostnet') ? 'host' : 'pod' },
        `${dir}: ${name} env`,
      );
      const port = name.endsWith('hostnet') ? 8091 : 8090; // the peer listener; MY_POD_IP is what peers dial
      t.same(c.command, ['node', ...AGENT_NODE_FLAGS, '/app/dist/cli.js'], `${dir}: ${name} runs with the Node flags bench/agent.ts measures`);
      t.same(c.args, ['agent', '--server', 'http://netchecker-service:8081', '--interval', '15', '--listen', `0.0.0.0:${port}`, '--token-file', '/var/run/secrets/netchecker/token', '--api-server-ca', '/var/run/secrets/netchecker/ca.crt'], `${dir}: ${name} args`);
      t.same(c.ports?.map((p) => p.containerPort), [port], `${dir}: ${name} declares the peer port`);
      t.same(spec?.tolerations, [{ operator: 'Exists' }], `${dir}: ${name} runs on every node, tainted or not`);
      t.equal(spec?.automountServiceAccountToken, false, `${dir}: agents get no API token`);
      if (name.endsWith('hostnet')) {
        t.equal(spec?.hostNetwork, true);
        t.equal(spec?.dnsPolicy, 'ClusterFirstWithHostNet', `${dir}: the host-network agent resolves cluster names`);
      } else t.notOk(spec?.hostNetwork, `${dir}: ${name} is in the pod network`);
    }
    const c = one(objs, 'Deployment', 'netchecker-server').spec?.template.spec?.containers[0] as IContainer;
    t.same(c.command, ['node', ...EXPORTER_NODE_FLAGS, '/app/dist/cli.js'], `${dir}: the exporter runs with the Node flags bench/ measures`);
    t.same(c.args?.slice(0, 3), ['exporter', '--discovery', 'kubernetes'], `${dir}: exporter args`);
    if (dir === 'deploy/overlays/compat') t.same(c.args?.slice(3), ['--auth', 'none'], `${dir}: the exporter takes the original agents' reports, which carry no token`);
    else t.same(c.args?.slice(3, 5), ['--auth', 'kubernetes'], `${dir}: the exporter takes reports only with an agent pod's token`);
    t.same([c.readinessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.path], ['/readyz', '/healthz']);
    const r = c.resources;
    t.ok(r?.requests?.cpu && r.requests.memory && r.limits?.cpu && r.limits.memory, `${dir}: requests and limits`);
    const images = workloads(objs)
      .filter((w) => OURS.includes(w.metadata.name ?? ''))
      .flatMap((w) => (w.spec?.template.spec?.containers ?? []).map((x) => x.image));
    t.same([...new Set(images)], [dir === 'deploy/kind' ? 'netchecker:e2e' : IMAGE], `${dir}: the image, set by kustomize images:`);
  }
});

/** The only writes RBAC grants: reviews, which store nothing (TokenReview in the base, SubjectAccessReview with --metrics-auth). */
const REVIEWS = ['tokenreviews', 'subjectaccessreviews'];

t.test('RBAC is read-only but for reviews: no verb beyond get, list, watch (create only on reviews); the exporter can read pods and nodes', async (t) => {
  for (const [dir, objs] of rendered) {
    for (const role of objs.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole') as Array<Obj & { rules?: IPolicyRule[] }>) {
      for (const rule of role.rules ?? []) {
        const review = (rule.resources ?? []).every((r) => REVIEWS.includes(r)) && (rule.resources ?? []).length > 0;
        t.same(rule.verbs.filter((v) => !['get', 'list', 'watch'].includes(v) && !(review && v === 'create')), [], `${dir}: ${role.kind} ${role.metadata.name} ${rule.resources}`);
        t.notOk(rule.resources?.includes('*') || rule.resources?.includes('secrets') || rule.verbs.includes('*'), `${dir}: no wildcard, no secrets`);
      }
    }
    const cr = one(objs, 'ClusterRole', 'netchecker-exporter');
    t.same(cr.rules, [
      { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    ]);
    t.equal(find(objs, 'ClusterRole').filter((r) => JSON.stringify(r).includes('subjectaccessreviews')).length, 0, `${dir}: SubjectAccessReviews only with the metrics-auth component`);
    const binding = one(objs, 'ClusterRoleBinding', 'netchecker-exporter');
    const sa = one(objs, 'Deployment', 'netchecker-server').spec?.template.spec?.serviceAccountName;
    t.same(binding.subjects, [{ kind: 'ServiceAccount', name: sa, namespace: 'netchecker' }], `${dir}: bound to the exporter's service account`);
    t.equal(find(objs, 'ServiceAccount', sa).length, 1);
  }
});

t.test('every container runs as non-root with no privileges; the pod-network agent meets Pod Security restricted', async (t) => {
  const SAFE_SYSCTLS = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes'];
  for (const [dir, objs] of rendered) {
    for (const w of workloads(objs)) {
      const pod = w.spec?.template.spec;
      for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
        const what = `${dir}: ${w.metadata.name}/${c.name}`;
        const sc = c.securityContext ?? {};
        t.ok(sc.runAsNonRoot ?? pod?.securityContext?.runAsNonRoot, `${what} runAsNonRoot`);
        t.not(sc.runAsUser ?? pod?.securityContext?.runAsUser, 0, `${what} not uid 0`);
        t.equal(sc.allowPrivilegeEscalation, false, `${what} no privilege escalation`);
        t.same(sc.capabilities?.drop, ['ALL'], `${what} drops all capabilities`);
        t.notOk(sc.privileged, `${what} not privileged`);
        t.equal(sc.readOnlyRootFilesystem, true, `${what} read-only root filesystem`);
        t.equal(sc.seccompProfile?.type ?? pod?.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${what} seccomp RuntimeDefault`);
      }
    }
    const agent = one(objs, 'DaemonSet', 'netchecker-agent').spec?.template.spec;
    const containers = agent?.containers ?? [];
    t.notOk(agent?.hostNetwork || agent?.hostPID || agent?.hostIPC, `${dir}: no host namespaces`);
    t.notOk((agent?.volumes ?? []).some((v) => v.hostPath), `${dir}: no hostPath`);
    t.ok(containers.every((c) => (c.securityContext?.capabilities?.add ?? []).every((a) => a === 'NET_BIND_SERVICE')), `${dir}: adds no capability beyond NET_BIND_SERVICE`);
    t.ok((agent?.securityContext?.sysctls ?? []).every((s) => SAFE_SYSCTLS.includes(s.name)), `${dir}: only safe sysctls`);
    t.ok(containers.every((c) => !c.ports?.some((p) => p.hostPort)), `${dir}: no host ports`);
  }
});

t.test('agent tokens: a service account per DaemonSet, bound to no role; a projected token with audience netchecker', async (t) => {
  for (const [dir, objs] of rendered) {
    const accounts = new Set<string>();
    for (const name of ['netchecker-agent', 'netchecker-agent-hostnet']) {
      const spec = one(objs, 'DaemonSet', name).spec?.template.spec;
      const sa = spec?.serviceAccountName ?? '';
      accounts.add(sa);
      const account = find<Obj & { automountServiceAccountToken?: boolean }>(objs, 'ServiceAccount', sa);
      t.equal(account.length, 1, `${dir}: ${name} has its service account ${sa}`);
      t.equal(account[0]?.automountServiceAccountToken, false, `${dir}: ${sa} mounts no API token by default`);
      const bound = objs.filter((o) => (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && JSON.stringify((o as { subjects?: unknown }).subjects ?? []).includes(`"${sa}"`));
      t.same(bound.map((b) => b.metadata.name), [], `${dir}: ${sa} is bound to no role (no API rights)`);
      const volume = spec?.volumes?.find((v) => v.name === 'netchecker-token');
      t.same(
        volume?.projected?.sources,
        [{ serviceAccountToken: { audience: 'netchecker', expirationSeconds: 3600, path: 'token' } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }],
        `${dir}: ${name} projects a token for audience netchecker, valid 1 h, and the cluster CA the API server probe verifies with`,
      );
      const mount = (spec?.containers[0] as IContainer).volumeMounts?.find((m) => m.name === 'netchecker-token');
      t.same([mount?.mountPath, mount?.readOnly], ['/var/run/secrets/netchecker', true], `${dir}: ${name} mounts it where --token-file points`);
    }
    t.equal(accounts.size, 2, `${dir}: the two DaemonSets use different service accounts`);
  }
});

t.test('the metrics-auth component: --metrics-auth kubernetes, create subjectaccessreviews only, Prometheus sends its token', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `netchecker-kustomize-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rel = relative(dir, root);
  writeFileSync(join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${rel}/deploy/overlays/kube-prometheus\ncomponents:\n  - ${rel}/deploy/components/metrics-auth\n`);
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return t.fail(`kubectl kustomize with the metrics-auth component: ${r.error?.message ?? r.stderr}`);
  const objs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
  const c = one(objs, 'Deployment', 'netchecker-server').spec?.template.spec?.containers[0] as IContainer;
  t.same(c.args?.slice(-2), ['--metrics-auth', 'kubernetes']);
  t.same(one(objs, 'ClusterRole', 'netchecker-exporter-metrics-auth').rules, [{ apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] }]);
  t.same(one(objs, 'ClusterRoleBinding', 'netchecker-exporter-metrics-auth').subjects, [{ kind: 'ServiceAccount', name: 'netchecker-exporter', namespace: 'netchecker' }]);
  const sm = find<ServiceMonitor & { spec: { endpoints: Array<{ bearerTokenFile?: string }> } }>(objs, 'ServiceMonitor');
  t.same(sm.map((m) => m.spec.endpoints[0]?.bearerTokenFile), ['/var/run/secrets/kubernetes.io/serviceaccount/token']);
});

t.test('the compat component: --auth none and agent pods of any namespace admitted, also on a monitoring overlay', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `netchecker-kustomize-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rel = relative(dir, root);
  writeFileSync(join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${rel}/deploy/overlays/kube-prometheus-stack\ncomponents:\n  - ${rel}/deploy/components/compat\n`);
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return t.fail(`kubectl kustomize with the compat component: ${r.error?.message ?? r.stderr}`);
  const stack = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
  for (const [name, objs] of [['deploy/overlays/compat', rendered.get('deploy/overlays/compat')], ['kube-prometheus-stack + compat', stack]] as const) {
    if (!objs) {
      t.fail(`${name} did not render`);
      continue;
    }
    const c = one(objs, 'Deployment', 'netchecker-server').spec?.template.spec?.containers[0] as IContainer;
    const parsed = parseExporterConfig(c.args?.slice(1) ?? [], {});
    t.match(parsed, { ok: true, config: { auth: { mode: 'none' }, discovery: 'kubernetes', legacyMetrics: true } }, `${name}: the exporter takes reports without a token and serves the ncagent_* series`);
    const rules = one(objs, 'NetworkPolicy', 'netchecker-server').spec?.ingress ?? [];
    const anyNamespace = rules.filter((rule) =>
      (rule.from ?? []).some((f) => f.namespaceSelector !== undefined && Object.keys(f.namespaceSelector).length === 0 && f.podSelector?.matchExpressions?.some((e) => e.key === 'app' && e.operator === 'In' && e.values?.includes('netchecker-agent'))),
    );
    t.same(anyNamespace.map((rule) => rule.ports), [[{ protocol: 'TCP', port: 8081 }]], `${name}: agent pods of every namespace (kubespray's run in default) may reach port 8081`);
  }
});

t.test('overlays: NodePort 31081, the monitoring component, release label, Prometheus access', async (t) => {
  const np = rendered.get('deploy/overlays/nodeport');
  const svc = np && one(np, 'Service', 'netchecker-service').spec;
  t.same([svc?.type, svc?.ports?.[0]?.nodePort], ['NodePort', 31081]);
  for (const name of ['kube-prometheus', 'kube-prometheus-stack']) {
    const k = readFileSync(`${root}deploy/overlays/${name}/kustomization.yaml`, 'utf8');
    t.match(k, /components:\n\s+- \.\.\/\.\.\/components\/monitoring\n/, `${name} includes the monitoring component`);
    const objs = rendered.get(`deploy/overlays/${name}`);
    if (objs) t.equal(find(objs, 'ServiceMonitor').length, 1, `${name}: one ServiceMonitor`);
  }
  const stack = rendered.get('deploy/overlays/kube-prometheus-stack');
  for (const o of stack?.filter((x) => x.kind === 'ServiceMonitor' || x.kind === 'PrometheusRule') ?? []) {
    t.equal(o.metadata?.labels?.release, 'kube-prometheus-stack', `kube-prometheus-stack: ${o.kind} ${o.metadata.name} has the release label`);
  }
  const kp = rendered.get('deploy/overlays/kube-prometheus');
  if (kp) {
    const rb = one(kp, 'RoleBinding', 'prometheus-k8s');
    t.same(rb.subjects, [{ kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' }]);
    t.equal(rb.roleRef.name, one(kp, 'Role', 'prometheus-k8s').metadata?.name);
  }
});

t.test('kind: 1 control plane + 3 workers; the e2e script is shellcheck-clean', async (t) => {
  const cluster = parseAllDocuments(readFileSync(`${root}deploy/kind/cluster.yaml`, 'utf8'))[0]?.toJS() as { nodes?: Array<{ role?: string }> };
  t.same(cluster.nodes?.map((n) => n.role), ['control-plane', 'worker', 'worker', 'worker']);
  const script = `${root}deploy/kind/e2e.sh`;
  t.ok(existsSync(script));
  const r = spawnSync('shellcheck', [script], { encoding: 'utf8' });
  if (r.error) return t.fail(`shellcheck is required (Debian package shellcheck): ${r.error.message}`);
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

t.test('agent probes: /readyz and /healthz on the listener, timed from the deployed --interval', async (t) => {
  const flags = (args: string[] | undefined): Record<string, string> => Object.fromEntries((args ?? []).flatMap((a, i, all) => (a.startsWith('--') ? [[a.slice(2), all[i + 1] ?? '']] : [])));
  for (const [dir, objs] of rendered) {
    for (const name of ['netchecker-agent', 'netchecker-agent-hostnet']) {
      const c = one(objs, 'DaemonSet', name).spec?.template.spec?.containers[0] as IContainer;
      const f = flags(c.args);
      const intervalS = Number(f.interval);
      const timeoutS = f.timeout === undefined ? Math.min(5, intervalS / 2) : Number(f.timeout);
      const ready = c.readinessProbe;
      const live = c.livenessProbe;
      const listenPort = Number(f.listen?.split(':').at(-1));
      const portOf = (port: number | string | undefined): number | undefined => (typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort);
      t.same([ready?.httpGet?.path, live?.httpGet?.path], ['/readyz', '/healthz'], `${dir}: ${name} probes the agent's own endpoints`);
      t.same([portOf(ready?.httpGet?.port), portOf(live?.httpGet?.port)], [listenPort, listenPort], `${dir}: ${name} probes the --listen port`);
      const period = (p: typeof ready): number => (p?.periodSeconds ?? 10) * (p?.failureThreshold ?? 3);
      // A dead agent must be not Ready before the exporter calls its silence outdated (2 x interval).
      t.ok(period(ready) < 2 * intervalS, `${dir}: ${name} not Ready within ${period(ready)} s < 2 x interval`);
      // A restart needs the loop stuck past the endpoint's bound, then failures for at least two intervals.
      t.ok(period(live) >= 2 * intervalS, `${dir}: ${name} liveness restarts after ${period(live)} s >= 2 x interval of failures`);
      for (const p of [ready, live]) t.ok((p?.timeoutSeconds ?? 1) < timeoutS && (p?.timeoutSeconds ?? 1) < (p?.periodSeconds ?? 10), `${dir}: ${name} probe timeout below the agent's timeout and the period`);
    }
  }
});

t.test('shutdown: grace periods cover the exporter drain delay + 10 s and one agent round; the exporter rolls surge-first', async (t) => {
  const flagValue = (args: string[] | undefined, name: string, fallback: number): number => {
    const i = (args ?? []).indexOf(`--${name}`);
    return i >= 0 ? Number(args?.[i + 1]) : fallback;
  };
  const preStopSeconds = (c: IContainer): number => {
    const cmd = c.lifecycle?.preStop?.exec?.command?.join(' ') ?? '';
    return Number(/sleep (\d+)/.exec(cmd)?.[1] ?? 0) + ((c.lifecycle?.preStop as { sleep?: { seconds?: number } } | undefined)?.sleep?.seconds ?? 0);
  };
  const defaultDelay = exporterFlags.find((f) => f.name === 'shutdown-delay')?.default as number;
  for (const [dir, objs] of rendered) {
    const server = one(objs, 'Deployment', 'netchecker-server').spec;
    const c = server?.template.spec?.containers[0] as IContainer;
    const needed = preStopSeconds(c) + flagValue(c.args, 'shutdown-delay', defaultDelay) + CLOSE_DEADLINE_MS / 1000;
    const grace = server?.template.spec?.terminationGracePeriodSeconds ?? 30;
    t.ok(grace >= needed, `${dir}: exporter terminationGracePeriodSeconds ${grace} >= preStop + drain delay + 10 s = ${needed}`);
    t.same(server?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, `${dir}: the new exporter is ready before the old one stops`);
    for (const name of ['netchecker-agent', 'netchecker-agent-hostnet']) {
      const spec = one(objs, 'DaemonSet', name).spec?.template.spec;
      const agent = spec?.containers[0] as IContainer;
      const round = preStopSeconds(agent) + flagValue(agent.args, 'interval', 60);
      t.ok((spec?.terminationGracePeriodSeconds ?? 30) >= round, `${dir}: ${name} grace ${spec?.terminationGracePeriodSeconds} covers the round in flight (${round} s)`);
    }
  }
});
