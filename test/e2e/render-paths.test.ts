/** Paths vLLM must be able to open: included files keep their folders, a host model folder is mounted for Docker. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { runCli, workdir } from "../support/cli.ts";

const TEMPLATE = "{% for m in messages %}{{ m.content }}{% endfor %}";

test("include keeps the folder under /app/include and a flag naming the file gets its mounted path (Kubernetes)", () => {
  const dir = workdir({
    "chat/template.jinja": TEMPLATE,
    "vllm-app.yaml": `name: inc
model_hf_path: Qwen/Qwen3-0.6B
include: [chat/template.jinja]
extra_args: [--chat-template, chat/template.jinja]
`,
  });
  const r = runCli(["render", "--dry-run", "-o", "json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /note: vllm-app\.yaml:\d+:\d+ extra_args: chat\/template\.jinja is an included file: vLLM is given its mounted path \/app\/include\/chat\/template\.jinja/,
  );
  const objects = JSON.parse(r.stdout).apps[0].objects as any[];
  const cm = objects.find((o) => o.kind === "ConfigMap");
  assert.deepEqual(cm.data, { "chat__template.jinja": TEMPLATE });
  const pod = objects.find((o) => o.kind === "Deployment").spec.template.spec;
  const vllm = pod.containers.find((c: any) => c.name === "vllm");
  const i = vllm.args.indexOf("--chat-template");
  assert.equal(vllm.args[i + 1], "/app/include/chat/template.jinja");
  const vol = pod.volumes.find((v: any) => v.name === "include");
  assert.deepEqual(vol.configMap.items, [{ key: "chat__template.jinja", path: "chat/template.jinja" }]);
});

test("include with --flag=path form and the same path on Docker: bind-mounted at its folder under /app/include", () => {
  const dir = workdir({
    "chat/template.jinja": TEMPLATE,
    "vllm-app.yaml": `name: inc
model_path: /models/x
include: [./chat/template.jinja]
extra_args: [--chat-template=./chat/template.jinja]
`,
  });
  const r = runCli(["render", "--local", "--dry-run", "-o", "json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const argv = JSON.parse(r.stdout).apps[0].docker.argv as string[];
  assert.ok(
    argv.includes(`${path.join(dir, "chat/template.jinja")}:/app/include/chat/template.jinja:ro`),
    argv.join(" "),
  );
  assert.ok(argv.includes("--chat-template=/app/include/chat/template.jinja"), argv.join(" "));
});

test("two included files at the same mounted path are an error; the same name in two folders is fine", () => {
  const dir = workdir({
    "a/t.jinja": "a",
    "b/t.jinja": "b",
    "vllm-app.yaml": "name: inc\nmodel_hf_path: Qwen/Qwen3-0.6B\ninclude: [a/t.jinja, b/t.jinja, ./a/t.jinja]\n",
  });
  const r = runCli(["render", "--dry-run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /vllm-app\.yaml:3:\d+ include\[2\]: two included files are both mounted at \/app\/include\/a\/t\.jinja/,
  );
  assert.doesNotMatch(r.stderr, /include\[1\]/);
});

test("--local: a model_path that is a folder on this machine is mounted read-only at the same path", () => {
  const model = path.join(workdir(), "models", "tiny");
  mkdirSync(model, { recursive: true });
  const render = (p: string) =>
    runCli(["render", "--local", "--dry-run", "-o", "json"], {
      cwd: workdir({ "vllm-app.yaml": `name: loc\nmodel_path: ${p}\n` }),
    });
  const r = render(model);
  assert.equal(r.code, 0, r.stderr);
  const argv = JSON.parse(r.stdout).apps[0].docker.argv as string[];
  assert.ok(argv.includes(`${model}:${model}:ro`), argv.join(" "));
  const inImage = render("/models/in-the-image");
  assert.equal(inImage.code, 0, inImage.stderr);
  assert.ok(
    !(JSON.parse(inImage.stdout).apps[0].docker.argv as string[]).some((a) => a.startsWith("/models/in-the-image:")),
  );
  assert.match(
    inImage.stderr,
    /note: .*\/models\/in-the-image is not a folder on this machine, so it must exist inside the image/,
  );
});
