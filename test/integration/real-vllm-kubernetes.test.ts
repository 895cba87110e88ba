/**
 * `vllmapp deploy` onto the test bed's REAL node (a kubelet with containerd) running the REAL vLLM (CPU
 * build) on the tiny model, from each source: the kubelet runs the probes, the init containers really copy,
 * the API-key Secret is really filled and read, an included chat template is really used, on_startup runs
 * before the server and on_shutdown on delete. Requests go through `kubectl port-forward` only. One server
 * at a time (2 cores); each test deletes its app. The image is the test bed registry's copy
 * (VLLM_IMAGE_REGISTRY): the node has no other, so the first deploy really pulls it. The namespace enforces
 * Pod Security "restricted", as vllmapp renders by default: every source (Hub, s3 streamed, s3 copied by
 * rclone, an MLflow run, a PVC) starts and answers there, and the server's process runs as UID 10001.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { cliWithTimeout, workdir } from "../support/cli.ts";
import { freePort, kubectl, kubectlJson, tbEnv, waitUntil, withNamespace } from "../support/testbed.ts";
import { chat, s3Env } from "../support/vllm.ts";

let ns: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ ns, cleanup } = await withNamespace("realk", { restricted: true }));
});
after(() => cleanup?.());

const cli = cliWithTimeout(780_000);

/** Real-node sizing: the node has 2 CPUs, so vllmapp's default of 4 CPUs per GPU cannot be scheduled there. */
const RESOURCES = `resources: {gpu: "${"A10G"}:1", cpu: ["250m", "2"], memory: ["1Gi", "6Gi"]}`;

const S3_POD_ENV = () => `secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
env_vars:
  AWS_ENDPOINT_URL: ${tbEnv("POD_AWS_ENDPOINT_URL")}
  AWS_DEFAULT_REGION: ${tbEnv("AWS_DEFAULT_REGION")}`;

/** kubectl port-forward to the app's Service on a free 127.0.0.1 port. */
async function forward(app: string): Promise<{ port: number; stop: () => void }> {
  const port = await freePort();
  const pf: ChildProcess = spawn(
    tbEnv("VLLMAPP_TEST_KUBECTL"),
    ["-n", ns, "port-forward", `svc/${app}`, `${port}:8000`, "--address", "127.0.0.1"],
    { stdio: "ignore" },
  );
  await waitUntil(
    `port-forward to ${app}`,
    async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok,
    30_000,
  );
  return { port, stop: () => pf.kill() };
}

async function apiKey(app: string): Promise<string> {
  const s = await kubectlJson<any>(["-n", ns, "get", "secret", `${app}-api-key`]);
  assert.ok(s.data?.VLLM_API_KEY, "deploy filled the API-key Secret");
  return Buffer.from(s.data.VLLM_API_KEY, "base64").toString("utf8");
}

/** deploy → Ready on the real node → models and chat through port-forward with the key, 401 without. */
async function deployAndAsk(
  app: string,
  body: string,
  opts: { env?: Record<string, string>; files?: Record<string, string> } = {},
) {
  const dir = workdir({
    ...opts.files,
    "vllm-app.yaml": `name: ${app}\nmodel_id: tiny-${app}\nimage: ${tbEnv("VLLM_IMAGE_REGISTRY")}\n${RESOURCES}\nstartup_timeout: 6m\n${body}\n`,
  });
  // 12m: the first deploy of a run may pull the image (6.1 GB, uncompressed: a minute or more on 2 cores)
  const r = await cli(
    ["deploy", "-f", "vllm-app.yaml", "-n", ns, "--create-secrets", "--timeout", "12m"],
    dir,
    opts.env,
  );
  assert.equal(r.code, 0, `deploy ${app} exited ${r.code}:\n${r.stderr}`);
  const pods = await kubectlJson<{ items: any[] }>(["-n", ns, "get", "pods", "-l", `vllmapp.dev/app=${app}`]);
  assert.equal(pods.items.length, 1);
  const pod = pods.items[0];
  assert.equal(pod.spec.nodeName, tbEnv("VLLMAPP_REAL_NODE"), "scheduled on the real node");
  assert.ok(
    pod.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"),
    "Ready by the kubelet's probes",
  );
  // the server's process (PID 1 of the vllm container) runs as the non-root UID/GID vllmapp renders
  const status = await kubectl(["-n", ns, "exec", pod.metadata.name, "-c", "vllm", "--", "cat", "/proc/1/status"]);
  assert.match(status.stdout, /^Uid:\s+10001\s+10001\s+10001\s+10001$/m, status.stdout);
  assert.match(status.stdout, /^Gid:\s+10001\s+10001\s+10001\s+10001$/m, status.stdout);
  assert.match(status.stdout, /^CapEff:\s+0+$/m, "no capabilities");
  const key = await apiKey(app);
  const pf = await forward(app);
  try {
    const models = (await (
      await fetch(`http://127.0.0.1:${pf.port}/v1/models`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as any;
    assert.deepEqual(
      models.data.map((m: any) => m.id),
      [`tiny-${app}`],
    );
    const ok = await chat(pf.port, key, `tiny-${app}`);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.ok(ok.body.usage.completion_tokens > 0);
    assert.equal((await chat(pf.port, undefined, `tiny-${app}`)).status, 401, "refused without the key");
  } finally {
    pf.stop();
  }
  return { dir, pod };
}

async function remove(app: string, dir: string) {
  const d = await cli(["delete", app, "-n", ns], dir);
  assert.equal(d.code, 0, d.stderr);
  await waitUntil(
    `pods of ${app} gone`,
    async () =>
      (await kubectlJson<{ items: any[] }>(["-n", ns, "get", "pods", "-l", `vllmapp.dev/app=${app}`])).items.length ===
      0,
    120_000,
    500,
  );
}

/** An HTTP server on the pod bridge that records what the app's hooks call. */
function witness(): Promise<{ url: string; hits: { path: string; at: number }[]; close: () => void }> {
  const hits: { path: string; at: number }[] = [];
  const srv: Server = createServer((req, res) => {
    hits.push({ path: req.url ?? "", at: Date.now() });
    res.end("ok");
  });
  return new Promise((resolve) =>
    srv.listen(0, tbEnv("VLLMAPP_REAL_NODE_IP"), () => {
      const port = (srv.address() as { port: number }).port;
      resolve({ url: `http://${tbEnv("VLLMAPP_REAL_NODE_IP")}:${port}`, hits, close: () => srv.close() });
    }),
  );
}

const CALL = (url: string) =>
  `[python3, -c, "import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()", "${url}"]`;

test("Hub replay source, with an included chat template, on_startup before the server and on_shutdown on delete", async () => {
  const app = "rk-hf";
  const w = await witness();
  try {
    const marker = "vllmappmarker";
    const { dir, pod } = await deployAndAsk(
      app,
      `model_hf_path: ${tbEnv("VLLM_TINY_MODEL_HF")}
env_vars:
  HF_ENDPOINT: ${tbEnv("POD_HF_ENDPOINT")}
include: [chat/template.jinja]
extra_args: [--max-model-len, "512", --chat-template, chat/template.jinja]
on_startup: ${CALL(`${w.url}/startup`)}
on_shutdown: ${CALL(`${w.url}/shutdown`)}`,
      {
        env: { HF_ENDPOINT: tbEnv("HF_ENDPOINT") },
        files: { "chat/template.jinja": `{% for m in messages %}${marker} {{ m.content }}{% endfor %}` },
      },
    );
    // on_startup ran to completion, before the server container started
    const init = pod.status.initContainerStatuses.find((c: any) => c.name === "on-startup");
    assert.equal(init.state.terminated.exitCode, 0);
    const started = Date.parse(
      pod.status.containerStatuses.find((c: any) => c.name === "vllm").state.running.startedAt,
    );
    const startup = w.hits.find((h) => h.path === "/startup");
    assert.ok(startup, "on_startup called the witness");
    assert.ok(startup.at <= started + 1000, "on_startup ran before the server started");
    // the included template is the one vLLM applies (tokenize is open without the key)
    const pf = await forward(app);
    try {
      const t = (await (
        await fetch(`http://127.0.0.1:${pf.port}/tokenize`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: `tiny-${app}`,
            messages: [{ role: "user", content: "hi" }],
            return_token_strs: true,
          }),
        })
      ).json()) as any;
      assert.ok(
        (t.token_strs as string[]).join("").includes(marker),
        `the prompt was rendered with the included template: ${t.token_strs.join("")}`,
      );
    } finally {
      pf.stop();
    }
    // logs come from the real container
    const logs = await cli(["logs", app, "-n", ns], dir);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /Application startup complete/);
    await remove(app, dir);
    assert.ok(
      w.hits.some((h) => h.path === "/shutdown"),
      "on_shutdown ran when the pod was deleted",
    );
  } finally {
    w.close();
  }
});

test("s3:// streamed by vLLM (Run:ai streamer) from the test bed's S3 server, credentials from --create-secrets; an on_startup string runs through sh -c", async () => {
  const app = "rk-s3s";
  const w = await witness();
  try {
    // the string form of a hook is a shell line (sh -c): the && and the quoting are the shell's
    const hook = `python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()' ${w.url}/from-sh && echo hook-done`;
    const { dir, pod } = await deployAndAsk(
      app,
      `model_path: ${tbEnv("VLLM_TINY_MODEL_S3")}\nstream_model: true\n${S3_POD_ENV()}\nextra_args: [--max-model-len, "512"]\non_startup: ${JSON.stringify(hook)}`,
      { env: s3Env() },
    );
    assert.ok(
      w.hits.some((h) => h.path === "/from-sh"),
      "the shell ran the hook's first command",
    );
    const init = pod.spec.initContainers.find((c: any) => c.name === "on-startup");
    assert.deepEqual(init.command.slice(0, 2), ["/bin/sh", "-c"]);
    const log = await kubectl(["-n", ns, "logs", pod.metadata.name, "-c", "on-startup"]);
    assert.match(log.stdout, /hook-done/);
    await remove(app, dir);
  } finally {
    w.close();
  }
});

test("refused before anything reaches the real node: a hook list whose element is a whole command line, and a world size vLLM would refuse", async () => {
  const cases: [string, string, RegExp][] = [
    [
      "rk-hookline",
      `on_startup: ["echo hi"]`,
      /on_startup\[0\]: "echo hi" is one list element, so it would be run as a program of that name/,
    ],
    [
      "rk-world",
      `extra_args: [--tensor-parallel-size, "2"]`,
      /--tensor-parallel-size 2 is larger than the 1 GPU the pod asks for/,
    ],
  ];
  for (const [app, extra, want] of cases) {
    const dir = workdir({
      "vllm-app.yaml": `name: ${app}\nmodel_id: tiny\nimage: ${tbEnv("VLLM_IMAGE_REGISTRY")}\n${RESOURCES}\nmodel_path: /models/none\n${extra}\n`,
    });
    const r = await cli(["deploy", "-f", "vllm-app.yaml", "-n", ns, "--timeout", "1m"], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, want);
    const left = await kubectlJson<{ items: any[] }>([
      "-n",
      ns,
      "get",
      "deployments,pods",
      "-l",
      `vllmapp.dev/app=${app}`,
    ]);
    assert.deepEqual(left.items, [], "nothing was applied");
  }
});

test("s3:// downloaded by the real rclone init container into the cache volume", async () => {
  const app = "rk-s3d";
  const { dir, pod } = await deployAndAsk(
    app,
    `model_path: ${tbEnv("VLLM_TINY_MODEL_S3")}\nstream_model: false\n${S3_POD_ENV()}\nextra_args: [--max-model-len, "512"]`,
    { env: s3Env() },
  );
  const dl = pod.status.initContainerStatuses.find((c: any) => c.name === "model-download");
  assert.equal(dl.state.terminated.exitCode, 0);
  const log = await kubectl(["-n", ns, "logs", pod.metadata.name, "-c", "model-download"]);
  assert.match(log.stdout + log.stderr, /model\.safetensors: Copied/);
  await remove(app, dir);
});

test("an MLflow run's output, resolved at deploy time and recorded on the Deployment", async () => {
  const app = "rk-mlf";
  const { dir } = await deployAndAsk(
    app,
    `runs: {backend: mlflow, tracking_uri: ${tbEnv("MLFLOW_TRACKING_URI")}}\nmodel_path:\n  run_output: {run_name: ${tbEnv("VLLM_TINY_MODEL_MLFLOW_RUN")}, output: model}\n${S3_POD_ENV()}\nextra_args: [--max-model-len, "512"]`,
    { env: s3Env() },
  );
  const d = await kubectlJson<any>(["-n", ns, "get", "deployment", app]);
  assert.match(d.metadata.annotations["vllmapp.dev/model-uri"], /^s3:\/\/.*\/model$/);
  await remove(app, dir);
});

test("a PVC holding the model (pvc://), mounted read-only", async () => {
  const app = "rk-pvc";
  const pv = `${ns}-tiny-model`;
  // a PersistentVolume on the real node's folder of the tiny model, bound to this namespace's claim only
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: pv },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadOnlyMany"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: "",
        hostPath: { path: tbEnv("VLLM_TINY_MODEL_DIR"), type: "Directory" },
        claimRef: { namespace: ns, name: "tiny-model" },
      },
    }),
  });
  try {
    await kubectl(["-n", ns, "apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "tiny-model" },
        spec: {
          accessModes: ["ReadOnlyMany"],
          storageClassName: "",
          volumeName: pv,
          resources: { requests: { storage: "1Gi" } },
        },
      }),
    });
    const { dir, pod } = await deployAndAsk(
      app,
      `model_path: pvc://tiny-model/\nenv_vars: {HF_HUB_OFFLINE: "1"}\nextra_args: [--max-model-len, "512"]`,
    );
    assert.deepEqual(pod.spec.volumes.find((v: any) => v.name === "model").persistentVolumeClaim, {
      claimName: "tiny-model",
      readOnly: true,
    });
    await remove(app, dir);
  } finally {
    await kubectl(["-n", ns, "delete", "pvc", "tiny-model", "--wait=false"], { allowFail: true });
    await kubectl(["delete", "pv", pv, "--wait=false"], { allowFail: true });
  }
});

// ---------------------------------------------------------------- real failures, each diagnosed in one line

/** deploy that must fail: exit 6, and the one-line reason vllmapp gives. */
async function deployFails(app: string, body: string, env: Record<string, string> = {}) {
  const dir = workdir({ "vllm-app.yaml": `name: ${app}\nimage: ${tbEnv("VLLM_IMAGE_REGISTRY")}\n${body}\n` });
  const r = await cli(["deploy", "-f", "vllm-app.yaml", "-n", ns, "--create-secrets", "--timeout", "4m"], dir, env);
  return { ...r, dir };
}

test("a bad flag in a command: override: vLLM's parser exits, diagnosed as a crash loop with vLLM's own last lines", async () => {
  const app = "rk-badflag";
  const r = await deployFails(
    app,
    `model_path: ${"/models/none"}\n${RESOURCES}\ncommand: [vllm, serve, /models/none, --no-such-flag-anywhere]`,
  );
  assert.equal(r.code, 6, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`error: ${app} failed: container vllm of ${app}-\\S+ keeps crashing \\(exit code \\d+`),
  );
  assert.match(r.stderr, /unrecognized arguments: --no-such-flag-anywhere/, "vLLM's own argparse error is shown");
  await remove(app, r.dir);
});

test("a Secret key that does not exist (applied from render, past deploy's preflight): the kubelet's CreateContainerConfigError, in one line", async () => {
  // deploy's preflight refuses a missing key before applying anything, so the manifests go in with kubectl,
  // as on the GitOps path, and `status` diagnoses what the kubelet reports
  const app = "rk-nokey";
  await kubectl(["-n", ns, "create", "secret", "generic", "present", "--from-literal=other=x"]);
  const dir = workdir({
    "vllm-app.yaml": `name: ${app}\nimage: ${tbEnv("VLLM_IMAGE_REGISTRY")}\nmodel_path: /models/none\n${RESOURCES}\nrequires_auth: false\npod_template:\n  spec:\n    containers:\n      - name: vllm\n        env:\n          - name: MISSING\n            valueFrom: {secretKeyRef: {name: present, key: not-there}}\n`,
  });
  const rendered = await cli(["render", "--dry-run", "-o", "yaml", "-n", ns], dir);
  assert.equal(rendered.code, 0, rendered.stderr);
  await kubectl(["-n", ns, "apply", "-f", "-"], { input: rendered.stdout });
  await waitUntil(
    "CreateContainerConfigError",
    async () => {
      const pods = await kubectlJson<{ items: any[] }>(["-n", ns, "get", "pods", "-l", `vllmapp.dev/app=${app}`]);
      return pods.items[0]?.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CreateContainerConfigError";
    },
    90_000,
    500,
  );
  const st = await cli(["status", app, "-n", ns], dir);
  assert.match(
    st.stdout + st.stderr,
    new RegExp(`container vllm of ${app}-\\S+ cannot start: couldn't find key not-there in Secret ${ns}/present`),
  );
  await kubectl(["-n", ns, "delete", "-f", "-", "--wait=false"], { input: rendered.stdout });
});

test("a memory limit vLLM cannot start in: OOM-killed by the container runtime, diagnosed as such", async () => {
  const app = "rk-oom";
  const r = await deployFails(
    app,
    `model_path: ${tbEnv("VLLM_TINY_MODEL_S3")}\n${S3_POD_ENV()}\nresources: {gpu: "A10G:1", cpu: ["250m", "2"], memory: ["300Mi", "300Mi"], shm: 64Mi}\nextra_args: [--max-model-len, "512"]`,
    s3Env(),
  );
  assert.equal(r.code, 6, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `error: ${app} failed: container vllm of ${app}-\\S+ was OOM-killed: it used more than its memory limit \\(300Mi\\)`,
    ),
  );
  await remove(app, r.dir);
});

test("a model path that does not exist: vLLM's own error, as a crash loop", async () => {
  const app = "rk-nomodel";
  const r = await deployFails(
    app,
    `model_path: /models/not-in-the-image\n${RESOURCES}\nenv_vars: {HF_HUB_OFFLINE: "1"}\nextra_args: [--max-model-len, "512"]`,
  );
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, new RegExp(`error: ${app} failed: container vllm of ${app}-\\S+ keeps crashing`));
  assert.match(r.stderr, /\/models\/not-in-the-image/, "the last lines name the missing model");
  await remove(app, r.dir);
});

test("a startup budget shorter than the start-up: the kubelet's startup probe gives up, diagnosed as such", async () => {
  const app = "rk-slow";
  const r = await deployFails(
    app,
    `model_path: ${tbEnv("VLLM_TINY_MODEL_S3")}\n${S3_POD_ENV()}\n${RESOURCES}\nstartup_timeout: 5s\nextra_args: [--max-model-len, "512"]`,
    s3Env(),
  );
  assert.equal(r.code, 6, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `error: ${app} failed: the startup probe gave up: the server did not answer /health within \\d+ s \\(startup_timeout\\)`,
    ),
  );
  await remove(app, r.dir);
});
