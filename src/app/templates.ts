/** The templates render fills: the shipped ones (parsed at build time), or a folder given by --templates / $VLLMAPP_TEMPLATES. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { UsageError } from "../errors.js";
import type { Templates } from "../render/types.js";
import { IN_SINGLE_EXECUTABLE } from "../package-files.js";
import { VERSION } from "../version.js";

/** Where the package's own files are: next to dist/ when bundled, next to src/ when run from source. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "templates"))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error("cannot find vllmapp's package folder (templates/ is missing)");
}

/** Where a user finds the shipped templates to copy: the package's folder, or (the single executable has none) the release's source. */
function shippedTemplatesFolder(): string {
  return IN_SINGLE_EXECUTABLE ? `templates/ in vllmapp ${VERSION}'s source` : path.join(packageRoot(), "templates");
}

const TEMPLATE_FILES: Record<keyof Templates, string> = {
  deployment: "deployment.yaml",
  service: "service.yaml",
  apiKeySecret: "api-key-secret.yaml",
  cachePvc: "cache-pvc.yaml",
  scaledObject: "scaledobject.yaml",
  ingress: "ingress.yaml",
  includeConfigMap: "include-configmap.yaml",
  modelDownload: "model-download.yaml",
};

/** The shipped templates, parsed at build time (bin/build.mjs): file name → object. */
declare const VLLMAPP_DEFAULT_TEMPLATES: Record<string, unknown> | undefined;

/** `dir`: --templates; else $VLLMAPP_TEMPLATES (passed in as `envDir`); else the shipped ones. */
export function loadTemplates(dir: string | undefined, envDir: string | undefined): Templates {
  const custom = dir ?? envDir;
  if (custom === undefined && typeof VLLMAPP_DEFAULT_TEMPLATES !== "undefined") {
    const shipped = VLLMAPP_DEFAULT_TEMPLATES;
    // the build parsed exactly the TEMPLATE_FILES, each a mapping
    return Object.fromEntries(
      Object.entries(TEMPLATE_FILES).map(([key, file]) => [key, structuredClone(shipped[file])]),
    ) as unknown as Templates;
  }
  const root = custom ?? path.join(packageRoot(), "templates");
  const k8s = existsSync(path.join(root, "kubernetes")) ? path.join(root, "kubernetes") : root;
  const out: Partial<Record<keyof Templates, unknown>> = {};
  for (const [key, file] of Object.entries(TEMPLATE_FILES) as [keyof Templates, string][]) {
    const full = path.join(k8s, file);
    let text: string;
    try {
      text = readFileSync(full, "utf8");
    } catch {
      throw new UsageError(
        `template ${full} is missing`,
        `copy vllmapp's templates folder whole (${shippedTemplatesFolder()}) and edit the copy`,
      );
    }
    try {
      const v = parseYaml(text);
      if (typeof v !== "object" || v === null) throw new Error("not a mapping");
      out[key] = v;
    } catch (e) {
      throw new UsageError(`template ${full} is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  // every key was set above, each a mapping
  return out as Templates;
}
