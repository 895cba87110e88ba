/** Printing rendered apps: YAML streams, the JSON document (README "JSON output"), text, and the --out folder. Pure. */
import { stringify } from "yaml";
import { formatArgv } from "../text.js";
import type { K8sObject, RenderedApp } from "./types.js";

const YAML_OPTS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

export function objectYaml(obj: K8sObject): string {
  return stringify(obj, YAML_OPTS);
}

/** All objects of all apps as one multi-document stream that `kubectl apply -f -` takes. */
export function formatYaml(apps: readonly RenderedApp[]): string {
  const docs: string[] = [];
  for (const a of apps) {
    if (a.objects)
      for (const o of a.objects)
        docs.push(`# Source: ${a.name}/${o.kind.toLowerCase()}-${o.metadata.name}.yaml\n${objectYaml(o)}`);
    else if (a.docker)
      docs.push(
        `# ${a.name}: docker target, no Kubernetes objects\n${stringify({ app: a.name, docker: { argv: a.docker.argv } }, YAML_OPTS)}`,
      );
  }
  return docs.map((d) => `---\n${d}`).join("");
}

export function jsonDocument(apps: readonly RenderedApp[]): unknown {
  return {
    apps: apps.map((a) => ({
      name: a.name,
      target: a.target,
      ...(a.namespace ? { namespace: a.namespace } : {}),
      model: a.model,
      serve: a.serve,
      ...(a.objects ? { objects: a.objects } : {}),
      ...(a.docker
        ? {
            docker: {
              argv: a.docker.argv,
              envFromHost: a.docker.envFromHost,
              ...(a.docker.before.length
                ? { before: a.docker.before.map((b) => ({ what: b.what, argv: b.argv })) }
                : {}),
            },
          }
        : {}),
    })),
  };
}

export function formatJson(apps: readonly RenderedApp[]): string {
  return `${JSON.stringify(jsonDocument(apps), null, 2)}\n`;
}

export function formatText(apps: readonly RenderedApp[]): string {
  const out: string[] = [];
  for (const a of apps) {
    out.push(`# ${a.name} (${a.target}) model ${a.model.uri} served as ${a.model.servedAs}`);
    out.push(formatArgv([...a.serve.command, ...a.serve.args]));
    if (a.docker) {
      for (const b of a.docker.before) out.push(`# before: ${b.what}`, formatArgv(b.argv));
      out.push(formatArgv(a.docker.argv));
    }
    if (a.objects) for (const o of a.objects) out.push(`# ${o.kind}/${o.metadata.name}`);
    out.push("");
  }
  return out.join("\n");
}

export const RENDER_MARKER = "# Rendered by vllmapp: this folder is rewritten by `vllmapp render`.";

/** The files `render --out` writes for one app: file name → content. */
export function renderFiles(app: RenderedApp): Map<string, string> {
  const files = new Map<string, string>();
  const serve = `${formatArgv([...app.serve.command, ...app.serve.args])}\n`;
  files.set("serve-command.txt", serve);
  if (app.objects) {
    const names: string[] = [];
    for (const o of app.objects) {
      const name = `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;
      names.push(name);
      files.set(name, objectYaml(o));
    }
    files.set(
      "kustomization.yaml",
      `${RENDER_MARKER}\n${stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: names }, YAML_OPTS)}`,
    );
  }
  if (app.docker) {
    const lines = [...app.docker.before.map((b) => formatArgv(b.argv)), formatArgv(app.docker.argv)];
    files.set("docker-command.txt", `${lines.join("\n")}\n`);
  }
  return files;
}

/** `DIR/kustomization.yaml` over the app folders of a multi-app render: `kubectl apply -k DIR` applies them all. */
export function topKustomization(apps: readonly string[]): string {
  return `${RENDER_MARKER}\n${stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: apps.map((a) => `${a}/`) }, YAML_OPTS)}`;
}
