// No schema package for CiliumNetworkPolicy is at hand, so the fields deploy/ uses are checked
// against Cilium's documented API (cilium.io/v2; docs.cilium.io, security/policy/language):
// the rule keys, the entity names and PortProtocol (`port` a string holding one uint16,
// `protocol` TCP, UDP, SCTP or ANY). Anything outside that subset is reported, so a typo such
// as `fromEntity` or an entity `remote-nodes` fails instead of being dropped by the API server.

const SPEC_KEYS = [
  'endpointSelector',
  'nodeSelector',
  'ingress',
  'ingressDeny',
  'egress',
  'egressDeny',
  'labels',
  'description',
  'enableDefaultDeny',
];
const INGRESS_KEYS = [
  'fromEndpoints',
  'fromRequires',
  'fromCIDR',
  'fromCIDRSet',
  'fromEntities',
  'fromGroups',
  'fromNodes',
  'toPorts',
  'icmps',
  'authentication',
];
const SELECTOR_KEYS = ['matchLabels', 'matchExpressions'];
/** The entities of Cilium's policy language. */
export const CILIUM_ENTITIES = [
  'host',
  'remote-node',
  'kube-apiserver',
  'ingress',
  'cluster',
  'init',
  'health',
  'unmanaged',
  'world',
  'world-ipv4',
  'world-ipv6',
  'all',
];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ANY'];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const extra = (o: Record<string, unknown>, keys: readonly string[], where: string): string[] =>
  Object.keys(o)
    .filter((k) => !keys.includes(k))
    .map((k) => `${where}: unknown field ${k}`);

function selectorProblems(v: unknown, where: string): string[] {
  if (!isRecord(v)) return [`${where}: must be a label selector`];
  const labels = v.matchLabels;
  const bad =
    isRecord(labels) && Object.values(labels).every((x) => typeof x === 'string')
      ? []
      : labels === undefined
        ? []
        : [`${where}.matchLabels: must map strings to strings`];
  return [...extra(v, SELECTOR_KEYS, where), ...bad];
}

function portProblems(v: unknown, where: string): string[] {
  if (!isRecord(v) || !Array.isArray(v.ports)) return [`${where}: must hold ports`];
  return [
    ...extra(v, ['ports', 'rules', 'terminatingTLS', 'originatingTLS', 'serverNames', 'listener'], where),
    ...v.ports.flatMap((p: unknown, i) => {
      const at = `${where}.ports[${i}]`;
      if (!isRecord(p)) return [`${at}: must be a PortProtocol`];
      const port = typeof p.port === 'string' && /^\d{1,5}$/.test(p.port) && Number(p.port) > 0 && Number(p.port) < 65536;
      return [
        ...extra(p, ['port', 'endPort', 'protocol'], at),
        ...(port ? [] : [`${at}.port: must be a string holding a port number, got ${JSON.stringify(p.port)}`]),
        ...(p.protocol === undefined || (typeof p.protocol === 'string' && PROTOCOLS.includes(p.protocol))
          ? []
          : [`${at}.protocol: one of ${PROTOCOLS.join(', ')}`]),
      ];
    }),
  ];
}

/** Problems with a CiliumNetworkPolicy object, empty when it uses only documented fields correctly. */
export function ciliumPolicyProblems(o: Record<string, unknown>): string[] {
  if (o.apiVersion !== 'cilium.io/v2' || o.kind !== 'CiliumNetworkPolicy')
    return [`not a cilium.io/v2 CiliumNetworkPolicy: ${String(o.apiVersion)} ${String(o.kind)}`];
  const spec = o.spec;
  if (!isRecord(spec)) return ['spec: missing'];
  const ingress = spec.ingress;
  return [
    ...extra(o, ['apiVersion', 'kind', 'metadata', 'spec', 'specs'], 'object'),
    ...extra(spec, SPEC_KEYS, 'spec'),
    ...selectorProblems(spec.endpointSelector, 'spec.endpointSelector'),
    ...(Array.isArray(ingress) ? [] : ['spec.ingress: must be a list']),
    ...(Array.isArray(ingress) ? ingress : []).flatMap((rule: unknown, i) => {
      const at = `spec.ingress[${i}]`;
      if (!isRecord(rule)) return [`${at}: must be a rule`];
      const entities = rule.fromEntities;
      return [
        ...extra(rule, INGRESS_KEYS, at),
        ...(entities === undefined || (Array.isArray(entities) && entities.every((e) => CILIUM_ENTITIES.includes(String(e))))
          ? []
          : [`${at}.fromEntities: entities are ${CILIUM_ENTITIES.join(', ')}`]),
        ...(Array.isArray(rule.fromEndpoints)
          ? rule.fromEndpoints.flatMap((s: unknown, j) => selectorProblems(s, `${at}.fromEndpoints[${j}]`))
          : []),
        ...(rule.toPorts === undefined
          ? []
          : Array.isArray(rule.toPorts)
            ? rule.toPorts.flatMap((p: unknown, j) => portProblems(p, `${at}.toPorts[${j}]`))
            : [`${at}.toPorts: must be a list`]),
      ];
    }),
  ];
}
