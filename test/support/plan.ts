/**
 * Planning a vllm-app.yaml in-process, as `vllmapp render` and `deploy` do before any IO of a target:
 * the file (and any files it includes) in a scratch folder, the real file-system IO, the user's home
 * fixed at /home/dev (Docker renders mount its HF cache), no resolver unless a test passes one. For the
 * unit tests of config/, render/ and app/ rules; the golden cases parse render's own flags first.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { plan, type Plan, type PlanIo, type PlanOptions } from "../../src/app/plan.ts";
import { nodePlanIo } from "../../src/app/node-io.ts";
import type { K8sObject, TargetKind } from "../../src/render/types.ts";
import { workdir } from "./cli.ts";

export interface PlanYamlOptions extends Partial<Omit<PlanOptions, "file" | "params">> {
  /** other files beside vllm-app.yaml (includes, chat templates), by relative path */
  files?: Record<string, string>;
  /** how model sources are resolved (render --resolve); none by default, as render without --resolve */
  resolve?: PlanIo["resolve"];
  /** default /home/dev, so rendered paths do not depend on who runs the tests */
  hostHome?: string;
}

/** The Plan of `yaml` written as vllm-app.yaml; target kubernetes unless given. */
export function planYaml(yaml: string, opts: PlanYamlOptions = {}): Promise<Plan> {
  const { files, resolve, hostHome = "/home/dev", target = "kubernetes", ...rest } = opts;
  const dir = workdir({ "vllm-app.yaml": yaml, ...files });
  const io = nodePlanIo({ hostHome, ...(resolve ? { resolve } : {}) });
  return plan({ file: path.join(dir, "vllm-app.yaml"), target, params: new Map(), ...rest }, io);
}

/** planYaml with the target and extra files as arguments: `planOf(yaml, "docker")`. */
export function planOf(
  yaml: string,
  target: TargetKind = "kubernetes",
  files: Record<string, string> = {},
): Promise<Plan> {
  return planYaml(yaml, { target, files });
}

/** The Kubernetes objects of the file's first app; the plan must have no errors. */
export async function objectsOf(yaml: string): Promise<K8sObject[]> {
  const p = await planOf(yaml);
  assert.deepEqual(p.errors, []);
  return p.apps[0]!.rendered.objects!;
}

/** The first object of a kind (as any: tests read deep into pod specs). */
export const firstOfKind = (objs: K8sObject[], k: string) => objs.find((o) => o.kind === k) as any;

/** The plan's errors as `path: message | hint` lines. */
export async function errorsOf(yaml: string, target: TargetKind = "kubernetes"): Promise<string[]> {
  return (await planOf(yaml, target)).errors.map((e) => `${e.path}: ${e.message}${e.hint ? ` | ${e.hint}` : ""}`);
}
