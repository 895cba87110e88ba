/**
 * Connecting as kubectl does: --kubeconfig, else $KUBECONFIG (a list, merged), else ~/.kube/config;
 * --context, else the current context; namespace: --namespace, else the app file's `namespace`,
 * else the context's, else "default". client-node is imported here, lazily, by callers that need it.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { ClusterError } from "../errors.js";

export interface ConnectionOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface Connection {
  kc: KubeConfig;
  context: string;
  /** the namespace the context names, if any */
  contextNamespace?: string;
  server: string;
}

export async function connect(opts: ConnectionOptions): Promise<Connection> {
  // Only KubeConfig (and the auth it brings) is used: requests go through ./api.ts. The build
  // (bin/build.mjs) narrows this import so the generated API clients are not loaded.
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  const defaultFile = path.join(homedir(), ".kube", "config");
  if (!opts.kubeconfig && !process.env.KUBECONFIG && !existsSync(defaultFile) && !process.env.KUBERNETES_SERVICE_HOST) {
    // client-node would fall back to http://localhost:8080 and fail with a puzzling TLS message
    throw new ClusterError(
      `no kubeconfig: KUBECONFIG is not set and ${defaultFile} does not exist`,
      "pass --kubeconfig FILE, set KUBECONFIG, or run `kubectl config` to create one",
    );
  }
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    // a YAML error's message goes on to quote the lines around the mistake, tokens and keys included: its first line says what and where
    const why = (e as Error).message.split("\n")[0];
    throw new ClusterError(
      `cannot read kubeconfig ${opts.kubeconfig ?? process.env.KUBECONFIG ?? "~/.kube/config"}: ${why}`,
      "pass --kubeconfig, or set KUBECONFIG",
    );
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new ClusterError(
        `context "${opts.context}" is not in the kubeconfig`,
        `contexts: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(", ") || "(none)"
        }`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  const context = kc.getCurrentContext();
  const ctx = kc.getContextObject(context);
  const cluster = kc.getCurrentCluster();
  if (!ctx || !cluster) {
    throw new ClusterError(
      "no current Kubernetes context",
      "set one with `kubectl config use-context NAME`, or pass --context / --kubeconfig",
    );
  }
  return { kc, context, contextNamespace: ctx.namespace || undefined, server: cluster.server };
}

/** --namespace, else the app file's namespace, else the context's, else "default". */
export function namespaceFor(conn: Pick<Connection, "contextNamespace">, flag?: string, fromFile?: string): string {
  return flag ?? fromFile ?? conn.contextNamespace ?? "default";
}
