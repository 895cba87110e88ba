/**
 * Kubernetes API failures in words a user can act on: unreachable server, bad credentials, which verb
 * on which resource is forbidden, who owns a conflicting field, which field the server rejected.
 * Messages never carry request bodies (they may hold secret values).
 */
import { ClusterError } from "../errors.js";
import type { Connection } from "./connection.js";

/** The Status object the API server answers errors with. */
export interface ApiStatus {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

type Where = Pick<Connection, "server" | "context">;

/** An error answer of the API server. `status` is the HTTP code, for callers that expect some (404). */
export class ApiError extends ClusterError {
  readonly status: number;
  readonly body: ApiStatus;
  constructor(status: number, body: ApiStatus, what: string, where: Where) {
    const { message, hint } = explainStatus(status, body, what, where);
    super(message, hint);
    this.status = status;
    this.body = body;
  }
}

export function explainStatus(
  code: number,
  body: ApiStatus,
  what: string,
  where: Where,
): { message: string; hint?: string } {
  const said = body.message ?? `HTTP ${code}`;
  switch (code) {
    case 401:
      return {
        message: `the Kubernetes API at ${where.server} rejected the credentials of context "${where.context}" (401 Unauthorized)`,
        hint: `they are missing, invalid or expired: log in again or refresh the token/certificate, then check with \`kubectl get ns --context ${where.context}\``,
      };
    case 403: {
      const m =
        /(User|ServiceAccount|Group) ?"?([^"]*)"? cannot (\w+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?/.exec(
          said,
        );
      if (!m) return { message: `${what}: forbidden: ${said}` };
      const [, , who, verb, resource, group, ns] = m;
      const res = group ? `${resource}.${group}` : resource!;
      return {
        message: `${what}: forbidden: ${who ? `"${who}"` : "you"} may not ${verb} ${res}${ns ? ` in namespace ${ns}` : " (cluster-wide)"}`,
        hint: `ask a cluster admin for a Role granting "${verb}" on ${res}; check with \`kubectl auth can-i ${verb} ${res}${ns ? ` -n ${ns}` : ""}\``,
      };
    }
    case 409: {
      if (!/^Apply failed/.test(said)) return { message: `${what}: conflict: ${said}` };
      const fields = (body.details?.causes ?? []).map((c) => {
        const manager = /conflict with "([^"]+)"/.exec(c.message ?? "")?.[1];
        return `${c.field ?? "?"} (owned by "${manager ?? "another manager"}")`;
      });
      return {
        message: `${what}: fields another field manager owns: ${fields.join(", ") || said}`,
        hint: "another tool (kubectl edit/apply, a controller, Helm) changed them; rerun with --force-conflicts to take them over, or stop that tool managing them",
      };
    }
    case 422: {
      const causes = (body.details?.causes ?? []).map((c) =>
        c.field && !(c.message ?? "").includes(c.field) ? `${c.field}: ${c.message}` : (c.message ?? ""),
      );
      return {
        message: `${what}: the API server rejected it: ${causes.length ? causes.join("; ") : said}`,
        hint: "fix the field in vllm-app.yaml (or the pod_template / templates it came from)",
      };
    }
    default:
      return { message: `${what}: ${said}${body.message ? ` (${code})` : ""}` };
  }
}

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "DNS lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "timed out",
  ECONNRESET: "connection reset",
};

/** A failure to talk to the API server at all (network, TLS, credentials plugin). */
export function networkError(where: Where, e: unknown): ClusterError {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err.code ?? err.cause?.code;
  const why =
    (code && NETWORK_WORDS[code]) ??
    (code && /CERT|TLS|SSL|SELF_SIGNED|SIGNATURE/.test(code) ? `TLS: ${err.message}` : err.message);
  const error = new ClusterError(
    `cannot reach the Kubernetes API at ${where.server} (context "${where.context}"): ${why}`,
    `is the cluster up and the kubeconfig current? check with \`kubectl cluster-info --context ${where.context}\``,
  );
  error.cause = e;
  return error;
}
