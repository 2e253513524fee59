// The flags of --discovery kubernetes, parsed into a frozen object; config.ts includes them.

import { FlagError, type FlagSpec, type FlagValues } from '../../lib/flags.js';
import { parseSelector } from './selector.js';

/** The original server's selector: the two agent DaemonSets. */
export const DEFAULT_AGENT_SELECTOR = 'app in (netchecker-agent,netchecker-agent-hostnet)';

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const kubernetesFlags = [
  {
    name: 'kubeconfig',
    kind: 'string',
    file: true,
    metavar: 'PATH',
    help: 'Kubeconfig for --discovery kubernetes and --store kubernetes; default: KUBECONFIG, then ~/.kube/config, then the in-cluster service account.',
  },
  {
    name: 'namespace',
    kind: 'string',
    metavar: 'NAMESPACE',
    default: '',
    env: 'NETCHECKER_NAMESPACE',
    help: 'Namespace of the agent pods for --discovery kubernetes; empty: all namespaces (as the original).',
  },
  {
    name: 'agent-selector',
    kind: 'string',
    metavar: 'SELECTOR',
    default: DEFAULT_AGENT_SELECTOR,
    help: 'Label selector of the agent pods for --discovery kubernetes.',
  },
] as const satisfies readonly FlagSpec[];

export interface KubernetesConfig {
  readonly kubeconfig: string | undefined;
  /** Empty: all namespaces. */
  readonly namespace: string;
  readonly agentSelector: string;
}

export function parseKubernetesConfig(v: FlagValues<typeof kubernetesFlags>): KubernetesConfig {
  const { namespace } = v;
  if (namespace && !NAMESPACE.test(namespace)) {
    throw new FlagError(`--namespace must be a Kubernetes namespace name, got "${namespace.slice(0, 80)}"`);
  }
  const agentSelector = v['agent-selector'];
  const selector = parseSelector(agentSelector);
  if (!selector.ok) throw new FlagError(`--agent-selector: ${selector.error}`);
  if (selector.value.length === 0) throw new FlagError('--agent-selector must not be empty (it would select every pod)');
  return Object.freeze({ kubeconfig: v.kubeconfig || undefined, namespace, agentSelector });
}
