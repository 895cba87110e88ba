/**
 * route: against the test bed's API server with the real CRDs (test/fixtures/crds): a missing CRD stops
 * the deploy naming how to install it; a Gateway that takes no routes from the app's namespace is a
 * warning that says the fix; the HTTPRoute (timeout 0s) and InferencePool land; `status` shows what the
 * Gateway reported (written here into the route's status, as a gateway controller would) and the URL;
 * `delete` removes them all.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { JSON_KEYS, ROOT, workdir } from "../support/cli.ts";
import { cliIn, kubectl, kubectlJson, withNamespaceFreed } from "./kubernetes-support.ts";
import { kubectlSync, waitOutTerminatingCrds } from "./crd-fixtures.ts";

const CRDS = path.join(ROOT, "test", "fixtures", "crds");
const POOL_CRD = path.join(CRDS, "inference.networking.k8s.io_inferencepools.yaml");
const OTHER_CRDS = ["gateway.networking.k8s.io_httproutes.yaml", "gateway.networking.k8s.io_gateways.yaml"].map((f) =>
  path.join(CRDS, f),
);

let ns: string;
let gwNs: string;
let cleanup: () => Promise<void>;
let cleanupGw: () => Promise<void>;
let dir: string;
let cli: ReturnType<typeof cliIn>;

const appYaml = (extra: string) => `name: routed
model_path: /models/tiny
resources: {cpu: "1", memory: 2Gi}
route:
  gateway: inference-gateway
  namespace: ${gwNs}
  hostnames: [routed.example.com]
${extra}`;

async function applyCrds(files: string[]) {
  waitOutTerminatingCrds(kubectlSync, files);
  await kubectl(["apply", "--server-side", ...files.flatMap((f) => ["-f", f])]);
  await kubectl(["wait", "--for=condition=Established", ...files.flatMap((f) => ["-f", f]), "--timeout=60s"]);
}

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("vk-route"));
  ({ ns: gwNs, cleanup: cleanupGw } = await withNamespaceFreed("vk-gw"));
  await applyCrds(OTHER_CRDS);
  dir = workdir();
  cli = cliIn(dir);
});

after(async () => {
  await cleanup();
  await cleanupGw();
  await kubectl(
    ["delete", ...[POOL_CRD, ...OTHER_CRDS].flatMap((f) => ["-f", f]), "--ignore-not-found", "--wait=false"],
    { allowFail: true },
  );
});

function write(extra: string) {
  writeFileSync(path.join(dir, "vllm-app.yaml"), appYaml(extra));
}

test("an InferencePool without its CRD stops the deploy before anything is written, naming how to install it", async () => {
  await kubectl(["delete", "-f", POOL_CRD, "--ignore-not-found", "--wait=true"]);
  write("  inference_pool: true\n  endpoint_picker: {service: routed-epp}\n");
  const r = cli(["deploy", "-n", ns]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    /^ {2}- the cluster serves no InferencePool \(inference\.networking\.k8s\.io\/v1\): the CRD inferencepools\.inference\.networking\.k8s\.io is not installed$/m,
  );
  assert.match(
    r.stderr,
    /^ {2}hint: install the Inference Extension's InferencePool CRD \(kubectl apply -f https:\/\/github\.com\/kubernetes-sigs\/gateway-api-inference-extension\/releases\/download\/v1\.6\.0\/manifests\.yaml\), or set route\.inference_pool: false$/m,
  );
  assert.equal(
    (await kubectl(["-n", ns, "get", "deployment", "routed"], { allowFail: true })).code,
    1,
    "nothing was applied",
  );
});

test("a Gateway closed to the app's namespace is a warning with the fix; the objects land", async () => {
  await applyCrds([POOL_CRD]);
  await kubectl(["-n", gwNs, "apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "inference-gateway" },
      spec: {
        gatewayClassName: "envoy",
        listeners: [{ name: "https", protocol: "HTTPS", port: 443, tls: { certificateRefs: [{ name: "cert" }] } }],
      },
    }),
  });
  write("  inference_pool: true\n  endpoint_picker: {service: routed-epp}\n");
  const r = cli(["deploy", "-n", ns, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^warning: routed: Gateway ${gwNs}/inference-gateway takes routes only from its own namespace \\(allowedRoutes\\.namespaces\\.from: Same\\), so the HTTPRoute in ${ns} will not attach`,
      "m",
    ),
  );
  assert.match(
    r.stderr,
    new RegExp(`^warning: routed: the InferencePool's endpoint picker Service ${ns}/routed-epp does not exist`, "m"),
  );
  const changes = JSON.parse(r.stdout).apps[0].changes.map((c: any) => `${c.kind}/${c.name}`);
  for (const o of ["HTTPRoute/routed", "InferencePool/routed"]) assert.ok(changes.includes(o), `${o} in ${changes}`);
  const route = await kubectlJson(["-n", ns, "get", "httproute", "routed"]);
  assert.deepEqual(route.spec.rules[0].timeouts, { request: "0s" }, "the gateway never cuts a stream");
  assert.deepEqual(route.spec.rules[0].backendRefs[0], {
    group: "inference.networking.k8s.io",
    kind: "InferencePool",
    name: "routed",
    weight: 1,
  });
  const pool = await kubectlJson(["-n", ns, "get", "inferencepool", "routed"]);
  assert.deepEqual(pool.spec.targetPorts, [{ number: 8000 }]);
});

test("status shows the route: pending until the Gateway reports, then its conditions and the URL", async () => {
  const pending = JSON.parse(cli(["status", "routed", "-n", ns, "--json"]).stdout).apps[0];
  assert.deepEqual(Object.keys(pending).sort(), JSON_KEYS.appStatus);
  assert.equal(pending.route.state, "pending");
  assert.deepEqual(pending.route.urls, ["https://routed.example.com"]);
  const parentRef = { group: "gateway.networking.k8s.io", kind: "Gateway", name: "inference-gateway", namespace: gwNs };
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    observedGeneration: 1,
  });
  await kubectl([
    "-n",
    ns,
    "patch",
    "httproute",
    "routed",
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({
      status: {
        parents: [
          {
            parentRef,
            controllerName: "example.com/gateway-controller",
            conditions: [
              cond("Accepted", "False", "NotAllowedByListeners", "no listener allows routes from this namespace"),
              cond("ResolvedRefs", "True", "ResolvedRefs", ""),
            ],
          },
        ],
      },
    }),
  ]);
  const text = cli(["status", "routed", "-n", ns]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(`^ {2}route +HTTPRoute/routed on Gateway ${gwNs}/inference-gateway: rejected$`, "m"),
  );
  assert.match(
    text.stdout,
    new RegExp(
      `^ +${gwNs}/inference-gateway: Accepted=False \\(NotAllowedByListeners\\), ResolvedRefs=True \\(ResolvedRefs\\)$`,
      "m",
    ),
  );
  assert.match(
    text.stdout,
    /did not accept the route: NotAllowedByListeners \(no listener allows routes from this namespace\)$/m,
  );
  assert.match(text.stdout, /^ {2}url +https:\/\/routed\.example\.com$/m);
  await kubectl([
    "-n",
    ns,
    "patch",
    "httproute",
    "routed",
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({
      status: {
        parents: [
          {
            parentRef,
            controllerName: "example.com/gateway-controller",
            conditions: [cond("Accepted", "True", "Accepted", ""), cond("ResolvedRefs", "True", "ResolvedRefs", "")],
          },
        ],
      },
    }),
  ]);
  const ok = JSON.parse(cli(["status", "routed", "-n", ns, "--json"]).stdout).apps[0].route;
  assert.equal(ok.state, "accepted");
  assert.equal(ok.message, null);
  assert.equal(ok.parents[0].controller, "example.com/gateway-controller");
});

test("delete removes the route's objects", async () => {
  const d = cli(["delete", "routed", "-n", ns, "--json"]);
  assert.equal(d.code, 0, d.stderr);
  const deleted: string[] = JSON.parse(d.stdout).apps[0].deleted;
  for (const o of ["HTTPRoute/routed", "InferencePool/routed"]) assert.ok(deleted.includes(o), `${o} in ${deleted}`);
  const left = await kubectl(["-n", ns, "get", "httproutes,inferencepools", "-o", "name"]);
  assert.equal(left.stdout.trim(), "");
});
