/** Text for the Docker target's results (stdout). `--json` prints the results themselves. */
import { formatArgv, formatTable } from "../text.js";
import type { DeployResult } from "./deploy.js";
import type { LocalDeleted } from "./delete.js";
import type { LocalAppStatus } from "./status.js";

function formatDeploy(result: DeployResult): string {
  if (result.dryRun) {
    return result.apps
      .flatMap((a) => [...(a.docker.before ?? []).flatMap((b) => [`# ${a.name}, before: ${b.what}`, formatArgv(b.argv)]), `# ${a.name}`, formatArgv(a.docker.argv)])
      .join("\n");
  }
  return formatTable([["APP", "CONTAINER", "ACTION", "ENDPOINT", "MODEL"], ...result.apps.map((a) => [a.name, a.container, a.action, a.endpoint, a.modelId])]);
}

function formatStatus(apps: readonly LocalAppStatus[]): string {
  return apps
    .map((a) => {
      if (!a.deployed) return `${a.name}: not deployed`;
      const lines = [`${a.name}: ${a.state}, ${a.ready ? "ready" : `not ready (${a.reason})`}`];
      if (a.endpoint) lines.push(`  endpoint   ${a.endpoint}${a.requiresApiKey ? (a.apiKey ? "" : "  (API key: --show-api-key)") : "  (no API key)"}`);
      if (a.apiKey) lines.push(`  api key    ${a.apiKey}`);
      lines.push(`  model      ${a.modelId}  from ${a.modelUri}`, `  image      ${a.image}`, `  container  ${a.container}, created ${a.age} ago`);
      return lines.join("\n");
    })
    .join("\n\n");
}

function formatList(apps: readonly LocalAppStatus[]): string {
  if (!apps.length) return "";
  return formatTable([["APP", "STATE", "READY", "ENDPOINT", "MODEL", "IMAGE", "AGE"], ...apps.map((a) => [a.name, a.state ?? "", a.ready ? "yes" : "no", a.endpoint ?? "", a.modelId ?? "", a.image ?? "", a.age ?? ""])]);
}

function formatDelete(apps: readonly LocalDeleted[]): string {
  return apps
    .flatMap((a) => [
      ...(a.removed.length ? a.removed.map((c) => `${a.name}: container ${c} removed`) : [`${a.name}: no container to remove`]),
      ...(a.purgedCache ? [`${a.name}: model copy ${a.purgedCache} removed`] : []),
    ])
    .join("\n");
}

export function formatLocal(kind: "deploy" | "status" | "delete" | "list", result: unknown): string {
  switch (kind) {
    case "deploy":
      return formatDeploy(result as DeployResult);
    case "status":
      return formatStatus((result as { apps: LocalAppStatus[] }).apps);
    case "list":
      return formatList((result as { apps: LocalAppStatus[] }).apps);
    case "delete":
      return formatDelete((result as { apps: LocalDeleted[] }).apps);
  }
}
