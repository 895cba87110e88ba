/**
 * The start-up timeline on the test bed's REAL node with the REAL vLLM, its image pulled from the test bed's
 * OCI registry (VLLM_IMAGE_REGISTRY): the first start pulls real bytes (every layer of the registry's manifest
 * lands in the node's content store; the kubelet's Pulled event gives the image's size), the model comes
 * through the real rclone init container from S3, vLLM's own log gives the
 * loading and initializing phases. The app is started twice (a redeploy with a changed env var): `status
 * --timeline` lists both starts, the first with its pull. And an image the registry lacks ends `deploy` with
 * the kubelet's real ImagePullBackOff.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { cliWithTimeout, workdir } from "../support/cli.ts";
import { kubectlJson, tbEnv, waitUntil, withNamespace } from "../support/testbed.ts";
import { s3Env } from "../support/vllm.ts";
import { run } from "../testbed/lib.mjs";
import { forgetRegistryImages, registryLayers } from "../testbed/registry.mjs";

let ns: string;
let cleanup: () => Promise<void>;
before(async () => ({ ns, cleanup } = await withNamespace("tline")));
after(() => cleanup?.());

const RESOURCES = `resources: {gpu: "A10G:1", cpu: ["250m", "2"], memory: ["1Gi", "6Gi"]}`;

const cli = cliWithTimeout(1_200_000);

function appFile(app: string, image: string, restart: string): string {
  return `name: ${app}
model_id: tiny-${app}
image: ${image}
${RESOURCES}
startup_timeout: 8m
model_path: ${tbEnv("VLLM_TINY_MODEL_S3")}
stream_model: false
secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
env_vars:
  AWS_ENDPOINT_URL: ${tbEnv("POD_AWS_ENDPOINT_URL")}
  AWS_DEFAULT_REGION: ${tbEnv("AWS_DEFAULT_REGION")}
  START: "${restart}"
extra_args: [--max-model-len, "512"]
`;
}

const phases = (entries: { phase: string }[]) => entries.map((e) => e.phase);

const app = "tl-real";
/** what the first start left for the second test: its status, and its pull */
let firstStart: { s1: any; pull: any } | undefined;

// two tests, each within the per-test timeout: the first start pulls and unpacks 6.1 GB (about a minute on 2 cores)
test("the first start's timeline: the image pulled from the registry with its bytes, the download, vLLM's phases", async () => {
  const image = tbEnv("VLLM_IMAGE_REGISTRY");
  assert.match(image, /^127\.0\.0\.1:\d+\/vllmapp\/vllm-cpu:/);
  // the node's containerd keeps its images across runs (and an earlier test may have pulled this one): make it
  // forget the registry's copy, so this start fetches the layers
  const state = JSON.parse(readFileSync(tbEnv("VLLMAPP_TESTBED_STATE"), "utf8"));
  const sock: string = state.node.containerdSock;
  await forgetRegistryImages({ run }, sock);
  const layers: { digest: string; size: number }[] = await registryLayers(image);
  const content = async () =>
    new Set(
      (await run("ctr", ["--address", sock, "--namespace", "k8s.io", "content", "ls", "-q"])).stdout
        .split("\n")
        .map((l: string) => l.trim()),
    );
  const had = await content();
  assert.deepEqual(
    layers.filter((l) => had.has(l.digest)),
    [],
    "the node has none of the image's layers before the deploy",
  );

  const dir = workdir({ "vllm-app.yaml": appFile(app, image, "1") });
  const first = await cli(["deploy", "-n", ns, "--create-secrets"], dir, s3Env());
  assert.equal(first.code, 0, `deploy exited ${first.code}:\n${first.stderr}`);
  // deploy's summary: the start it waited for, one line per phase
  assert.match(first.stdout, /^  start now \(tl-real-[a-z0-9]+-[a-z0-9]+#0\):$/m);
  assert.match(
    first.stdout,
    /^    image-pull +\d+\.\d s  \d+(\.\d)? [MG]B, .*127\.0\.0\.1:\d+\/vllmapp\/vllm-cpu:\S+ \d+(\.\d)? [MG]B in \d+(\.\d)? s/m,
  );
  assert.match(first.stdout, /^  start before:\n    \(none recorded\)$/m);

  const s1 = JSON.parse((await cli(["status", app, "-n", ns, "--json"], dir)).stdout).apps[0];
  const pull = s1.timeline.current.find((e: any) => e.phase === "image-pull");
  assert.ok(pull, JSON.stringify(s1.timeline));
  // the kubelet's own numbers: the image's size as the Pulled event says it
  const events = await kubectlJson<{ items: any[] }>(["-n", ns, "get", "events", "--field-selector", "reason=Pulled"]);
  const sizes = events.items
    .map((e) => /Image size: (\d+) bytes/.exec(e.message)?.[1])
    .filter(Boolean)
    .map(Number);
  assert.ok(sizes.length >= 1 && sizes.every((n) => n > 0), events.items.map((e) => e.message).join("\n"));
  assert.equal(
    pull.bytes,
    sizes.reduce((a, b) => a + b, 0),
  );
  assert.ok(
    pull.bytes >= layers.reduce((n, l) => n + l.size, 0),
    `the image's size (${pull.bytes}) covers its compressed layers`,
  );
  // the bytes really came: every layer of the registry's manifest is in the node's content store now
  const after = await content();
  assert.deepEqual(
    layers.filter((l) => !after.has(l.digest)),
    [],
    "the kubelet's pull fetched every layer from the registry",
  );
  assert.ok(pull.seconds > 0);
  assert.deepEqual(phases(s1.timeline.current), [
    "scheduling",
    "image-pull",
    "download",
    "loading",
    "initializing",
    "ready",
  ]);
  assert.deepEqual(s1.timeline.previous, []);
  const ready1 = s1.timeline.current.at(-1);
  assert.ok(ready1.seconds >= pull.seconds, "ready is the whole start");

  firstStart = { s1, pull };
});

test("status --timeline after a second start lists both starts, the first one's image pull kept in the history", async () => {
  assert.ok(firstStart, "the first start's test ran");
  const { s1, pull } = firstStart;
  // the second start: a changed env var rolls out a new pod; the image is on the node now
  const firstId = s1.timeline.currentId;
  const image = tbEnv("VLLM_IMAGE_REGISTRY");
  const dir2 = workdir({ "vllm-app.yaml": appFile(app, image, "2") });
  const second = await cli(["deploy", "-n", ns], dir2, s3Env());
  assert.equal(second.code, 0, second.stderr);
  await waitUntil(
    "the first pod gone",
    async () =>
      (await kubectlJson<{ items: any[] }>(["-n", ns, "get", "pods", "-l", `vllmapp.dev/app=${app}`])).items.length ===
      1,
    120_000,
    500,
  );

  const text = await cli(["status", app, "-n", ns, "--timeline"], dir2);
  assert.equal(text.code, 0, text.stderr);
  const s2 = JSON.parse((await cli(["status", app, "-n", ns, "--json"], dir2)).stdout).apps[0];
  assert.notEqual(s2.timeline.currentId, firstId);
  assert.equal(s2.timeline.previousId, firstId);
  assert.deepEqual(
    phases(s2.timeline.current),
    ["scheduling", "download", "loading", "initializing", "ready"],
    "no pull: the image was on the node",
  );
  assert.deepEqual(phases(s2.timeline.previous), phases(s1.timeline.current));
  assert.equal(s2.timeline.previous.find((e: any) => e.phase === "image-pull").bytes, pull.bytes);
  // the text: both starts, one line per phase with its seconds
  const [now, before] = text.stdout.split(/^  start before /m);
  assert.match(now!, new RegExp(`^  start now \\(${s2.timeline.currentId}\\):$`, "m"));
  for (const p of phases(s2.timeline.current)) assert.match(now!, new RegExp(`^    ${p} +\\d+\\.\\d s`, "m"));
  assert.match(before!, new RegExp(`^\\(${firstId.replace(/[#]/g, "\\$&")}\\):$`, "m"));
  for (const p of phases(s1.timeline.current)) assert.match(before!, new RegExp(`^    ${p} +\\d+\\.\\d s`, "m"));

  // the history is kept with the app: two starts, phases with seconds and bytes only
  const cm = await kubectlJson<any>(["-n", ns, "get", "configmap", `${app}-starts`]);
  const history = JSON.parse(cm.data["starts.json"]);
  assert.deepEqual(
    history.map((r: any) => r.id),
    [s2.timeline.currentId, firstId],
  );
  assert.ok(!cm.data["starts.json"].includes(tbEnv("AWS_SECRET_ACCESS_KEY")));
  assert.ok(history.every((r: any) => r.ready && r.serverSeconds > 0));

  const d = await cli(["delete", app, "-n", ns], dir2);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, new RegExp(`^  deleted  ConfigMap/${app}-starts$`, "m"));
});

test("an image the registry lacks: deploy stops with the kubelet's real ImagePullBackOff", async () => {
  const app = "tl-nopull";
  const missing = `${tbEnv("VLLMAPP_TEST_REGISTRY")}/vllmapp/no-such-image:0.0.1`;
  const dir = workdir({
    "vllm-app.yaml": `name: ${app}\nmodel_id: tiny\nimage: ${missing}\n${RESOURCES}\nmodel_path: /models/none\n`,
  });
  const r = await cli(["deploy", "-n", ns, "--timeout", "4m"], dir);
  assert.equal(r.code, 6, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `cannot pull image ${missing.replace(/[.]/g, "\\.")}: (ErrImagePull|ImagePullBackOff) \\(.*(not found|manifest unknown)`,
    ),
  );
  assert.match(r.stderr, /check the image name and tag/);
  const d = await cli(["delete", app, "-n", ns], dir);
  assert.equal(d.code, 0, d.stderr);
});
