// One Kubernetes resource kept in memory by the client library's informer (ListWatch: list, then
// watch). The library re-lists by itself after 410 Gone and re-watches after a clean close, but
// after any other error (API down, 403, a broken stream, a failed list) it emits 'error' and stops
// for good (kubernetes-client/javascript#447 and its kin). This restarts it with backoff as a
// fresh informer (a fresh list), serving the last complete list until the new one arrives, and
// logs once per outage, not per retry. The failure is cleared only once a watch stream is open
// again, so a list that works while the watch is refused still reads as a failure.

import { type KubeConfig, type KubernetesListObject, type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';

export interface ResourceSpec {
  /** Plural resource name for messages: "pods", "nodes". */
  readonly resource: string;
  /** For messages: "at the cluster scope" or "in namespace x". */
  readonly scope: string;
  /** The collection's URL path, watched with ?watch=true. */
  readonly path: string;
  readonly labelSelector?: string;
  /** One page of the list (`limit` objects at most, from `_continue` on). */
  readonly list: (page: ListPage) => Promise<KubernetesListObject<KubernetesObject>>;
  /** The RBAC a 403 asks for; default: get, list and watch on pods and nodes (discovery). */
  readonly needs?: string;
  /** What is kept of each object, from the list and from watch events. */
  readonly slim: (obj: KubernetesObject) => KubernetesObject;
}

export interface ListPage {
  readonly limit: number;
  readonly _continue?: string;
}

/**
 * Objects per list request, as client-go's reflector pages: the first list of a large cluster
 * then never holds every pod, deserialized, at once, only one page of them until it is slimmed.
 */
export const LIST_PAGE_SIZE = 500;

/** Why the resource cannot be read right now. */
export interface Failure {
  readonly verb: 'list' | 'watch';
  /** HTTP status, or null for a connection-level failure. */
  readonly status: number | null;
  readonly forbidden: boolean;
  /** One sentence, no stack: what failed and why. */
  readonly message: string;
}

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 30_000 };

type Informer = ListWatch<KubernetesObject>;

/**
 * The library's Watch, telling when a watch request was answered 200 (the stream is open), and
 * turning a throw before the request (e.g. credentials that cannot be loaded) into a `done(err)`
 * instead of an unhandled rejection inside the informer.
 */
class ObservedWatch extends Watch {
  readonly #onOpen: () => void;
  readonly #current: () => boolean;
  readonly #slim: (obj: KubernetesObject) => KubernetesObject;
  /** `current` false: the attempt was stopped or superseded, so no new request is made. */
  constructor(kc: KubeConfig, onOpen: () => void, current: () => boolean, slim: (obj: KubernetesObject) => KubernetesObject) {
    super(kc);
    this.#onOpen = onOpen;
    this.#current = current;
    this.#slim = slim;
  }

  override async watch(...args: Parameters<Watch['watch']>): Promise<AbortController> {
    const [path, query, events, done] = args;
    // ERROR events carry a Status, not an object of the resource: passed on as they are.
    const callback: typeof events = (phase, obj, raw) => events(phase, phase === 'ERROR' ? obj : this.#slim(obj as KubernetesObject), raw);
    // The library starts the watch after a list even when stopped meanwhile: do not.
    if (!this.#current()) return new AbortController();
    let ended = false;
    const end = (err: unknown): void => {
      if (ended) return;
      ended = true;
      done(err);
    };
    try {
      const controller = await super.watch(path, query, callback, end);
      // super.watch resolves after the response arrived; a non-200 answer has already called done.
      if (!ended) this.#onOpen();
      return controller;
    } catch (err) {
      end(err);
      return new AbortController();
    }
  }
}

/** Tags errors thrown by the list call so they are told apart from watch errors. */
class ListError extends Error {
  constructor(readonly inner: unknown) {
    super('list failed');
  }
}

export class WatchedResource {
  readonly #kc: KubeConfig;
  readonly #spec: ResourceSpec;
  readonly #log: Logger;
  readonly #onChange: () => void;
  readonly #backoff: Backoff;
  /** The informer whose last complete list is served; it may be stopped (outage). */
  #serving: Informer | null = null;
  /** Bumped per attempt: events and errors of older attempts are ignored. */
  #generation = 0;
  #failure: Failure | null = null;
  #retries = 0;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(kc: KubeConfig, spec: ResourceSpec, log: Logger, onChange: () => void, backoff = DEFAULT_BACKOFF) {
    this.#kc = kc;
    this.#spec = spec;
    this.#log = log;
    this.#onChange = onChange;
    this.#backoff = backoff;
  }

  start(): void {
    this.#connect();
  }

  /** True once a complete list has arrived (it stays served through outages). */
  synced(): boolean {
    return this.#serving !== null;
  }

  /** The current failure, or null while list+watch work. */
  failure(): Failure | null {
    return this.#failure;
  }

  /** The objects of the last complete list plus the watch events since. */
  objects(): readonly KubernetesObject[] {
    return this.#serving?.list() ?? [];
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#serving?.stop();
  }

  #connect(): void {
    this.#timer = null;
    if (this.#stopped) return;
    const gen = ++this.#generation;
    const spec = this.#spec;
    const informer: Informer = new ListWatch(
      spec.path,
      new ObservedWatch(
        this.#kc,
        () => this.#watching(gen),
        () => gen === this.#generation,
        spec.slim,
      ),
      async () => {
        let list: KubernetesListObject<KubernetesObject>;
        try {
          list = await listPaged(spec);
        } catch (e) {
          throw new ListError(e);
        }
        // The informer fills its cache right after this resolves; take it over after that.
        setImmediate(() => this.#listed(gen, informer));
        return list;
      },
      false,
      spec.labelSelector,
    );
    const changed = (): void => {
      if (gen === this.#generation) this.#onChange();
    };
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', changed);
    informer.on('error', (err: unknown) => this.#failed(gen, informer, err));
    informer.start().catch((err: unknown) => this.#failed(gen, informer, err));
  }

  #listed(gen: number, informer: Informer): void {
    if (gen !== this.#generation) return;
    const previous = this.#serving;
    this.#serving = informer;
    if (previous && previous !== informer) void previous.stop();
    this.#onChange();
  }

  /** The watch stream is open: list and watch both work again. */
  #watching(gen: number): void {
    if (gen !== this.#generation || this.#failure === null) return;
    this.#log.info('kubernetes list/watch works again', { resource: this.#spec.resource, retries: this.#retries });
    this.#failure = null;
    this.#retries = 0;
    this.#onChange();
  }

  #failed(gen: number, informer: Informer, err: unknown): void {
    if (gen !== this.#generation || this.#stopped) return;
    this.#generation++; // the aborted request's own error must not count again
    const failure = describe(err, this.#spec);
    // Once per outage (and again if it turns into a 403): retries only log at debug level.
    const fields = { resource: this.#spec.resource, error: failure.message, serving: this.#serving ? 'last known list' : 'nothing yet' };
    if (failure.forbidden && !this.#failure?.forbidden) this.#log.error('kubernetes API denies access', fields);
    else if (this.#failure === null) this.#log.warn('kubernetes list/watch failed; retrying with backoff', fields);
    else this.#log.debug('kubernetes list/watch still failing', { ...fields, retries: this.#retries });
    this.#failure = failure;
    void informer.stop();
    const delay = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** this.#retries);
    this.#retries++;
    this.#timer = setTimeout(() => this.#connect(), delay * (0.8 + 0.4 * Math.random()));
    this.#onChange();
  }
}

/**
 * The whole list, page by page, each object slimmed as its page arrives. The pages are one
 * snapshot (the API server's continue token keeps the first page's resourceVersion), which the
 * watch then starts from. A token that expired meanwhile (410) fails the list like any other
 * error: the informer starts over with backoff.
 */
async function listPaged(spec: ResourceSpec): Promise<KubernetesListObject<KubernetesObject>> {
  const items: KubernetesObject[] = [];
  let first: KubernetesListObject<KubernetesObject> | null = null;
  let token: string | undefined;
  do {
    const page = await spec.list(token ? { limit: LIST_PAGE_SIZE, _continue: token } : { limit: LIST_PAGE_SIZE });
    first ??= page;
    for (const o of page.items) items.push(spec.slim(o));
    token = page.metadata?._continue || undefined;
  } while (token);
  return { ...first, metadata: { ...first.metadata, _continue: undefined }, items };
}

/** A readable failure from whatever the library threw (ApiException, FetchError, Error with statusCode). */
function describe(err: unknown, spec: Pick<ResourceSpec, 'resource' | 'scope' | 'needs'>): Failure {
  const verb = err instanceof ListError ? 'list' : 'watch';
  const e = (err instanceof ListError ? err.inner : err) as {
    code?: unknown;
    statusCode?: unknown;
    message?: unknown;
    body?: unknown;
  } | null;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.code === 'number' ? e.code : null;
  // The API's own words (a Status body; the library keeps it for a list, not for a watch).
  const says = apiMessage(e?.body);
  const api = says ? `; the API says: ${says}` : '';
  if (status === 403) {
    return {
      verb,
      status,
      forbidden: true,
      message: `the Kubernetes API denies ${verb} ${spec.resource} ${spec.scope} (403 Forbidden): the exporter's service account needs ${spec.needs ?? 'get, list and watch on pods and nodes'}${api}`,
    };
  }
  const cause =
    status !== null
      ? `HTTP ${status}`
      : typeof e?.code === 'string'
        ? e.code
        : typeof e?.message === 'string'
          ? e.message.slice(0, 120)
          : 'unknown error';
  return { verb, status, forbidden: false, message: `cannot ${verb} ${spec.resource} ${spec.scope}: ${cause}${api}` };
}

/** Longest API message passed on: a Status message is a sentence, never a page. */
export const API_MESSAGE_MAX = 512;

/**
 * The `message` of a Kubernetes Status body (parsed or as text), made safe to show in an HTTP
 * answer and a log: one line, at most API_MESSAGE_MAX characters, and nothing that looks like a
 * credential (a bearer token, an Authorization value, a JWT) even if an API or proxy echoed one.
 */
export function apiMessage(body: unknown): string {
  let status = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body) as unknown;
    } catch {
      return '';
    }
  }
  const message = typeof status === 'object' && status !== null ? (status as { message?: unknown }).message : undefined;
  if (typeof message !== 'string') return '';
  const clean = message
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\b(authorization|token|password|secret|api[-_]?key)(\s*[:=]\s*)("?)(?:(?:bearer|basic)\s+)?[^\s",;)]+/gi, '$1$2$3[redacted]')
    .replace(/\b(bearer|basic)\s+[\w.~+/=-]{8,}/gi, '$1 [redacted]')
    .replace(/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[redacted]')
    .trim();
  return clean.length > API_MESSAGE_MAX ? `${clean.slice(0, API_MESSAGE_MAX - 3)}...` : clean;
}
