// A fake Kubernetes API server for tests and benchmarks: real HTTP (or HTTPS with its own CA,
// `{ tls: true }`) on loopback, speaking the list/watch protocol of the real API server for pods
// and nodes, so the real @kubernetes/client-node drives it exactly as it drives a cluster.
//
//   GET /api/v1/pods, /api/v1/namespaces/{ns}/pods, /api/v1/nodes
//     list:  ?labelSelector=  -> {kind, apiVersion, metadata: {resourceVersion}, items}
//            ?limit=N[&continue=T] -> pages of one snapshot, as the real server: metadata.continue
//            names the next page; a token from before the last expire() -> 410 Expired
//     watch: ?watch=true&resourceVersion=R[&labelSelector=] -> JSON lines, one event each:
//            the changes after R (ADDED, MODIFIED, DELETED; a selector change is ADDED/DELETED
//            as the real server does), then live events; BOOKMARK when the test asks;
//            R older than the last expire() -> an ERROR event with a 410 Status, then the end.
//   every request needs the bearer token of the written kubeconfig (401 otherwise).
//
//   Custom resources (as if their CRD were installed), /apis/{group}/{version}[/namespaces/{ns}]/{plural}:
//     list and watch as above (pages, BOOKMARK, 410); GET .../{name} -> get (404 NotFound);
//     POST -> create (201; 409 AlreadyExists); PUT .../{name} -> update, PATCH .../{name} (JSON merge
//     patch) -> patch: a metadata.resourceVersion that is not the stored one -> 409 Conflict, as
//     the real server's optimistic concurrency; DELETE .../{name} -> delete. Each write is a new
//     resourceVersion and an event to the watches; requests are counted by verb (get, create,
//     update, patch, delete) and plural, so a test counts the writes a store makes.
//
//   EndpointSlices (/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices) are served the same
//   way; endpointSlice() builds one for a Service, e.g. the cluster DNS replicas.
//
//   POST /apis/authentication.k8s.io/v1/tokenreviews, /apis/authorization.k8s.io/v1/subjectaccessreviews
//     answered by the test's tokenReview / subjectAccessReview functions (spec -> status, or an
//     HTTP status to fail with; may answer late); counted as verb 'tokenreview' / 'subjectaccessreview'.
//     test/helpers/tokens.ts issues tokens and answers their reviews.
//
// Faults: forbid() (403 with a Status naming the verb and scope), failWith() (any status),
// expire() (410), expirePages() (410 for the next page of a paged list), dropWatches() (clean end of the open watches), down()/up() (connection
// refused, then the same port again). requests()/count() record every request answered, so a
// test can assert "zero API calls per check". Objects are plain JSON; agentPod() and node()
// build them, agentPod() with the status kubelet reports (conditions, containerStatuses), and
// setPodStatus() changes it as kubelet would (CrashLoopBackOff, ImagePullBackOff, not Ready).
// Serves 10,000 pods comfortably: a list is one JSON.stringify, events are O(1) per open watch.
// Usable outside tap (bench/): FakeKube.start() without a test, then close().
//
//   const kube = await FakeKube.start(t);
//   kube.apply('nodes', node('n1'));
//   kube.apply('pods', agentPod('netchecker-agent-x', { node: 'n1' }));
//   exporter args: discoveryArgs(kube)   // --discovery kubernetes --kubeconfig <written file>
//   kube.count({ verb: 'list' })         // requests answered so far

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { matches, parseSelector, type Requirement } from '../../exporter/discovery/selector.js';

/** `pods`, `nodes`, or the plural of a custom resource (e.g. `agentshards`). */
export type Resource = string;
export type Verb = 'list' | 'watch';
/** Verbs on one object of a custom resource. */
export type ObjectVerb = 'get' | 'create' | 'update' | 'patch' | 'delete';
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A Kubernetes object as JSON; only metadata.name is required. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  /** EndpointSlice fields (top level, no spec). */
  addressType?: string;
  endpoints?: unknown[];
  ports?: unknown[];
}

/** One answered request; reviews are POSTs of a TokenReview or SubjectAccessReview. */
export interface RequestRecord {
  readonly verb: Verb | ObjectVerb | 'other' | Review;
  readonly resource: Resource | null;
  readonly namespace: string | null;
  readonly status: number;
}

export type Review = 'tokenreview' | 'subjectaccessreview';
/** A review's status, or an HTTP status to fail with (403: the caller lacks RBAC); may be late (a slow API). */
export type ReviewAnswer = Record<string, unknown> | number;
const REVIEW_PATHS: Record<string, Review> = {
  '/apis/authentication.k8s.io/v1/tokenreviews': 'tokenreview',
  '/apis/authorization.k8s.io/v1/subjectaccessreviews': 'subjectaccessreview',
};

interface Change {
  readonly rv: number;
  readonly resource: Resource;
  readonly type: EventType;
  readonly obj: KubeObject;
  readonly prev: KubeObject | null;
}

interface Watcher {
  readonly res: ServerResponse;
  readonly resource: Resource;
  readonly namespace: string | null;
  readonly selector: readonly Requirement[];
}

const TOKEN = 'netchecker-test-token';
/** apiVersion and kind per resource: the built-in ones, and custom ones as their objects name them. */
const BUILT_IN: ReadonlyArray<[Resource, { apiVersion: string; kind: string }]> = [
  ['pods', { apiVersion: 'v1', kind: 'Pod' }],
  ['nodes', { apiVersion: 'v1', kind: 'Node' }],
  ['endpointslices', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' }],
];
const CUSTOM = /^\/apis\/([^/]+)\/([^/]+)\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?$/;

export class FakeKube {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** A kubeconfig pointing at this server (removed on close). */
  readonly kubeconfigPath: string;
  readonly #server: Server;
  readonly #port: number;
  readonly #dir: string;
  readonly #objects = new Map<Resource, Map<string, KubeObject>>();
  readonly #types = new Map(BUILT_IN);
  readonly #history: Change[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  readonly #requests: RequestRecord[] = [];
  readonly #forbidden = new Set<string>();
  #rv = 1;
  #uid = 0;
  #expiredBelow = 0;
  /** Paged lists in progress: continue token -> the rest of the snapshot the first page was cut from. */
  readonly #pages = new Map<string, { rv: number; items: KubeObject[] }>();
  #nextPage = 0;
  #expireNextPage = false;
  #failStatus: number | null = null;
  #failMessage = '';
  #listening = true;
  /** Answers TokenReview creations: spec -> status. Default: not authenticated. */
  tokenReview: (spec: Record<string, unknown>) => ReviewAnswer | Promise<ReviewAnswer> = () => ({ authenticated: false });
  /** Answers SubjectAccessReview creations: spec -> status. Default: not allowed. */
  subjectAccessReview: (spec: Record<string, unknown>) => ReviewAnswer | Promise<ReviewAnswer> = () => ({ allowed: false });

  private constructor(server: Server, port: number, dir: string, ca: string | null) {
    this.#server = server;
    this.#port = port;
    this.#dir = dir;
    this.url = `${ca ? 'https' : 'http'}://127.0.0.1:${port}`;
    this.kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(this.kubeconfigPath, kubeconfig(this.url, ca));
  }

  /**
   * Starts on a free loopback port; closed when the test ends (without a test, call close()).
   * `tls: true` serves HTTPS with a fresh self-signed certificate (openssl) that the kubeconfig
   * trusts as its certificate authority, as a real cluster does; plain HTTP otherwise.
   */
  static async start(t?: Pick<Test, 'teardown'>, options: { tls?: boolean } = {}): Promise<FakeKube> {
    const dir = mkdtempSync(join(tmpdir(), `fake-kube-${process.pid}-`));
    const tls = options.tls ? selfSigned(dir) : null;
    const server = tls ? (createTlsServer(tls) as unknown as Server) : createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = new FakeKube(server, (server.address() as AddressInfo).port, dir, tls?.cert ?? null);
    fake.#attach(server);
    t?.teardown(() => fake.close());
    return fake;
  }

  // --- objects ---------------------------------------------------------------------------

  /** Creates or replaces objects (ADDED or MODIFIED to the watches), one resource version each. */
  apply(resource: Resource, ...objects: KubeObject[]): void {
    for (const input of objects) {
      const obj = structuredClone(input);
      const key = keyOf(obj);
      const prev = this.#of(resource).get(key) ?? null;
      const type = this.#types.get(resource);
      obj.apiVersion = type?.apiVersion ?? obj.apiVersion;
      obj.kind = type?.kind ?? obj.kind;
      if (!type && obj.apiVersion && obj.kind) this.#types.set(resource, { apiVersion: obj.apiVersion, kind: obj.kind });
      obj.metadata.uid = obj.metadata.uid ?? prev?.metadata.uid ?? `uid-${++this.#uid}`;
      obj.metadata.creationTimestamp = obj.metadata.creationTimestamp ?? prev?.metadata.creationTimestamp ?? new Date().toISOString();
      obj.metadata.resourceVersion = String(++this.#rv);
      this.#of(resource).set(key, obj);
      this.#publish({ rv: this.#rv, resource, type: prev ? 'MODIFIED' : 'ADDED', obj, prev });
    }
  }

  /** Changes a stored object in place (a MODIFIED event); throws when it does not exist. */
  update(resource: Resource, name: string, mutate: (obj: KubeObject) => void, namespace?: string): void {
    const obj = this.get(resource, name, namespace);
    if (!obj) throw new Error(`fake-kube: no ${resource} ${namespace ?? ''}/${name}`);
    mutate(obj);
    this.apply(resource, obj);
  }

  /** Sets a pod's status as kubelet would report it (see podStatus): a MODIFIED event. */
  setPodStatus(name: string, namespace: string, phase: string, container?: ContainerOptions): void {
    this.update('pods', name, (p) => void (p.status = podStatus(phase, typeof p.spec?.nodeName === 'string', container)), namespace);
  }

  /** Deletes an object (DELETED to the watches); no-op when it does not exist. */
  remove(resource: Resource, name: string, namespace?: string): void {
    const key = `${namespace ?? ''}/${name}`;
    const prev = this.#of(resource).get(key);
    if (!prev) return;
    this.#of(resource).delete(key);
    const obj = structuredClone(prev);
    obj.metadata.resourceVersion = String(++this.#rv);
    this.#publish({ rv: this.#rv, resource, type: 'DELETED', obj, prev });
  }

  /** A copy of a stored object. */
  get(resource: Resource, name: string, namespace?: string): KubeObject | undefined {
    const obj = this.#of(resource).get(`${namespace ?? ''}/${name}`);
    return obj && structuredClone(obj);
  }

  /** Copies of every stored object of a resource. */
  list(resource: Resource): KubeObject[] {
    return [...this.#of(resource).values()].map((o) => structuredClone(o));
  }

  #of(resource: Resource): Map<string, KubeObject> {
    let objects = this.#objects.get(resource);
    if (!objects) this.#objects.set(resource, (objects = new Map<string, KubeObject>()));
    return objects;
  }

  // --- faults ----------------------------------------------------------------------------

  /**
   * Answers 403 to `verb` (both when left out) on `resource`, as missing RBAC does; with scope
   * `cluster` only to requests across all namespaces, as when a Role grants it in namespaces only.
   */
  forbid(resource: Resource, verb?: Verb | ObjectVerb, scope: 'any' | 'cluster' = 'any'): void {
    for (const v of verb ? [verb] : (['list', 'watch'] as const)) this.#forbidden.add(`${v} ${resource} ${scope}`);
    if (!verb || verb === 'watch') this.dropWatches(resource);
  }

  /** Undoes forbid(), in both scopes. */
  allow(resource: Resource, verb?: Verb | ObjectVerb): void {
    for (const v of verb ? [verb] : (['list', 'watch'] as const))
      for (const scope of ['any', 'cluster']) this.#forbidden.delete(`${v} ${resource} ${scope}`);
  }

  /** Answers every request with this status (e.g. 503), and a Status with this message, until failWith(null). Open watches end. */
  failWith(status: number | null, message = 'the fake API server is failing on purpose'): void {
    this.#failStatus = status;
    this.#failMessage = message;
    if (status !== null) this.dropWatches();
  }

  /** The next page asked for with a continue token is 410 Expired (etcd compacted between two pages). */
  expirePages(): void {
    this.#expireNextPage = true;
  }

  /** Forgets the history (etcd compaction): open watches get ERROR 410 and end; older versions get 410. */
  expire(): void {
    this.#expiredBelow = this.#rv + 1;
    this.#history.length = 0;
    this.#pages.clear();
    for (const w of this.#watchers) {
      writeEvent(w.res, 'ERROR', gone(this.#rv));
      w.res.end();
    }
    this.#watchers.clear();
  }

  /** Ends the open watch streams cleanly (as the API server does at its watch timeout). */
  dropWatches(resource?: Resource): void {
    for (const w of this.#watchers) {
      if (resource && w.resource !== resource) continue;
      w.res.end();
      this.#watchers.delete(w);
    }
  }

  /** Sends a BOOKMARK with the current resource version to every open watch. */
  bookmark(): void {
    for (const w of this.#watchers) {
      const type = this.#types.get(w.resource);
      writeEvent(w.res, 'BOOKMARK', { kind: type?.kind, apiVersion: type?.apiVersion, metadata: { resourceVersion: String(this.#rv) } });
    }
  }

  /** The API goes away: the port refuses connections and every open connection is cut. */
  async down(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    this.#watchers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  /** The API comes back on the same port, with the same objects. */
  async up(): Promise<void> {
    if (this.#listening) return;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#listening = true;
  }

  // --- observation -----------------------------------------------------------------------

  /** Every request answered so far, in order. */
  requests(): readonly RequestRecord[] {
    return [...this.#requests];
  }

  /** How many requests matched (all when no filter). */
  count(filter: { verb?: RequestRecord['verb']; resource?: Resource; status?: number } = {}): number {
    return this.#requests.filter(
      (r) =>
        (filter.verb === undefined || r.verb === filter.verb) &&
        (filter.resource === undefined || r.resource === filter.resource) &&
        (filter.status === undefined || r.status === filter.status),
    ).length;
  }

  /** Watch streams open right now, per resource. */
  openWatches(resource?: Resource): number {
    return [...this.#watchers].filter((w) => !resource || w.resource === resource).length;
  }

  async close(): Promise<void> {
    await this.down();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  // --- the server ------------------------------------------------------------------------

  #attach(server: Server): void {
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    server.on('request', (req, res) => this.#handle(req, res));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/(pods)|(pods|nodes))$/.exec(url.pathname);
    const custom = REVIEW_PATHS[url.pathname] ? null : CUSTOM.exec(url.pathname);
    const resource = m?.[2] ?? m?.[3] ?? custom?.[4] ?? null;
    const ns = m?.[1] ?? custom?.[3];
    const namespace = ns ? decodeURIComponent(ns) : null;
    const objectName = custom?.[5] ? decodeURIComponent(custom[5]) : null;
    const collectionVerb = req.method !== 'GET' || !resource ? 'other' : url.searchParams.get('watch') === 'true' ? 'watch' : 'list';
    const verb: RequestRecord['verb'] =
      custom && (req.method !== 'GET' || objectName !== null)
        ? (objectVerb(req.method ?? '', objectName !== null) ?? 'other')
        : collectionVerb;
    const answer = (status: number, body: unknown): void => {
      this.#requests.push({ verb, resource, namespace, status });
      sendJson(res, status, body);
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return answer(401, status(401, 'Unauthorized', 'Unauthorized'));
    if (this.#failStatus !== null) return answer(this.#failStatus, status(this.#failStatus, 'InternalError', this.#failMessage));
    const review = REVIEW_PATHS[url.pathname];
    if (review && req.method === 'POST') return void this.#review(req, res, review);
    if (verb === 'other' || !resource) return answer(404, status(404, 'NotFound', `the server could not find the requested resource`));
    if (this.#forbidden.has(`${verb} ${resource} any`) || (namespace === null && this.#forbidden.has(`${verb} ${resource} cluster`))) {
      const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
      return answer(
        403,
        status(
          403,
          'Forbidden',
          `${resource} is forbidden: User "system:serviceaccount:netchecker:netchecker-exporter" cannot ${verb} resource "${resource}" in API group "${custom?.[1] ?? ''}" ${scope}`,
        ),
      );
    }
    if (verb !== 'list' && verb !== 'watch') return void this.#object(req, verb, { resource, namespace, name: objectName }, answer);
    const selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
    if (!selector.ok) return answer(400, status(400, 'BadRequest', `unable to parse requirement: ${selector.error}`));
    const filter = { resource, namespace, selector: selector.value };
    if (verb === 'list') {
      const limit = Number(url.searchParams.get('limit') ?? 0);
      if (!Number.isInteger(limit) || limit < 0)
        return answer(400, status(400, 'BadRequest', `invalid limit: ${url.searchParams.get('limit')}`));
      const token = url.searchParams.get('continue');
      if (token && this.#expireNextPage) {
        this.#expireNextPage = false;
        this.#pages.delete(token);
      }
      const snapshot = token
        ? this.#pages.get(token)
        : { rv: this.#rv, items: [...this.#of(resource).values()].filter((o) => this.#selects(filter, o)) };
      if (!snapshot)
        return answer(410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
      if (token) this.#pages.delete(token);
      const items = limit > 0 ? snapshot.items.slice(0, limit) : snapshot.items;
      const metadata: Record<string, unknown> = { resourceVersion: String(snapshot.rv) };
      if (items.length < snapshot.items.length) {
        const next = `page-${++this.#nextPage}`;
        this.#pages.set(next, { rv: snapshot.rv, items: snapshot.items.slice(limit) });
        metadata.continue = next;
        metadata.remainingItemCount = snapshot.items.length - limit;
      }
      const type = this.#types.get(resource);
      return answer(200, { kind: `${type?.kind ?? ''}List`, apiVersion: type?.apiVersion ?? 'v1', metadata, items });
    }
    this.#requests.push({ verb, resource, namespace, status: 200 });
    this.#watch(res, filter, url.searchParams.get('resourceVersion') ?? '');
  }

  /** get, create, update, patch or delete of one custom object, with the real server's answers to conflicts. */
  async #object(
    req: IncomingMessage,
    verb: ObjectVerb,
    at: { resource: Resource; namespace: string | null; name: string | null },
    answer: (code: number, body: unknown) => void,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: KubeObject | null = null;
    if (verb === 'create' || verb === 'update' || verb === 'patch') {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString()) as KubeObject;
      } catch {
        return answer(400, status(400, 'BadRequest', 'the body is not JSON'));
      }
      if (typeof body !== 'object' || body === null) return answer(400, status(400, 'BadRequest', 'the body is not an object'));
    }
    const name = verb === 'create' ? body?.metadata?.name : at.name;
    if (!name) return answer(422, status(422, 'Invalid', 'metadata.name: Required value'));
    const stored = this.get(at.resource, name, at.namespace ?? undefined);
    const what = `${at.resource} "${name}"`;
    if (verb === 'create' && stored) return answer(409, status(409, 'AlreadyExists', `${what} already exists`));
    if (verb !== 'create' && !stored) return answer(404, status(404, 'NotFound', `${what} not found`));
    if (verb === 'get') return answer(200, stored);
    if (verb === 'delete') {
      this.remove(at.resource, name, at.namespace ?? undefined);
      return answer(200, stored);
    }
    const input = body as KubeObject;
    const asked = input.metadata?.resourceVersion;
    if (stored && asked !== undefined && asked !== stored.metadata.resourceVersion) {
      return answer(
        409,
        status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`,
        ),
      );
    }
    const next = verb === 'patch' ? (mergePatch(stored, input) as KubeObject) : structuredClone(input);
    next.metadata = { ...next.metadata, name, ...(at.namespace ? { namespace: at.namespace } : {}) };
    delete next.metadata.resourceVersion;
    if (stored) next.metadata.uid = stored.metadata.uid;
    this.apply(at.resource, next);
    answer(verb === 'create' ? 201 : 200, this.get(at.resource, name, at.namespace ?? undefined));
  }

  /** A TokenReview or SubjectAccessReview: the test's answer for its spec, echoed back as the API server does. */
  async #review(req: IncomingMessage, res: ServerResponse, review: Review): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
      apiVersion?: string;
      kind?: string;
      spec?: Record<string, unknown>;
    };
    const spec = body.spec ?? {};
    const result = await (review === 'tokenreview' ? this.tokenReview(spec) : this.subjectAccessReview(spec));
    if (res.destroyed) return; // the client gave up (its timeout) or the server went down()
    const code = typeof result === 'number' ? result : 201;
    this.#requests.push({ verb: review, resource: null, namespace: null, status: code });
    if (typeof result === 'number')
      return sendJson(res, code, status(code, code === 403 ? 'Forbidden' : 'InternalError', `${review} answered ${code} on purpose`));
    sendJson(res, code, { apiVersion: body.apiVersion, kind: body.kind, metadata: {}, spec, status: result });
  }

  #watch(res: ServerResponse, filter: Omit<Watcher, 'res'>, from: string): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders(); // as the API server does: the client knows the watch is open before any event
    if (from === '' || from === '0') {
      for (const obj of this.#of(filter.resource).values()) if (this.#selects(filter, obj)) writeEvent(res, 'ADDED', obj);
    } else {
      const rv = Number(from);
      if (!Number.isInteger(rv) || rv < this.#expiredBelow - 1) {
        writeEvent(res, 'ERROR', gone(rv));
        res.end();
        return;
      }
      for (const change of this.#history) if (change.rv > rv) this.#send({ ...filter, res }, change);
    }
    const watcher: Watcher = { ...filter, res };
    this.#watchers.add(watcher);
    res.once('close', () => this.#watchers.delete(watcher));
  }

  #publish(change: Change): void {
    this.#history.push(change);
    for (const w of this.#watchers) this.#send(w, change);
  }

  /** Sends a change as the watcher sees it through its namespace and selector. */
  #send(w: Watcher, change: Change): void {
    if (w.resource !== change.resource) return;
    const now = change.type !== 'DELETED' && this.#selects(w, change.obj);
    const before = change.prev !== null && this.#selects(w, change.prev);
    if (change.type === 'DELETED') {
      if (before) writeEvent(w.res, 'DELETED', change.obj);
    } else if (now) writeEvent(w.res, before ? 'MODIFIED' : 'ADDED', change.obj);
    else if (before) writeEvent(w.res, 'DELETED', change.obj);
  }

  #selects(filter: Pick<Watcher, 'namespace' | 'selector'>, obj: KubeObject): boolean {
    return (
      (filter.namespace === null || obj.metadata.namespace === filter.namespace) && matches(filter.selector, obj.metadata.labels ?? {})
    );
  }
}

// --- object builders -------------------------------------------------------------------------

export interface AgentPodOptions {
  /** Node the pod is bound to; null: not scheduled. */
  node: string | null;
  /** The node the DaemonSet pins the pod to (its node affinity); default: `node`. */
  daemonSetNode?: string;
  hostNetwork?: boolean;
  /** Pending, Running, Succeeded, Failed, Unknown; default Running. */
  phase?: string;
  namespace?: string;
  /** The `app` label; default netchecker-agent or netchecker-agent-hostnet by hostNetwork. */
  app?: string;
  /** Sets metadata.deletionTimestamp (the pod is terminating). */
  deleting?: boolean;
  /** status.podIP (and podIPs); a hostNetwork pod's is its node's, so hostIP too. */
  ip?: string;
  /** What kubelet reports of the agent container (see podStatus); default: a healthy one. */
  container?: ContainerOptions;
}

/** An agent pod as the DaemonSets create it, with the status kubelet reports for it (podStatus). */
export function agentPod(name: string, o: AgentPodOptions): KubeObject {
  const app = o.app ?? (o.hostNetwork ? 'netchecker-agent-hostnet' : 'netchecker-agent');
  const pinned = o.daemonSetNode ?? o.node;
  const affinity = pinned
    ? {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [pinned] }] }],
          },
        },
      }
    : undefined;
  return {
    metadata: {
      name,
      namespace: o.namespace ?? 'netchecker',
      labels: { app },
      ...(o.deleting ? { deletionTimestamp: new Date().toISOString() } : {}),
    },
    spec: {
      ...(o.node !== null ? { nodeName: o.node } : {}),
      hostNetwork: o.hostNetwork ?? false,
      ...(affinity ? { affinity } : {}),
      containers: [{ name: 'agent', image: 'netchecker' }],
    },
    status: {
      ...podStatus(o.phase ?? 'Running', o.node !== null, o.container),
      ...(o.ip ? { podIP: o.ip, podIPs: [{ ip: o.ip }], ...(o.hostNetwork ? { hostIP: o.ip, hostIPs: [{ ip: o.ip }] } : {}) } : {}),
    },
  };
}

/** The agent container as kubelet reports it. */
export interface ContainerOptions {
  /** Its readiness probe passes; default: true while it runs (not waiting). */
  ready?: boolean;
  restarts?: number;
  /** state.waiting.reason: CrashLoopBackOff, ImagePullBackOff, ErrImagePull, ContainerCreating... */
  waiting?: string;
  /** lastState.terminated.reason: Error, OOMKilled... */
  lastTerminated?: string;
}

/**
 * A pod's status as kubelet and the scheduler write it: phase, the PodScheduled and Ready
 * conditions, and the agent container's status. Not scheduled: PodScheduled False
 * (Unschedulable), no container status. Pending: the container waiting (ContainerCreating unless
 * told). Running: the container running and Ready unless told otherwise; Ready=False with reason
 * ContainersNotReady when it is not. Use with FakeKube.setPodStatus to change it as kubelet would.
 */
export function podStatus(phase: string, scheduled: boolean, container: ContainerOptions = {}): Record<string, unknown> {
  const now = new Date().toISOString();
  if (!scheduled)
    return {
      phase,
      conditions: [
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 1 Insufficient memory.' },
      ],
    };
  const waiting = container.waiting ?? (phase === 'Pending' ? 'ContainerCreating' : undefined);
  const ready = phase === 'Running' && !waiting && (container.ready ?? true);
  const state = waiting
    ? { waiting: { reason: waiting } }
    : phase === 'Running'
      ? { running: { startedAt: now } }
      : { terminated: { reason: 'Error', exitCode: 1 } };
  return {
    phase,
    startTime: now,
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      {
        type: 'Ready',
        status: ready ? 'True' : 'False',
        ...(ready ? {} : { reason: 'ContainersNotReady', message: 'containers with unready status: [agent]' }),
      },
    ],
    containerStatuses: [
      {
        name: 'agent',
        image: 'netchecker',
        ready,
        started: phase === 'Running' && !waiting,
        restartCount: container.restarts ?? 0,
        state,
        lastState: container.lastTerminated ? { terminated: { reason: container.lastTerminated, exitCode: 1 } } : {},
      },
    ],
  };
}

export interface NodeOptions {
  /** The Ready condition's status: true -> True, false -> False, null -> Unknown. Default true. */
  ready?: boolean | null;
  /** Cordoned: spec.unschedulable. */
  cordoned?: boolean;
}

export function node(name: string, o: NodeOptions = {}): KubeObject {
  const ready = o.ready === undefined ? true : o.ready;
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: o.cordoned ? { unschedulable: true } : {},
    status: {
      conditions: [
        {
          type: 'Ready',
          status: ready === null ? 'Unknown' : ready ? 'True' : 'False',
          reason: ready === null ? 'NodeStatusUnknown' : ready ? 'KubeletReady' : 'KubeletNotReady',
        },
      ],
    },
  };
}

/** One endpoint of an EndpointSlice: its pod (targetRef), node, IP and readiness. */
export interface SliceEndpoint {
  readonly ip: string;
  readonly pod: string;
  readonly node: string;
  readonly ready?: boolean;
}

/** An IPv4 EndpointSlice of a Service (labelled kubernetes.io/service-name, as the controller does) with CoreDNS's ports. */
export function endpointSlice(name: string, service: { namespace: string; name: string }, endpoints: readonly SliceEndpoint[]): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: service.namespace, labels: { 'kubernetes.io/service-name': service.name } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: false },
      nodeName: e.node,
      targetRef: { kind: 'Pod', namespace: service.namespace, name: e.pod },
    })),
    ports: [
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'metrics', port: 9153, protocol: 'TCP' },
    ],
  };
}

// --- wire helpers ------------------------------------------------------------------------------

/** The verb of a request on a custom resource's path: on the collection (no name) or on one object. */
function objectVerb(method: string, named: boolean): ObjectVerb | null {
  if (!named) return method === 'POST' ? 'create' : null; // GET on the collection: list or watch
  return ({ GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, ObjectVerb>)[method] ?? null;
}

/** RFC 7386 JSON merge patch: objects merge key by key, null removes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? structuredClone(target as Record<string, unknown>) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function gone(rv: number): Record<string, unknown> {
  return status(410, 'Expired', `too old resource version: ${rv}`);
}

function writeEvent(res: ServerResponse, type: EventType | 'BOOKMARK' | 'ERROR', object: unknown): void {
  if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A key and a self-signed certificate (key.pem, cert.pem) for `san`, made by openssl in `dir`. */
export function selfSigned(dir: string, cn = 'fake-kube', san = 'IP:127.0.0.1'): { key: string; cert: string } {
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8' },
  );
  if (r.error || r.status !== 0) throw new Error(`openssl is required for tls (Debian package openssl): ${r.error?.message ?? r.stderr}`);
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

function kubeconfig(server: string, ca: string | null): string {
  const trust = ca ? { 'certificate-authority-data': Buffer.from(ca).toString('base64') } : { 'insecure-skip-tls-verify': true };
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server, ...trust } }],
    users: [{ name: 'fake', user: { token: TOKEN } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
    'current-context': 'fake',
  });
}

/** The exporter flags that point --discovery kubernetes at this fake server. */
export function discoveryArgs(fake: FakeKube): string[] {
  return ['--discovery', 'kubernetes', '--kubeconfig', fake.kubeconfigPath];
}

/** The exporter flags that point --store kubernetes at this fake server, its AgentShards in `namespace`. */
export function storeArgs(fake: FakeKube, namespace = 'netchecker'): string[] {
  return ['--store', 'kubernetes', '--kubeconfig', fake.kubeconfigPath, '--kubernetes-store-namespace', namespace];
}

/** Every agent entry in the AgentShard objects of `namespace`, by agent name. */
export function shardEntries(fake: FakeKube, namespace = 'netchecker'): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const o of fake.list('agentshards')) {
    if (o.metadata.namespace !== namespace) continue;
    for (const [name, e] of Object.entries((o.spec?.agents ?? {}) as Record<string, Record<string, unknown>>)) out.set(name, e);
  }
  return out;
}
