/**
 * A small raw-JSON client for the Kubernetes API. client-node gives us the kubeconfig and its
 * authentication (tokens, client certificates, exec plugins); requests go through node:https here so
 * that objects travel as they are (client-node's typed serializer drops fields its models do not know,
 * which would silently lose newer pod fields from a pod_template), error answers keep their Status
 * object, and logs and watches stream line by line.
 */
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as wait } from "node:timers/promises";
import type { K8sObject } from "../render/types.js";
import type { Connection } from "./connection.js";
import { ClusterError } from "../errors.js";
import { ApiError, networkError, type ApiStatus } from "./errors.js";

export type KObject = K8sObject & {
  metadata: K8sObject["metadata"] & {
    resourceVersion?: string;
    uid?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    generation?: number;
  };
};

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** what the request does, for error messages: "apply Deployment/qwen3" */
  what: string;
}

export interface WatchEvent<T = KObject> {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: T;
}

interface Resource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/**
 * Resources every supported cluster serves, so the common path needs no discovery round trips
 * (kubectl caches discovery on disk for the same reason). Other kinds (CRDs such as KEDA's) are discovered.
 */
const BUILTIN: Record<string, Resource> = Object.fromEntries(
  (
    [
      ["v1", "Namespace", "namespaces", false],
      ["v1", "Secret", "secrets", true],
      ["v1", "ConfigMap", "configmaps", true],
      ["v1", "Service", "services", true],
      ["v1", "PersistentVolumeClaim", "persistentvolumeclaims", true],
      ["v1", "Pod", "pods", true],
      ["v1", "PodTemplate", "podtemplates", true],
      ["v1", "Event", "events", true],
      ["apps/v1", "Deployment", "deployments", true],
      ["apps/v1", "ReplicaSet", "replicasets", true],
      ["batch/v1", "Job", "jobs", true],
      ["networking.k8s.io/v1", "Ingress", "ingresses", true],
      ["networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true],
      ["policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true],
      ["autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true],
    ] as const
  ).map(([version, kind, name, namespaced]) => [`${version}/${kind}`, { name, kind, namespaced }]),
);
const BUILTIN_GROUP_VERSIONS: Record<string, string> = {
  "": "v1",
  apps: "apps/v1",
  batch: "batch/v1",
  "networking.k8s.io": "networking.k8s.io/v1",
  autoscaling: "autoscaling/v2",
  policy: "policy/v1",
};

export function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
}

const RETRY_TRIES = 6;

/**
 * Requests that end (GET, PATCH, DELETE) share this many kept-alive connections; more wait for one.
 * A 200-app deploy sends about 3,000 of them: one connection each (what client-node's
 * applyToHTTPSOptions hands out, a new Agent per call) meant 3,000 TLS handshakes, each building its own
 * TLS context (~4 s of CPU in all), and bursts of a thousand requests at once that the API server's
 * in-flight limit (default 400) answers with 429.
 */
export const POOLED_SOCKETS = 16;

/** The TLS settings that make one connection differ from another. */
const TLS_KEYS = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"] as const;

interface Agents {
  /** kept alive, at most POOLED_SOCKETS */
  pooled: http.Agent;
  /** logs and watches: a socket each (a long stream never holds up a request), closed when it ends */
  streams: http.Agent;
}

function retriable(method: string, status: number): boolean {
  return status === 429 || (method !== "POST" && (status === 502 || status === 503 || status === 504));
}

/**
 * How long requests and watches keep trying once an API server that has answered stops answering (a
 * control-plane restart or upgrade, a load balancer failing over). A server that never answered fails at once.
 */
export const OUTAGE_SECONDS = outageSeconds(process.env.VLLMAPP_API_OUTAGE_SECONDS);

/** VLLMAPP_API_OUTAGE_SECONDS: a number of seconds (0: fail at the first lost connection); anything else is the default, 60. */
export function outageSeconds(value: string | undefined): number {
  const n = value === undefined || value.trim() === "" ? NaN : Number(value);
  return Number.isFinite(n) && n >= 0 ? n : 60;
}

/** Connection failures that a restarting server causes (a POST is retried only when nothing was sent). */
const LOST = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED",
]);

function errnoOf(e: unknown): string | undefined {
  const err = e as { code?: string; cause?: { code?: string } };
  return err?.cause?.code ?? err?.code;
}

export type OutageEvent = { kind: "lost"; why: string } | { kind: "back"; seconds: number };

/** Wait `ms`, or less if the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, undefined, { signal }).catch(() => {});
}

export class KubeApi {
  readonly conn: Connection;
  private readonly discovery = new Map<string, Promise<Resource[] | undefined>>();
  private readonly agents = new Map<string, Agents>();
  /** told when the server stops answering and when it answers again (the commands print it) */
  onOutage: (e: OutageEvent) => void = () => {};
  /** aborts every request and watch of this client (Ctrl-C in a phase that writes nothing) */
  stop: AbortSignal | undefined;
  private answered = false;
  private outage: { since: number; tries: number } | undefined;

  constructor(conn: Connection) {
    this.conn = conn;
  }

  /** The server answered: an outage, if any, is over. */
  private reached(): void {
    this.answered = true;
    if (this.outage) {
      const seconds = (Date.now() - this.outage.since) / 1000;
      this.outage = undefined;
      this.onOutage({ kind: "back", seconds });
    }
  }

  /**
   * A request failed to reach a server that answered before: wait a moment and say to try again, for up to
   * OUTAGE_SECONDS from the first failure; then the failure stands, saying how long the server was gone.
   */
  private async rideOut(e: unknown, method: string, signal: AbortSignal | undefined): Promise<boolean> {
    const code = errnoOf(e);
    const busy = e instanceof ApiError && retriable(method, e.status);
    const lost = busy || (code !== undefined && LOST.has(code) && (method !== "POST" || code === "ECONNREFUSED"));
    if (OUTAGE_SECONDS === 0 || !this.answered || signal?.aborted || this.stop?.aborted || !lost) return false;
    if (!this.outage) {
      this.outage = { since: Date.now(), tries: 0 };
      this.onOutage({ kind: "lost", why: (e as Error).message });
    }
    const gone = (Date.now() - this.outage.since) / 1000;
    if (gone >= OUTAGE_SECONDS) {
      const err = e as ClusterError;
      throw new ClusterError(`${err.message}; it stopped answering ${Math.round(gone)} s ago`, err.hint);
    }
    await sleep(Math.min(250 * 2 ** this.outage.tries++, 2000), signal);
    return !signal?.aborted;
  }

  /**
   * Our agents for these TLS settings, made once and shared by every request with the same ones (one TLS
   * context for all their sockets). Credentials from an exec plugin may change the client certificate:
   * new settings get agents of their own.
   */
  private agentsFor(protocol: string, req: https.RequestOptions): Agents {
    const id = [
      protocol,
      ...TLS_KEYS.map((k) => {
        const v = req[k] as unknown;
        return Buffer.isBuffer(v) ? v.toString("base64") : Array.isArray(v) ? v.map(String).join("\n") : String(v);
      }),
    ].join("\0");
    let a = this.agents.get(id);
    if (!a) {
      if (protocol === "http:")
        a = {
          pooled: new http.Agent({ keepAlive: true, maxSockets: POOLED_SOCKETS }),
          streams: new http.Agent({ keepAlive: false }),
        };
      else {
        const secureContext = tls.createSecureContext({
          ca: req.ca,
          cert: req.cert,
          key: req.key,
          pfx: req.pfx,
          passphrase: req.passphrase,
        });
        const tlsOpts = { secureContext, rejectUnauthorized: req.rejectUnauthorized, servername: req.servername };
        a = {
          pooled: new https.Agent({ ...tlsOpts, keepAlive: true, maxSockets: POOLED_SOCKETS }),
          streams: new https.Agent({ ...tlsOpts, keepAlive: false }),
        };
      }
      this.agents.set(id, a);
    }
    return a;
  }

  private async open(
    method: string,
    path: string,
    opts: RequestOptions,
    stream = false,
  ): Promise<http.IncomingMessage> {
    if (this.stop) opts = { ...opts, signal: opts.signal ? AbortSignal.any([opts.signal, this.stop]) : this.stop };
    const url = new URL(this.conn.server.replace(/\/+$/, "") + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const req: https.RequestOptions = { method, headers: { Accept: "application/json" } };
    try {
      await this.conn.kc.applyToHTTPSOptions(req);
    } catch (e) {
      throw networkError(this.conn, e);
    }
    // client-node hands out a new plain Agent per call (one connection per request): ours instead. A
    // proxy agent (the cluster's proxy-url) is kept as it is.
    const given = req.agent;
    if (!given || given.constructor === https.Agent || given.constructor === http.Agent) {
      const agents = this.agentsFor(url.protocol, req);
      req.agent = stream ? agents.streams : agents.pooled;
    }
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (body !== undefined) {
      const headers = req.headers as Record<string, string>;
      headers["Content-Type"] = opts.contentType ?? "application/json";
      // a DELETE with a body (DeleteOptions) is otherwise sent chunked, which some proxies refuse
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    const transport = url.protocol === "http:" ? http : https;
    return new Promise((resolve, reject) => {
      const r = transport.request(url, { ...req, signal: opts.signal }, (res) => {
        // a server that is starting answers 429/503 for a while: that is not "back" yet
        if (!retriable(method, res.statusCode ?? 0)) this.reached();
        resolve(res);
      });
      r.on("error", (e) => {
        if ((e as Error).name === "AbortError") return reject(e);
        const err = networkError(this.conn, e);
        // a kept-alive connection the server closed as this request went out: nothing reached the server
        if (r.reusedSocket && errnoOf(e) === "ECONNRESET") Object.assign(err, { staleSocket: true });
        reject(err);
      });
      r.end(body);
    });
  }

  /** open(), riding out an outage of a server that answered before. */
  private async openRetrying(
    method: string,
    path: string,
    opts: RequestOptions,
    stream = false,
  ): Promise<http.IncomingMessage> {
    for (let stale = 0; ;) {
      try {
        return await this.open(method, path, opts, stream);
      } catch (e) {
        // a kept-alive connection the server had closed: sent again at once on a fresh one, whatever the method
        if ((e as { staleSocket?: boolean }).staleSocket && stale++ < 2) continue;
        if (!(await this.rideOut(e, method, opts.signal))) throw e;
      }
    }
  }

  private async fail(res: http.IncomingMessage, opts: RequestOptions): Promise<never> {
    let text = "";
    for await (const chunk of res) text += chunk;
    let status: ApiStatus;
    try {
      status = JSON.parse(text) as ApiStatus;
    } catch {
      status = { message: text.trim().slice(0, 500) || res.statusMessage };
    }
    throw new ApiError(res.statusCode ?? 0, status, opts.what, this.conn);
  }

  /**
   * One request; the answer parsed as JSON. Error answers throw ApiError (with the status code).
   * Like client-go: 429 (the API server is throttling, or a new CRD's storage is initializing) is retried
   * for every method, 502/503/504 for idempotent ones (everything but POST), honouring Retry-After (at
   * most 5 s) or backing off 0.2 s, 0.4 s … 3.2 s; 6 tries in all, then the last answer is the error.
   */
  async request<T = KObject>(method: string, path: string, opts: RequestOptions): Promise<T> {
    let res = await this.openRetrying(method, path, opts);
    for (
      let attempt = 1;
      attempt < RETRY_TRIES && retriable(method, res.statusCode ?? 0) && !opts.signal?.aborted;
      attempt++
    ) {
      const after = Number(res.headers["retry-after"]);
      res.resume();
      await new Promise((r) =>
        setTimeout(r, Number.isFinite(after) && after > 0 ? Math.min(after, 5) * 1000 : 100 * 2 ** attempt),
      );
      res = await this.openRetrying(method, path, opts);
    }
    if ((res.statusCode ?? 500) >= 400) return this.fail(res, opts);
    let text = "";
    for await (const chunk of res) text += chunk;
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** GET, or undefined on 404 (retried like request). */
  async get<T = KObject>(path: string, what: string): Promise<T | undefined> {
    try {
      return await this.request<T>("GET", path, { what });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** A streaming GET, line by line; resolves when the server ends the stream. */
  async lines(path: string, opts: RequestOptions, onLine: (line: string) => void | Promise<void>): Promise<void> {
    let res: http.IncomingMessage;
    try {
      res = await this.openRetrying("GET", path, opts, true);
    } catch (e) {
      if (opts.signal?.aborted) return;
      throw e;
    }
    if ((res.statusCode ?? 500) >= 400) return this.fail(res, opts);
    const decoder = new StringDecoder("utf8");
    let rest = "";
    try {
      for await (const chunk of res) {
        const text = rest + decoder.write(chunk as Buffer);
        let start = 0;
        for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
          await onLine(text.slice(start, text[nl - 1] === "\r" ? nl - 1 : nl));
          start = nl + 1;
        }
        rest = text.slice(start);
      }
      rest += decoder.end();
      if (rest) await onLine(rest);
    } catch (e) {
      if (opts.signal?.aborted) return;
      // socket errors carry a code; errors thrown by onLine pass through
      throw (e as NodeJS.ErrnoException).code ? networkError(this.conn, e) : e;
    }
  }

  /**
   * Watch a collection until the signal aborts. Starts from `query.resourceVersion` (that of a list), or
   * without one (the server then sends the current objects as ADDED); resumes from the last version
   * seen when the server closes the stream or the connection breaks (an API server restart: retried as
   * request() rides out an outage, 429/5xx answers too); on 410 Gone it starts over, after `onRelist`.
   */
  async watch<T extends { metadata?: { resourceVersion?: string } } = KObject>(
    path: string,
    query: Query,
    signal: AbortSignal,
    what: string,
    onEvent: (e: WatchEvent<T>) => void,
    onRelist: () => void = () => {},
  ): Promise<void> {
    let rv = query.resourceVersion === undefined ? undefined : String(query.resourceVersion);
    while (!signal.aborted) {
      let gone = false;
      try {
        await this.lines(
          path,
          { query: { ...query, watch: true, allowWatchBookmarks: true, resourceVersion: rv }, signal, what },
          (line) => {
            if (!line) return;
            const ev = JSON.parse(line) as { type: string; object: T & ApiStatus };
            if (ev.type === "ERROR") {
              if (ev.object.code === 410) {
                gone = true;
                return;
              }
              throw new ApiError(ev.object.code ?? 500, ev.object, what, this.conn);
            }
            rv = ev.object.metadata?.resourceVersion ?? rv;
            if (ev.type !== "BOOKMARK") onEvent(ev as WatchEvent<T>);
          },
        );
      } catch (e) {
        // a broken connection, or a server coming back up that answers 429/503 for a while
        if (!(await this.rideOut(e, "GET", signal))) throw e;
        continue;
      }
      if (gone) {
        rv = undefined;
        onRelist();
      }
    }
  }

  /** The API resource (plural name, scope) that serves a kind, from discovery; undefined if none does. */
  async resource(apiVersion: string, kind: string): Promise<Resource | undefined> {
    const builtin = BUILTIN[`${apiVersion}/${kind}`];
    if (builtin) return builtin;
    let found = this.discovery.get(apiVersion);
    if (!found) {
      const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      found = this.get<{ resources: Resource[] }>(path, `discover ${apiVersion}`).then((l) =>
        l?.resources.filter((r) => !r.name.includes("/")),
      );
      this.discovery.set(apiVersion, found);
    }
    return (await found)?.find((r) => r.kind === kind);
  }

  /** The preferred version of an API group ("" is the core group). */
  async preferredVersion(group: string): Promise<string | undefined> {
    if (group in BUILTIN_GROUP_VERSIONS) return BUILTIN_GROUP_VERSIONS[group];
    const g = await this.get<{ preferredVersion?: { groupVersion: string } }>(`/apis/${group}`, `discover ${group}`);
    return g?.preferredVersion?.groupVersion;
  }

  /** The URL path of a collection (no name) or of one object. */
  async path(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
    const r = await this.resource(apiVersion, kind);
    if (!r)
      throw new ApiError(404, { message: `the cluster serves no ${kind} in ${apiVersion}` }, `find ${kind}`, this.conn);
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
    return `${base}${ns}/${r.name}${name ? `/${encodeURIComponent(name)}` : ""}`;
  }

  async pathOf(obj: Pick<K8sObject, "apiVersion" | "kind" | "metadata">): Promise<string> {
    return this.path(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
  }
}

export function describe(obj: Pick<K8sObject, "kind" | "metadata">): string {
  return `${obj.kind}/${obj.metadata.name}`;
}
