/**
 * The schema hands out converted values (config/schema.ts): `startup_timeout` in seconds and
 * `resources.gpu` as one shape, whichever way the file writes them; the renderer reads them as given.
 * The editor's JSON Schema is the schema's input side, so it still takes the file's spellings.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { plan } from "../../../src/app/plan.ts";
import { nodePlanIo } from "../../../src/app/node-io.ts";
import { parseConfigText } from "../../../src/config/load.ts";
import { buildJsonSchema } from "../../../src/config/json-schema.ts";
import type { K8sObject } from "../../../src/render/types.ts";
import { workdir } from "../../support/cli.ts";

const BASE = "name: app\nmodel_hf_path: Qwen/Qwen3-8B\n";
const configOf = (yaml: string) => parseConfigText(`${BASE}${yaml}`, "vllm-app.yaml").apps[0]!.config;

async function objectsOf(yaml: string): Promise<K8sObject[]> {
  const dir = workdir({ "vllm-app.yaml": `${BASE}${yaml}` });
  const p = await plan(
    { file: path.join(dir, "vllm-app.yaml"), target: "kubernetes", params: new Map() },
    nodePlanIo({ hostHome: "/home/dev" }),
  );
  assert.deepEqual(p.errors, []);
  return p.apps[0]!.rendered.objects!;
}
// rendered objects are read by path
const find = (objs: K8sObject[], kind: string): any => objs.find((o) => o.kind === kind);

test("startup_timeout is handed out in seconds: a duration string, a number of seconds, or the default 30m", () => {
  assert.equal(configOf("startup_timeout: 45m\n").startup_timeout, 2700);
  assert.equal(configOf("startup_timeout: 1h30m\n").startup_timeout, 5400);
  assert.equal(configOf("startup_timeout: 90s\n").startup_timeout, 90);
  assert.equal(configOf("startup_timeout: 300\n").startup_timeout, 300);
  assert.equal(configOf("").startup_timeout, 1800);
});

test("resources.gpu is handed out as {type, count, partition} whichever way the file writes it", () => {
  assert.deepEqual(configOf('resources: {gpu: "L4:2"}\n').resources?.gpu, { type: "L4", count: 2 });
  assert.deepEqual(configOf('resources: {gpu: "A100 80G:4"}\n').resources?.gpu, { type: "A100 80G", count: 4 });
  assert.deepEqual(configOf("resources: {gpu: H100}\n").resources?.gpu, { type: "H100", count: 1 });
  assert.deepEqual(configOf("resources: {gpu: 3}\n").resources?.gpu, { count: 3 });
  assert.deepEqual(configOf("resources: {gpu: {type: A100, partition: 1g.10gb}}\n").resources?.gpu, {
    type: "A100",
    count: 1,
    partition: "1g.10gb",
  });
  assert.equal(configOf("resources: {cpu: 4}\n").resources?.gpu, undefined);
  assert.equal(configOf("").resources, undefined);
});

test('a startup_timeout of "45m" reaches the renderer as 2700 seconds: the startup probe and the wake-up wait', async () => {
  const objs = await objectsOf(
    'resources: {gpu: "L4:1"}\nstartup_timeout: 45m\nscaling: {replicas: [0, 2], metric: {concurrency: 8}, wake: http-add-on}\ndomain: {custom_domain: chat.example.com}\n',
  );
  const vllm = find(objs, "Deployment").spec.template.spec.containers.find((c: { name: string }) => c.name === "vllm");
  assert.equal(vllm.startupProbe.periodSeconds, 1);
  assert.equal(vllm.startupProbe.failureThreshold, 2700);
  assert.equal(find(objs, "HTTPScaledObject").spec.timeouts.conditionWait, "2700s");
});

test('a GPU written "H100:2" and {type: H100, count: 2} render the same pod', async () => {
  const podOf = async (gpu: string) =>
    find(await objectsOf(`resources: {gpu: ${gpu}}\n`), "Deployment").spec.template.spec;
  const short = await podOf('"H100:2"');
  assert.deepEqual(short, await podOf("{type: H100, count: 2}"));
  assert.equal(
    short.containers.find((c: { name: string }) => c.name === "vllm").resources.limits["nvidia.com/gpu"],
    "2",
  );
});

test("the JSON Schema is the input side: startup_timeout and resources.gpu keep the file's spellings", () => {
  type Branch = { type?: string | string[] };
  const props = buildJsonSchema().properties as Record<
    string,
    { default?: unknown; anyOf?: Branch[]; properties?: Record<string, { anyOf?: Branch[] }> }
  >;
  // the types the branches accept, whatever their order or spelling (a type or a one-type list)
  const types = (branches: Branch[]) => branches.flatMap((b) => [b.type ?? []].flat()).sort();
  assert.equal(props.startup_timeout!.default, "30m");
  assert.deepEqual(types(props.startup_timeout!.anyOf!), ["number", "string"]);
  assert.deepEqual(types(props.resources!.properties!.gpu!.anyOf!), ["integer", "object", "string"]);
});
