// deploy/: every kustomization (and the components on top of overlays) renders with `kubectl
// kustomize`, every rendered object validates offline against its schema (kubernetes-models,
// @kubernetes-models/prometheus-operator; CiliumNetworkPolicy against Cilium's documented fields),
// and the objects fit together:
// selectors match pod labels, the DaemonSets carry the env and dnsPolicy the agent needs, RBAC is
// read-only but for reviews, each agent DaemonSet has its own service account and a projected
// token and readiness/liveness probes on its own listener, every container runs as non-root, the
// pod-network agent meets Pod Security restricted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
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
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import { parseAllDocuments } from 'yaml';
import { AGENT_NODE_FLAGS } from '../bench/agent.js';
import { EXPORTER_NODE_FLAGS } from '../bench/lib.js';
import { type ExporterConfig, exporterFlags, parseExporterConfig } from '../exporter/config.js';
import { CLOSE_DEADLINE_MS } from '../exporter/shutdown.js';
import { STATES } from '../exporter/verdict/verdict.js';
import { ciliumPolicyProblems } from './helpers/cilium-policy.js';

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
  spec: {
    selector: { matchLabels?: Record<string, string> };
    endpoints: Array<{ port?: string; authorization?: { type?: string; credentials?: { name?: string; key: string } } }>;
  };
}
type Workload = (IDeployment | IDaemonSet) & Obj;
const overlays = readdirSync(`${root}deploy/overlays`).map((d) => `deploy/overlays/${d}`);
const DIRS = ['deploy/base', ...overlays, 'deploy/kind', 'deploy/kind/monitoring'];

function render(dir: string): Obj[] {
  const r = spawnSync('kubectl', ['kustomize', dir.startsWith('/') ? dir : `${root}${dir}`], { encoding: 'utf8' });
  if (r.error) throw new Error(`kubectl is required (kubectl v1.32 with kustomize): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
}

/**
 * A user's overlay: `resources: [overlay]`, `components: [...]`, rendered from a temporary folder
 * that also holds `files` (components named `./x` are folders among them).
 */
function compose(overlay: string, components: readonly string[], files: Readonly<Record<string, string>> = {}): Obj[] {
  const dir = mkdtempSync(join(tmpdir(), `netchecker-kustomize-${process.pid}-`));
  try {
    const rel = relative(dir, root);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const list = (xs: readonly string[]): string => xs.map((x) => `\n  - ${x.startsWith('./') ? x : `${rel}/${x}`}`).join('');
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:${list([overlay])}\ncomponents:${list(components)}\n`,
    );
    return render(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rendered = new Map<string, Obj[]>();
for (const dir of DIRS) {
  try {
    rendered.set(dir, render(dir));
  } catch (e) {
    t.fail((e as Error).message);
  }
}
/** Components on top of overlays, as users combine them. */
const COMPOSED: Record<string, readonly [string, readonly string[]]> = {
  'kube-prometheus + metrics-auth': ['deploy/overlays/kube-prometheus', ['deploy/components/metrics-auth']],
  'kube-prometheus-stack + compat': ['deploy/overlays/kube-prometheus-stack', ['deploy/components/compat']],
  'base + cilium': ['deploy/base', ['deploy/components/cilium']],
  'etcd + cilium + no-network-policy': ['deploy/overlays/etcd', ['deploy/components/cilium', 'deploy/components/no-network-policy']],
  'kube-prometheus-stack + own settings': [
    'deploy/overlays/kube-prometheus-stack',
    ['./settings', 'deploy/components/stack-settings', 'deploy/components/release-label'],
  ],
};
/** The user's settings component of docs/kubernetes.md (Stack settings). */
const OWN_SETTINGS = { release: 'monitoring', 'grafana-folder': 'Network', 'legacy-metrics': 'true' };
const FILES: Record<string, Record<string, string>> = {
  'kube-prometheus-stack + own settings': {
    'settings/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - target: {kind: ConfigMap, name: netchecker-stack-settings}\n    patch: |-\n${Object.entries(
      OWN_SETTINGS,
    )
      .map(([k, v]) => `      - op: replace\n        path: /data/${k}\n        value: "${v}"\n`)
      .join('')}`,
  },
};
const composed = new Map<string, Obj[]>();
for (const [name, [overlay, components]] of Object.entries(COMPOSED)) {
  try {
    composed.set(name, compose(overlay, components, FILES[name]));
  } catch (e) {
    t.fail((e as Error).message);
  }
}
const composition = (name: keyof typeof COMPOSED): Obj[] => composed.get(name) ?? [];

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
  return found[0];
}
const subset = (small: Record<string, string> | undefined, big: Record<string, string> | undefined): boolean =>
  small !== undefined && Object.keys(small).length > 0 && Object.entries(small).every(([k, v]) => big?.[k] === v);
const workloads = (objs: Obj[]): Workload[] =>
  objs.filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind)) as Workload[];
const OURS = ['netchecker-server', 'netchecker-agent', 'netchecker-agent-hostnet'];

/** The resolved env of a container: values, and fieldRefs to the pod's namespace and name as the kubelet fills them. */
function containerEnv(c: IContainer | undefined, pod: { namespace?: string; name?: string }): NodeJS.ProcessEnv {
  const value = (e: IEnvVar): string | undefined =>
    e.value ?? { 'metadata.namespace': pod.namespace, 'metadata.name': pod.name }[e.valueFrom?.fieldRef?.fieldPath ?? ''];
  return Object.fromEntries((c?.env ?? []).map((e) => [e.name, value(e)]));
}

/** The exporter's config as the deployed container parses it (args and env). */
function deployedExporter(objs: Obj[]): ExporterConfig | undefined {
  const d = one(objs, 'Deployment', 'netchecker-server');
  const c = d.spec?.template.spec?.containers[0] as IContainer;
  const parsed = parseExporterConfig(c.args?.slice(1) ?? [], containerEnv(c, { namespace: d.metadata?.namespace }));
  return parsed.ok && !parsed.help ? parsed.config : undefined;
}

/** kubernetes-models 4.5 has the built-in kinds, @kubernetes-models/prometheus-operator the operator's; Cilium's are checked by hand. */
type Model = new (o: Obj) => { validate(): void };
async function model(apiVersion: string, kind: string): Promise<Model | null> {
  if (apiVersion.startsWith('cilium.io/')) return null;
  const from = apiVersion.startsWith('monitoring.coreos.com/') ? '@kubernetes-models/prometheus-operator' : 'kubernetes-models';
  const mod = (await import(`${from}/${apiVersion}/${kind}`)) as Record<string, Model>;
  return mod[kind] ?? null;
}

t.test('every kustomization renders and every object validates against the Kubernetes schemas', async (t) => {
  t.ok(
    overlays.includes('deploy/overlays/kube-prometheus') &&
      overlays.includes('deploy/overlays/kube-prometheus-stack') &&
      overlays.includes('deploy/overlays/nodeport'),
  );
  t.same(
    Object.keys(COMPOSED).filter((k) => !composed.has(k)),
    [],
    'every composition renders',
  );
  const kinds = new Set<string>();
  for (const [dir, objs] of [...rendered, ...composed]) {
    t.ok(objs.length > 0, `${dir} renders`);
    for (const o of objs) {
      const what = `${dir}: ${o.kind} ${o.metadata?.name}`;
      kinds.add(o.kind);
      const Model = await model(String(o.apiVersion), String(o.kind));
      if (Model) {
        t.doesNotThrow(() => new Model(o).validate(), what);
      } else if (o.kind === 'CiliumNetworkPolicy') {
        t.same(ciliumPolicyProblems(o), [], `${what} uses Cilium's documented fields`);
      } else t.fail(`${what}: no schema to validate ${o.apiVersion} against`);
      const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass', 'CustomResourceDefinition'].includes(
        o.kind,
      );
      // The one exception: the exporter's read of the DNS Service's EndpointSlices, where that Service lives.
      const dnsReplicas = o.metadata?.name === 'netchecker-exporter-dns-replicas' && ['Role', 'RoleBinding'].includes(o.kind);
      if (!clusterScoped) t.equal(o.metadata?.namespace, dnsReplicas ? 'kube-system' : 'netchecker', `${what} is in its namespace`);
    }
  }
  t.ok(
    ['ServiceMonitor', 'PrometheusRule', 'CiliumNetworkPolicy'].every((k) => kinds.has(k)),
    'the operator and Cilium objects were among them',
  );
});

t.test('the schemas catch mistakes: a ServiceMonitor, a PrometheusRule and a CiliumNetworkPolicy with a wrong field fail', async (t) => {
  const stack = rendered.get('deploy/overlays/kube-prometheus-stack') ?? [];
  const cases: Array<[string, Obj | undefined, (o: Obj) => void]> = [
    [
      'ServiceMonitor interval "30 s"',
      find(stack, 'ServiceMonitor')[0],
      (o) => void (((o as ServiceMonitor).spec.endpoints[0] as { interval?: string }).interval = '30 s'),
    ],
    [
      'PrometheusRule for: 5 (a number)',
      find(stack, 'PrometheusRule')[0],
      (o) => void ((o.spec as { groups: Array<{ rules: Array<{ for?: unknown }> }> }).groups[0]!.rules[0]!.for = 5),
    ],
  ];
  for (const [what, o, spoil] of cases) {
    if (!o) {
      t.fail(`${what}: nothing to spoil`);
      continue;
    }
    const copy = structuredClone(o);
    spoil(copy);
    const Model = await model(copy.apiVersion, copy.kind);
    t.throws(() => Model && new Model(copy).validate(), `${what} is refused`);
  }
  const cnp = find(composition('base + cilium'), 'CiliumNetworkPolicy')[0];
  const spoiled = structuredClone(cnp ?? ({} as Obj));
  ((spoiled.spec as { ingress: Array<Record<string, unknown>> }).ingress[0] as Record<string, unknown>).fromEntities = ['remote-nodes'];
  t.match(ciliumPolicyProblems(spoiled), [/fromEntities/], 'an unknown Cilium entity is refused');
});

t.test('selectors match pod labels; the names users rely on', async (t) => {
  for (const [dir, objs] of rendered) {
    for (const w of workloads(objs)) {
      t.ok(
        subset(w.spec?.selector.matchLabels, w.spec?.template.metadata?.labels),
        `${dir}: ${w.kind} ${w.metadata.name} selects its own pods`,
      );
    }
    const server = one(objs, 'Deployment', 'netchecker-server');
    const podLabels = server.spec?.template.metadata?.labels ?? {};
    t.equal(podLabels.app, 'netchecker-server');
    const svc = one(objs, 'Service', 'netchecker-service');
    t.ok(subset(svc.spec?.selector, podLabels), `${dir}: netchecker-service selects the exporter`);
    t.equal(
      svc.spec?.ipFamilyPolicy,
      'PreferDualStack',
      `${dir}: netchecker-service has an address of each family where the cluster has both`,
    );
    const ports = svc.spec?.ports ?? [];
    t.same(
      ports.map((p) => [p.name, p.port]),
      [['http', 8081]],
    );
    const np = one(objs, 'NetworkPolicy', 'netchecker-server');
    t.ok(subset(np.spec?.podSelector.matchLabels, podLabels), `${dir}: the NetworkPolicy guards the exporter`);
    const fromAgents = (np.spec?.ingress ?? [])
      .flatMap((r) => r.from ?? [])
      .some((f) => f.podSelector?.matchLabels?.app === 'netchecker-agent' && !f.namespaceSelector);
    t.ok(fromAgents, `${dir}: pod-network agents may reach the exporter`);
    for (const sm of find<ServiceMonitor>(objs, 'ServiceMonitor')) {
      t.ok(subset(sm.spec.selector.matchLabels, svc.metadata?.labels), `${dir}: the ServiceMonitor selects netchecker-service`);
      t.ok(
        sm.spec.endpoints.every((e) => ports.some((p) => p.name === e.port)),
        `${dir}: ServiceMonitor ports exist`,
      );
    }
    for (const ds of ['netchecker-agent', 'netchecker-agent-hostnet']) {
      t.equal(
        one(objs, 'DaemonSet', ds).spec?.template.metadata?.labels?.app,
        ds,
        `${dir}: ${ds} pods carry app=${ds} (the discovery selector)`,
      );
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
        {
          MY_POD_NAME: 'metadata.name',
          MY_NODE_NAME: 'spec.nodeName',
          MY_POD_IP: 'status.podIPs',
          MY_NODE_IP: 'status.hostIP',
          NETCHECKER_NETWORK: name.endsWith('hostnet') ? 'host' : 'pod',
        },
        `${dir}: ${name} env`,
      );
      const port = name.endsWith('hostnet') ? 8091 : 8090; // the peer listener; MY_POD_IP is what peers dial
      t.same(
        c.command,
        ['node', ...AGENT_NODE_FLAGS, '/app/dist/cli.js'],
        `${dir}: ${name} runs with the Node flags bench/agent.ts measures`,
      );
      t.same(
        c.args,
        [
          'agent',
          '--server',
          'http://netchecker-service:8081',
          '--interval',
          '15',
          '--listen',
          `0.0.0.0:${port}`,
          '--token-file',
          '/var/run/secrets/netchecker/token',
          '--api-server-ca',
          '/var/run/secrets/netchecker/ca.crt',
        ],
        `${dir}: ${name} args`,
      );
      t.same(
        c.ports?.map((p) => p.containerPort),
        [port],
        `${dir}: ${name} declares the peer port`,
      );
      t.same(spec?.tolerations, [{ operator: 'Exists' }], `${dir}: ${name} runs on every node, tainted or not`);
      t.equal(spec?.automountServiceAccountToken, false, `${dir}: agents get no API token`);
      if (name.endsWith('hostnet')) {
        t.equal(spec?.hostNetwork, true);
        t.equal(spec?.dnsPolicy, 'ClusterFirstWithHostNet', `${dir}: the host-network agent resolves cluster names`);
      } else t.notOk(spec?.hostNetwork, `${dir}: ${name} is in the pod network`);
    }
    const c = one(objs, 'Deployment', 'netchecker-server').spec?.template.spec?.containers[0] as IContainer;
    t.equal(
      deployedExporter(objs)?.kubernetes.namespace,
      dir === 'deploy/overlays/compat' ? '' : 'netchecker',
      `${dir}: the exporter looks for agent pods in its own namespace (compat: everywhere)`,
    );
    t.same(
      c.command,
      ['node', ...EXPORTER_NODE_FLAGS, '/app/dist/cli.js'],
      `${dir}: the exporter runs with the Node flags bench/ measures`,
    );
    t.same(c.args?.slice(0, 3), ['exporter', '--discovery', 'kubernetes'], `${dir}: exporter args`);
    if (dir === 'deploy/overlays/compat')
      t.same(c.args?.slice(3), ['--auth', 'none'], `${dir}: the exporter takes the original agents' reports, which carry no token`);
    else t.same(c.args?.slice(3, 5), ['--auth', 'kubernetes'], `${dir}: the exporter takes reports only with an agent pod's token`);
    t.same([c.readinessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.path], ['/readyz', '/healthz']);
    const r = c.resources;
    t.ok(r?.requests?.cpu && r.requests.memory && r.limits?.cpu && r.limits.memory, `${dir}: requests and limits`);
    const images = workloads(objs)
      .filter((w) => OURS.includes(w.metadata.name ?? ''))
      .flatMap((w) => (w.spec?.template.spec?.containers ?? []).map((x) => x.image));
    t.same([...new Set(images)], [dir.startsWith('deploy/kind') ? 'netchecker:e2e' : IMAGE], `${dir}: the image, set by kustomize images:`);
  }
});

/** The only writes RBAC grants: reviews, which store nothing (TokenReview in the base, SubjectAccessReview with --metrics-auth). */
const REVIEWS = ['tokenreviews', 'subjectaccessreviews'];
/** And with --store kubernetes, in a Role of the exporter's namespace: its own AgentShard objects. */
const STORE_RULE = { apiGroups: ['netchecker.io'], resources: ['agentshards'], verbs: ['get', 'list', 'watch', 'create', 'update'] };

t.test(
  'RBAC is read-only but for reviews: no verb beyond get, list, watch (create only on reviews); the exporter can read pods and nodes',
  async (t) => {
    for (const [dir, objs] of rendered) {
      for (const role of objs.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole') as Array<Obj & { rules?: IPolicyRule[] }>) {
        for (const rule of role.rules ?? []) {
          if (role.kind === 'Role' && role.metadata.name === 'netchecker-exporter-store') {
            t.same(rule, STORE_RULE, `${dir}: the store's Role writes AgentShards only`);
            continue;
          }
          const review = (rule.resources ?? []).every((r) => REVIEWS.includes(r)) && (rule.resources ?? []).length > 0;
          t.same(
            rule.verbs.filter((v) => !['get', 'list', 'watch'].includes(v) && !(review && v === 'create')),
            [],
            `${dir}: ${role.kind} ${role.metadata.name} ${(rule.resources ?? []).join(',')}`,
          );
          t.notOk(
            rule.resources?.includes('*') || rule.resources?.includes('secrets') || rule.verbs.includes('*'),
            `${dir}: no wildcard, no secrets`,
          );
        }
      }
      t.same(one(objs, 'ClusterRole', 'netchecker-exporter').rules, [
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      ]);
      t.equal(
        find(objs, 'ClusterRole').filter((r) => JSON.stringify(r).includes('subjectaccessreviews')).length,
        0,
        `${dir}: SubjectAccessReviews only with the metrics-auth component`,
      );
      const sa = one(objs, 'Deployment', 'netchecker-server').spec?.template.spec?.serviceAccountName ?? '';
      t.equal(find(objs, 'ServiceAccount', sa).length, 1);
      const namespace = deployedExporter(objs)?.kubernetes.namespace;
      const pods = grantsOf(objs, sa, 'pods');
      t.same(grantsOf(objs, sa, 'nodes'), ['*'], `${dir}: the exporter reads nodes cluster-wide`);
      if (namespace) t.same(pods, [namespace], `${dir}: the exporter reads pods only in ${namespace}, where it looks (a Role)`);
      else t.ok(pods.includes('*'), `${dir}: the exporter reads pods in every namespace, where it looks`);
      const dnsService = deployedExporter(objs)?.dnsReplicas;
      t.same(dnsService, { kind: 'service', namespace: 'kube-system', name: 'kube-dns' }, `${dir}: DNS replicas from kube-dns`);
      t.same(one(objs, 'Role', 'netchecker-exporter-dns-replicas').rules, [
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ]);
      t.same(
        objs
          .filter((o) => o.kind === 'RoleBinding' && (o as IRoleBinding & Obj).roleRef.name === 'netchecker-exporter-dns-replicas')
          .map((b) => [b.metadata?.namespace, (b as IRoleBinding & Obj).subjects?.map((x) => `${x.namespace}/${x.name}`)]),
        [['kube-system', [`netchecker/${sa}`]]],
        `${dir}: the exporter lists and watches EndpointSlices in kube-system only, where the DNS Service is`,
      );
    }
  },
);

/** Where `account` (in namespace netchecker) may get, list and watch `resource`: `*` for cluster-wide, else namespaces. */
function grantsOf(objs: Obj[], account: string, resource: string): string[] {
  const where = new Set<string>();
  for (const b of objs.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') as Array<IRoleBinding & Obj>) {
    if (!(b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === 'netchecker')) continue;
    const role = find<Obj & { rules?: IPolicyRule[] }>(objs, b.roleRef.kind, b.roleRef.name)[0];
    const grants = (role?.rules ?? []).some(
      (r) => r.resources?.includes(resource) && ['get', 'list', 'watch'].every((v) => r.verbs.includes(v)),
    );
    if (grants) where.add((b as Obj).kind === 'ClusterRoleBinding' ? '*' : String(b.metadata?.namespace));
  }
  return [...where].sort();
}

t.test('every container runs as non-root with no privileges; the pod-network agent meets Pod Security restricted', async (t) => {
  const SAFE_SYSCTLS = [
    'kernel.shm_rmid_forced',
    'net.ipv4.ip_local_port_range',
    'net.ipv4.ip_unprivileged_port_start',
    'net.ipv4.tcp_syncookies',
    'net.ipv4.ping_group_range',
    'net.ipv4.ip_local_reserved_ports',
    'net.ipv4.tcp_keepalive_time',
    'net.ipv4.tcp_fin_timeout',
    'net.ipv4.tcp_keepalive_intvl',
    'net.ipv4.tcp_keepalive_probes',
  ];
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
    t.notOk(
      (agent?.volumes ?? []).some((v) => v.hostPath),
      `${dir}: no hostPath`,
    );
    t.ok(
      containers.every((c) => (c.securityContext?.capabilities?.add ?? []).every((a) => a === 'NET_BIND_SERVICE')),
      `${dir}: adds no capability beyond NET_BIND_SERVICE`,
    );
    t.ok(
      (agent?.securityContext?.sysctls ?? []).every((s) => SAFE_SYSCTLS.includes(s.name)),
      `${dir}: only safe sysctls`,
    );
    t.ok(
      containers.every((c) => !c.ports?.some((p) => p.hostPort)),
      `${dir}: no host ports`,
    );
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
      const bound = objs.filter(
        (o) =>
          (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') &&
          JSON.stringify((o as { subjects?: unknown }).subjects ?? []).includes(`"${sa}"`),
      );
      t.same(
        bound.map((b) => b.metadata.name),
        [],
        `${dir}: ${sa} is bound to no role (no API rights)`,
      );
      const volume = spec?.volumes?.find((v) => v.name === 'netchecker-token');
      t.same(
        volume?.projected?.sources,
        [
          { serviceAccountToken: { audience: 'netchecker', expirationSeconds: 3600, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ],
        `${dir}: ${name} projects a token for audience netchecker, valid 1 h, and the cluster CA the API server probe verifies with`,
      );
      const mount = (spec?.containers[0] as IContainer).volumeMounts?.find((m) => m.name === 'netchecker-token');
      t.same(
        [mount?.mountPath, mount?.readOnly],
        ['/var/run/secrets/netchecker', true],
        `${dir}: ${name} mounts it where --token-file points`,
      );
    }
    t.equal(accounts.size, 2, `${dir}: the two DaemonSets use different service accounts`);
  }
});

t.test(
  'the metrics-auth component: --metrics-auth kubernetes, create subjectaccessreviews only, a scraper token sent with authorization.credentials',
  async (t) => {
    const objs = composition('kube-prometheus + metrics-auth');
    const c = one(objs, 'Deployment', 'netchecker-server').spec?.template.spec?.containers[0] as IContainer;
    t.same(c.args?.slice(-2), ['--metrics-auth', 'kubernetes']);
    t.same(one(objs, 'ClusterRole', 'netchecker-exporter-metrics-auth').rules, [
      { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    ]);
    t.same(one(objs, 'ClusterRoleBinding', 'netchecker-exporter-metrics-auth').subjects, [
      { kind: 'ServiceAccount', name: 'netchecker-exporter', namespace: 'netchecker' },
    ]);
    const endpoints = find<ServiceMonitor>(objs, 'ServiceMonitor').flatMap((m) => m.spec.endpoints);
    t.same(
      endpoints.map((e) => e.authorization?.type),
      ['Bearer'],
      'the current authorization field, not the deprecated bearerTokenFile',
    );
    const ref = endpoints[0]?.authorization?.credentials;
    const secret = find<Obj & { type?: string }>(objs, 'Secret', ref?.name)[0];
    t.same([secret?.type, ref?.key], ['kubernetes.io/service-account-token', 'token'], 'a token Secret the API server fills, key token');
    const account = secret?.metadata.annotations?.['kubernetes.io/service-account.name'] ?? '';
    t.equal(find(objs, 'ServiceAccount', account).length, 1, `the scraper account ${account} exists`);
    const roles = objs
      .filter((o) => o.kind === 'ClusterRoleBinding' && ((o as IClusterRoleBinding & Obj).subjects ?? []).some((s) => s.name === account))
      .map((b) => one(objs, 'ClusterRole', (b as IClusterRoleBinding & Obj).roleRef.name).rules);
    t.same(roles, [[{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]], 'the scraper may get /metrics and nothing else');
    for (const [dir, all] of [...rendered, ...composed])
      t.notOk(JSON.stringify(all).includes('bearerTokenFile'), `${dir}: no bearerTokenFile`);
  },
);

t.test('the compat component: --auth none and agent pods of any namespace admitted, also on a monitoring overlay', async (t) => {
  for (const [name, objs] of [
    ['deploy/overlays/compat', rendered.get('deploy/overlays/compat')],
    ['kube-prometheus-stack + compat', composition('kube-prometheus-stack + compat')],
  ] as const) {
    if (!objs) {
      t.fail(`${name} did not render`);
      continue;
    }
    t.match(
      deployedExporter(objs),
      { auth: { mode: 'none' }, discovery: 'kubernetes', legacyMetrics: true, kubernetes: { namespace: '' } },
      `${name}: the exporter takes reports without a token from agent pods of every namespace and serves the ncagent_* series`,
    );
    t.same(grantsOf(objs, 'netchecker-exporter', 'pods'), ['*', 'netchecker'], `${name}: and may read pods everywhere`);
    const rules = one(objs, 'NetworkPolicy', 'netchecker-server').spec?.ingress ?? [];
    const anyNamespace = rules.filter((rule) =>
      (rule.from ?? []).some(
        (f) =>
          f.namespaceSelector !== undefined &&
          Object.keys(f.namespaceSelector).length === 0 &&
          f.podSelector?.matchExpressions?.some((e) => e.key === 'app' && e.operator === 'In' && e.values?.includes('netchecker-agent')),
      ),
    );
    t.same(
      anyNamespace.map((rule) => rule.ports),
      [[{ protocol: 'TCP', port: 8081 }]],
      `${name}: agent pods of every namespace (kubespray's run in default) may reach port 8081`,
    );
  }
});

t.test('the kubernetes-store overlay: the AgentShard CRD, a Role for exactly it in the namespace, --store=kubernetes', async (t) => {
  const objs = rendered.get('deploy/overlays/kubernetes-store');
  if (!objs) return t.fail('deploy/overlays/kubernetes-store did not render');
  type Schema = {
    type?: string;
    enum?: string[];
    properties?: Record<string, Schema>;
    additionalProperties?: Schema | boolean;
    items?: Schema;
  };
  type Crd = Obj & {
    spec: {
      group: string;
      scope: string;
      names: { plural: string; kind: string };
      versions: Array<{
        name: string;
        additionalPrinterColumns?: Array<{ name: string; jsonPath: string }>;
        schema: { openAPIV3Schema: Schema };
      }>;
    };
  };
  const crd = find<Crd>(objs, 'CustomResourceDefinition', 'agentshards.netchecker.io')[0];
  if (!crd) return t.fail('no CRD agentshards.netchecker.io');
  t.same(
    [crd.spec.group, crd.spec.scope, crd.spec.names.plural, crd.spec.names.kind],
    ['netchecker.io', 'Namespaced', 'agentshards', 'AgentShard'],
  );
  const version = crd.spec.versions[0];
  t.equal(version?.name, 'v1alpha1', 'the version the store speaks (exporter/store/kube-shard.ts)');
  // Structural: every node of the schema says its type (the API server refuses a CRD otherwise).
  const untyped: string[] = [];
  const walk = (s: Schema, at: string): void => {
    if (!s.type) untyped.push(at);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${at}.${k}`);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${at}.*`);
    if (s.items) walk(s.items, `${at}[]`);
  };
  if (version) walk(version.schema.openAPIV3Schema, '');
  t.same(untyped, [], 'a structural schema');
  t.same(
    version?.additionalPrinterColumns?.map((c) => c.name),
    ['Agents', 'Not ok', 'Writer', 'Updated', 'Age'],
    'kubectl get agentshards shows count, agents not ok, writer, last write',
  );
  const entry = version?.schema.openAPIV3Schema.properties?.spec?.properties?.agents?.additionalProperties;
  t.same(
    typeof entry === 'object' ? entry.properties?.state?.enum : undefined,
    [...STATES],
    "an agent's stored state takes exactly the verdict's states",
  );
  const role = one(objs, 'Role', 'netchecker-exporter-store');
  t.equal(role.metadata?.namespace, 'netchecker');
  t.same(role.rules, [STORE_RULE]);
  const binding = one(objs, 'RoleBinding', 'netchecker-exporter-store');
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: 'netchecker-exporter', namespace: 'netchecker' }]);
  t.equal(
    find(objs, 'ClusterRole').filter((r) => JSON.stringify(r).includes('agentshards')).length,
    0,
    'no cluster-wide right on AgentShards',
  );
  const server = one(objs, 'Deployment', 'netchecker-server');
  const c = server.spec?.template.spec?.containers[0] as IContainer;
  t.ok(c.args?.includes('--store=kubernetes'));
  t.same(
    c.env?.find((e) => e.name === 'NETCHECKER_STORE_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath,
    'metadata.namespace',
    "the store namespace is the pod's own",
  );
  t.equal(server.spec?.replicas, 2, 'two replicas');
  t.ok(c.args?.includes('--kubernetes-store-writes=5'), 'two replicas x 5 writes/s: the default budget of 10 in all');
  const args = parseExporterConfig(c.args?.slice(1) ?? [], { NETCHECKER_STORE_NAMESPACE: 'netchecker' });
  t.ok(args.ok && !args.help && args.config.kubeStore?.writesPerSecond === 5, 'the exporter takes its arguments');
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
  const kp = rendered.get('deploy/overlays/kube-prometheus');
  if (kp) {
    const rb = one(kp, 'RoleBinding', 'prometheus-k8s');
    t.same(rb.subjects, [{ kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' }]);
    t.equal(rb.roleRef.name, one(kp, 'Role', 'prometheus-k8s').metadata?.name);
  }
});

/** The agent's RSS measured at --interval 15 with 10 peers (bench/agent.ts, docs/performance.md): 68-85 MiB. */
const AGENT_RSS_MAX_MIB = 85;
const mebibytes = (q: string | number | undefined): number => {
  const m = /^(\d+)(Mi|Gi)$/.exec(String(q));
  return m ? Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1) : NaN;
};

t.test('agents: a PriorityClass below the system classes, memory requested above the measured RSS', async (t) => {
  const docs = readFileSync(`${root}docs/kubernetes.md`, 'utf8');
  for (const [dir, objs] of rendered) {
    for (const name of ['netchecker-agent', 'netchecker-agent-hostnet']) {
      const spec = one(objs, 'DaemonSet', name).spec?.template.spec;
      const pc = find<Obj & { value?: number; globalDefault?: boolean; preemptionPolicy?: string }>(
        objs,
        'PriorityClass',
        spec?.priorityClassName,
      )[0];
      t.ok(
        pc && (pc.value ?? 0) > 0 && (pc.value ?? 0) < 1e9,
        `${dir}: ${name} has priority ${pc?.value}: above ordinary pods, below system-cluster-critical (2e9)`,
      );
      t.same(
        [pc?.globalDefault, pc?.preemptionPolicy],
        [false, 'PreemptLowerPriority'],
        `${dir}: it may preempt, and is nobody else's default`,
      );
      if (pc?.value !== undefined) t.ok(docs.includes(pc.value.toLocaleString('en-US')), `docs/kubernetes.md names the value ${pc.value}`);
      const r = (spec?.containers[0] as IContainer).resources;
      const request = mebibytes(r?.requests?.memory);
      t.ok(
        request >= AGENT_RSS_MAX_MIB && request < mebibytes(r?.limits?.memory),
        `${dir}: ${name} requests ${r?.requests?.memory} >= ${AGENT_RSS_MAX_MIB} MiB measured, below its limit ${r?.limits?.memory}`,
      );
    }
  }
});

const NODE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

t.test(
  'NetworkPolicies: node addresses admitted in IPv4 and IPv6; Cilium admits them by entity; the policies can be left out',
  async (t) => {
    for (const [dir, objs] of rendered) {
      for (const name of ['netchecker-server', 'netchecker-agent']) {
        const blocks = (one(objs, 'NetworkPolicy', name).spec?.ingress ?? []).flatMap((r) =>
          (r.from ?? []).flatMap((f) => (f.ipBlock ? [f.ipBlock.cidr] : [])),
        );
        t.ok(
          NODE_RANGES.every((c) => blocks.includes(c)),
          `${dir}: ${name} admits host-network agents from ${NODE_RANGES.join(', ')}`,
        );
      }
    }
    const cilium = composition('base + cilium');
    for (const np of find<INetworkPolicy & Obj>(cilium, 'NetworkPolicy')) {
      const ports = (np.spec?.ingress ?? [])
        .flatMap((r) => (r.ports ?? []).map((p) => String(p.port)))
        .filter((p, i, all) => all.indexOf(p) === i);
      const podLabels = np.spec?.podSelector.matchLabels;
      const cnps = find<
        Obj & {
          spec: {
            endpointSelector: { matchLabels?: Record<string, string> };
            ingress: Array<{ fromEntities?: string[]; toPorts?: Array<{ ports: Array<{ port: string }> }> }>;
          };
        }
      >(cilium, 'CiliumNetworkPolicy').filter((c) => JSON.stringify(c.spec.endpointSelector.matchLabels) === JSON.stringify(podLabels));
      const fromNodes = cnps
        .flatMap((c) => c.spec.ingress)
        .filter((r) => ['host', 'remote-node'].every((e) => r.fromEntities?.includes(e)));
      t.same(
        fromNodes.flatMap((r) => (r.toPorts ?? []).flatMap((p) => p.ports.map((x) => x.port))),
        ports,
        `base + cilium: ${np.metadata?.name}'s pods admit host and remote-node on ${ports.join(',')}`,
      );
    }
    t.equal(find(cilium, 'CiliumNetworkPolicy').length, 2);
    const none = composition('etcd + cilium + no-network-policy');
    t.same(
      none.filter((o) => /NetworkPolicy$/.test(o.kind)).map((o) => o.metadata.name),
      [],
      'no-network-policy: neither NetworkPolicies (the etcd one included) nor CiliumNetworkPolicies',
    );
    t.ok(find(none, 'StatefulSet').length === 1 && find(none, 'Deployment').length === 1, 'and everything else stays');
  },
);

t.test(
  "stack settings as data: release label, Grafana folder and legacy series from each overlay's settings, overridable; compat keeps legacy on",
  async (t) => {
    const settingsOf = (overlay: string): Record<string, string> =>
      (
        parseAllDocuments(readFileSync(`${root}deploy/overlays/${overlay}/stack-settings.yaml`, 'utf8'))[0]?.toJS() as {
          data: Record<string, string>;
        }
      ).data;
    const cases: Array<[string, Obj[] | undefined, Record<string, string> | null]> = [
      ...[...rendered].map(([dir, objs]): [string, Obj[], Record<string, string> | null] => {
        const overlay =
          /overlays\/(kube-prometheus(?:-stack)?)$/.exec(dir)?.[1] ??
          (dir === 'deploy/kind/monitoring' ? 'kube-prometheus-stack' : undefined);
        return [dir, objs, overlay ? settingsOf(overlay) : null];
      }),
      ['kube-prometheus-stack + own settings', composition('kube-prometheus-stack + own settings'), OWN_SETTINGS],
    ];
    t.same(settingsOf('kube-prometheus-stack')['legacy-metrics'], 'false', 'legacy series off in the stack overlays');
    t.same(settingsOf('kube-prometheus')['legacy-metrics'], 'false');
    for (const [dir, objs, settings] of cases) {
      if (!objs) continue;
      t.equal(find(objs, 'ConfigMap', 'netchecker-stack-settings').length, 0, `${dir}: the settings object is never applied`);
      const legacy = dir.includes('compat') ? true : settings ? settings['legacy-metrics'] === 'true' : true;
      t.equal(deployedExporter(objs)?.legacyMetrics, legacy, `${dir}: legacy ncagent_* series ${legacy ? 'on' : 'off'}`);
      if (!settings) continue;
      for (const o of objs.filter((x) => x.kind === 'ServiceMonitor' || x.kind === 'PrometheusRule')) {
        t.equal(
          o.metadata?.labels?.release,
          settings.release,
          `${dir}: ${o.kind} ${o.metadata.name} release label ${settings.release ?? '(none)'}`,
        );
      }
      const dashboards = objs.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
      t.ok(
        dashboards.length > 0 && dashboards.every((o) => o.metadata.annotations?.grafana_folder === settings['grafana-folder']),
        `${dir}: dashboards in folder ${settings['grafana-folder']}`,
      );
    }
    const compat = composition('kube-prometheus-stack + compat');
    t.equal(deployedExporter(compat)?.legacyMetrics, true, 'kube-prometheus-stack + compat: legacy series on, whatever the stack says');
  },
);

t.test('kind: 1 control plane + 3 workers; the e2e script is shellcheck-clean', async (t) => {
  const cluster = parseAllDocuments(readFileSync(`${root}deploy/kind/cluster.yaml`, 'utf8'))[0]?.toJS() as {
    nodes?: Array<{ role?: string }>;
  };
  t.same(
    cluster.nodes?.map((n) => n.role),
    ['control-plane', 'worker', 'worker', 'worker'],
  );
  const script = `${root}deploy/kind/e2e.sh`;
  t.ok(existsSync(script));
  const text = readFileSync(script, 'utf8');
  t.match(
    text,
    /for overlay in kube-prometheus kube-prometheus-stack; do\n\s+kubectl apply --dry-run=server --validate=strict/,
    'e2e.sh validates both monitoring overlays on the API server',
  );
  t.match(text, /kubectl apply -k "\$here\/monitoring"/, 'e2e.sh applies deploy/kind/monitoring');
  const r = spawnSync('shellcheck', [script], { encoding: 'utf8' });
  if (r.error) return t.fail(`shellcheck is required (Debian package shellcheck): ${r.error.message}`);
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

t.test('agent probes: /readyz and /healthz on the listener, timed from the deployed --interval', async (t) => {
  const flags = (args: string[] | undefined): Record<string, string> =>
    Object.fromEntries((args ?? []).flatMap((a, i, all) => (a.startsWith('--') ? [[a.slice(2), all[i + 1] ?? '']] : [])));
  for (const [dir, objs] of rendered) {
    for (const name of ['netchecker-agent', 'netchecker-agent-hostnet']) {
      const c = one(objs, 'DaemonSet', name).spec?.template.spec?.containers[0] as IContainer;
      const f = flags(c.args);
      const intervalS = Number(f.interval);
      const timeoutS = f.timeout === undefined ? Math.min(5, intervalS / 2) : Number(f.timeout);
      const ready = c.readinessProbe;
      const live = c.livenessProbe;
      const listenPort = Number(f.listen?.split(':').at(-1));
      const portOf = (port: number | string | undefined): number | undefined =>
        typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
      t.same([ready?.httpGet?.path, live?.httpGet?.path], ['/readyz', '/healthz'], `${dir}: ${name} probes the agent's own endpoints`);
      t.same(
        [portOf(ready?.httpGet?.port), portOf(live?.httpGet?.port)],
        [listenPort, listenPort],
        `${dir}: ${name} probes the --listen port`,
      );
      const period = (p: typeof ready): number => (p?.periodSeconds ?? 10) * (p?.failureThreshold ?? 3);
      // A dead agent must be not Ready before the exporter calls its silence outdated (2 x interval).
      t.ok(period(ready) < 2 * intervalS, `${dir}: ${name} not Ready within ${period(ready)} s < 2 x interval`);
      // A restart needs the loop stuck past the endpoint's bound, then failures for at least two intervals.
      t.ok(period(live) >= 2 * intervalS, `${dir}: ${name} liveness restarts after ${period(live)} s >= 2 x interval of failures`);
      for (const p of [ready, live])
        t.ok(
          (p?.timeoutSeconds ?? 1) < timeoutS && (p?.timeoutSeconds ?? 1) < (p?.periodSeconds ?? 10),
          `${dir}: ${name} probe timeout below the agent's timeout and the period`,
        );
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
    return (
      Number(/sleep (\d+)/.exec(cmd)?.[1] ?? 0) +
      ((c.lifecycle?.preStop as { sleep?: { seconds?: number } } | undefined)?.sleep?.seconds ?? 0)
    );
  };
  const defaultDelay = exporterFlags.find((f) => f.name === 'shutdown-delay')?.default as number;
  for (const [dir, objs] of rendered) {
    const server = one(objs, 'Deployment', 'netchecker-server').spec;
    const c = server?.template.spec?.containers[0] as IContainer;
    const needed = preStopSeconds(c) + flagValue(c.args, 'shutdown-delay', defaultDelay) + CLOSE_DEADLINE_MS / 1000;
    const grace = server?.template.spec?.terminationGracePeriodSeconds ?? 30;
    t.ok(grace >= needed, `${dir}: exporter terminationGracePeriodSeconds ${grace} >= preStop + drain delay + 10 s = ${needed}`);
    t.same(
      server?.strategy,
      { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      `${dir}: the new exporter is ready before the old one stops`,
    );
    for (const name of ['netchecker-agent', 'netchecker-agent-hostnet']) {
      const spec = one(objs, 'DaemonSet', name).spec?.template.spec;
      const agent = spec?.containers[0] as IContainer;
      const round = preStopSeconds(agent) + flagValue(agent.args, 'interval', 60);
      t.ok(
        (spec?.terminationGracePeriodSeconds ?? 30) >= round,
        `${dir}: ${name} grace ${spec?.terminationGracePeriodSeconds} covers the round in flight (${round} s)`,
      );
    }
  }
});
