// The etcd overlays render with kubectl's kustomize, and what they render is an exporter config
// our own flag parser accepts, pointing at the etcd members the overlay runs (or at the Secret).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { parseExporterConfig } from '../exporter/config.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Obj {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown> & {
    replicas?: number;
    template?: {
      spec: {
        containers: Array<{ args?: string[]; env?: Array<{ name: string }>; volumeMounts?: Array<{ mountPath: string }> }>;
        volumes?: Array<{ secret?: { secretName: string } }>;
      };
    };
  };
}

function render(dir: string): Promise<Obj[]> {
  return new Promise((resolve, reject) => {
    execFile('kubectl', ['kustomize', `${ROOT}deploy/overlays/${dir}`], { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl kustomize ${dir} failed (kubectl is required): ${stderr || err.message}`));
      else resolve(parseAllDocuments(stdout).map((d) => d.toJS() as Obj));
    });
  });
}

const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o;
};

t.test('overlay etcd: two exporters on a three-member etcd StatefulSet', async (t) => {
  const objs = await render('etcd');
  const exporter = find(objs, 'Deployment', 'netchecker-server');
  const etcd = find(objs, 'StatefulSet', 'netchecker-etcd');
  t.equal(exporter.spec.replicas, 2);
  t.equal(etcd.spec.replicas, 3);
  find(objs, 'Service', 'netchecker-etcd');
  find(objs, 'PodDisruptionBudget', 'netchecker-server');
  find(objs, 'NetworkPolicy', 'netchecker-etcd');
  const args = exporter.spec.template?.spec.containers[0]?.args ?? [];
  t.equal(args[0], 'exporter');
  const parsed = parseExporterConfig(args.slice(1));
  t.ok(parsed.ok && !parsed.help, parsed.ok ? 'the exporter flags parse' : parsed.error);
  if (parsed.ok && !parsed.help) {
    t.equal(parsed.config.store, 'etcd');
    t.same(
      parsed.config.etcd?.endpoints,
      [0, 1, 2].map((i) => `http://netchecker-etcd-${i}.netchecker-etcd:2379`),
      'one endpoint per member',
    );
  }
});

t.test('overlay etcd/external: endpoints and TLS files from the Secret', async (t) => {
  const objs = await render('etcd/external');
  t.notOk(
    objs.some((o) => o.kind === 'StatefulSet'),
    'no etcd of its own',
  );
  const exporter = find(objs, 'Deployment', 'netchecker-server');
  t.equal(exporter.spec.replicas, 2);
  const pod = exporter.spec.template?.spec;
  const c = pod?.containers[0];
  t.ok(
    c?.env?.some((e) => e.name === 'NETCHECKER_ETCD_ENDPOINTS'),
    'endpoints from the Secret through the environment',
  );
  t.ok(
    pod?.volumes?.some((v) => v.secret?.secretName === 'netchecker-etcd-client'),
    'the Secret mounted',
  );
  t.ok(c?.volumeMounts?.some((m) => m.mountPath === '/etc/netchecker/etcd'));
  const parsed = parseExporterConfig((c?.args ?? []).slice(1), {
    NETCHECKER_ETCD_ENDPOINTS: 'https://etcd-0.example:2379,https://etcd-1.example:2379',
  });
  t.ok(parsed.ok && !parsed.help, parsed.ok ? 'the exporter flags parse with the endpoints a Secret would give' : parsed.error);
  if (parsed.ok && !parsed.help) {
    t.equal(parsed.config.etcd?.caFile, '/etc/netchecker/etcd/ca.crt');
    t.equal(parsed.config.etcd?.keyFile, '/etc/netchecker/etcd/tls.key');
    t.same(parsed.config.etcd?.endpoints, ['https://etcd-0.example:2379', 'https://etcd-1.example:2379']);
  }
});
