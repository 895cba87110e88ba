/** The Docker plan (src/render/docker.ts and docker/): devices, the environment, where the models come from, the steps. */
import { test } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import assert from "node:assert/strict";
import { parse } from "zod/mini";
import { appConfigSchema } from "../../../src/config/schema.ts";
import { dockerEnvOf, stepFromHost } from "../../../src/render/docker/env.ts";
import { gpuFlags } from "../../../src/render/docker/server.ts";
import { gpuRequest } from "../../../src/render/resources.ts";
import type { ModelSource } from "../../../src/models/source.ts";
import { planOf } from "../../support/plan.ts";

const appOf = (fields: Record<string, unknown>) =>
  parse(appConfigSchema, { name: "m", model_hf_path: "Qwen/Qwen3-0.6B", ...fields });

test("GPUs: NVIDIA's --gpus from the count or --gpus; ROCm's devices, narrowed by HIP_VISIBLE_DEVICES only when --gpus lists some", () => {
  const nvidia = gpuRequest(appOf({ resources: { gpu: "H100:2" } }));
  const amd = gpuRequest(appOf({ resources: { gpu: "MI300X:2" } }));
  const rocm = ["--device", "/dev/kfd", "--device", "/dev/dri", "--group-add", "video"];
  const cases: [typeof nvidia, string | undefined, string[]][] = [
    [nvidia, undefined, ["--gpus", '"device=0,1"']],
    [nvidia, "all", ["--gpus", "all"]],
    [nvidia, "1,3", ["--gpus", '"device=1,3"']],
    [nvidia, "0", []],
    [nvidia, "none", []],
    [gpuRequest(appOf({})), undefined, []],
    [amd, undefined, rocm],
    [amd, "all", rocm],
    [amd, "1", [...rocm, "-e", "HIP_VISIBLE_DEVICES=1"]],
    [amd, "none", []],
  ];
  for (const [gpu, override, want] of cases)
    assert.deepEqual(gpuFlags(gpu, override), want, `${gpu.type?.name ?? "no GPU"} --gpus ${override}`);
});

test("environment: plain values for every step, secrets by name, the API key for the server only; a file secret is a warning", () => {
  const app = appOf({
    env_vars: { A: 1 },
    secrets: [
      "HF_TOKEN",
      { env_var: "S3_KEY", secret: "s3", key: "k" },
      { key: "ca.pem", secret: "ca", mount: "/etc/ca" },
    ],
    requires_auth: { secret: "keys", key: "api" },
  });
  const src: ModelSource = { kind: "hf", repo: "Qwen/Qwen3-0.6B" };
  const env = dockerEnvOf(app, src, new Map(), undefined, "/root/.cache/vllm");
  assert.deepEqual(env.plain, ["-e", "A=1", "-e", "VLLM_CACHE_ROOT=/root/.cache/vllm"]);
  assert.deepEqual(env.secrets, ["-e", "HF_TOKEN", "-e", "S3_KEY"]);
  assert.deepEqual(env.apiKey, ["-e", "VLLM_API_KEY"]);
  assert.deepEqual(env.fromHost, ["HF_TOKEN", "S3_KEY", "VLLM_API_KEY"]);
  assert.deepEqual(stepFromHost(env), ["HF_TOKEN", "S3_KEY"]);
  assert.deepEqual(
    env.problems.map((p) => [p.path.join("."), p.severity, p.message]),
    [
      [
        "secrets",
        "warning",
        "secret ca/ca.pem is mounted as a file on Kubernetes only; the local container does not get it",
      ],
      [
        "requires_auth",
        "note",
        "the local container takes its API key from VLLM_API_KEY in your environment (on Kubernetes it reads Secret keys, key api)",
      ],
    ],
  );
  const open = dockerEnvOf(appOf({ requires_auth: false }), src, new Map(), undefined, undefined);
  assert.deepEqual([open.plain, open.apiKey, open.fromHost, open.key], [[], [], [], undefined]);
});

test("models on a Docker host: object stores copied into ~/.cache/vllmapp and mounted read-only, a host folder mounted at its path, the rest a note", async (t) => {
  const here = mkdtempSync(path.join(tmpdir(), "vllmapp-adapter-"));
  t.after(() => rmSync(here, { recursive: true, force: true }));
  const p = await planOf(
    `name: m
model_path: s3://models/qwen/
stream_model: false
draft_model_path: gs://models/draft/
speculative_config: {num_speculative_tokens: 3}
requires_auth: true
secrets: [AWS_ACCESS_KEY_ID]
env_vars: {AWS_ENDPOINT_URL: "http://127.0.0.1:9000"}
lora:
  adapters:
    - {name: a, source: "s3://adapters/a/"}
    - {name: b, source: /no/such/folder}
    - {name: c, source: ${here}}
on_startup: echo ready
`,
    "docker",
  );
  assert.deepEqual(p.errors, []);
  const d = p.apps[0]!.rendered.docker!;
  assert.deepEqual(
    d.before.map((s) => s.what),
    [
      "copy s3://models/qwen into /home/dev/.cache/vllmapp/models/m",
      "copy the draft model gs://models/draft into /home/dev/.cache/vllmapp/models/m-draft",
      "copy adapter a from s3://adapters/a into /home/dev/.cache/vllmapp/adapters/m/a",
      "on_startup: echo ready",
    ],
  );
  // every step takes the secrets from the host, never the API key; only the S3 copies get rclone's endpoint
  for (const s of d.before) assert.deepEqual(s.envFromHost, ["AWS_ACCESS_KEY_ID"], s.what);
  assert.deepEqual(
    d.before.map((s) => s.argv.includes("RCLONE_S3_ENDPOINT=http://127.0.0.1:9000")),
    [true, false, true, false],
  );
  assert.deepEqual(d.before[3]!.argv.slice(-5), [
    "--entrypoint",
    "/bin/sh",
    "vllm/vllm-openai:v0.34.0",
    "-c",
    "echo ready",
  ]);
  assert.deepEqual(d.envFromHost, ["AWS_ACCESS_KEY_ID", "VLLM_API_KEY"]);
  assert.equal(d.modelCacheDir, "/home/dev/.cache/vllmapp/models/m");
  const binds = d.argv.filter((a, i) => d.argv[i - 1] === "-v" && a.endsWith(":ro"));
  assert.deepEqual(binds, [
    "/home/dev/.cache/vllmapp/models/m:/models/m:ro",
    "/home/dev/.cache/vllmapp/models/m-draft:/models/m-draft:ro",
    "/home/dev/.cache/vllmapp/adapters/m/a:/adapters/a:ro",
    `${here}:${here}:ro`,
  ]);
  assert.deepEqual(
    p.warnings.filter((w) => w.path === "lora.adapters[1].source").map((w) => w.message),
    ["/no/such/folder is not a folder on this machine, so it must exist inside the image"],
  );
});
