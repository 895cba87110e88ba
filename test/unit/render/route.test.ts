/**
 * route: — config errors, the Gateway API durations, the rendered HTTPRoute and InferencePool, and the
 * route's status as Gateways report it (recorded status snippets). Pure code.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfigText } from "../../../src/config/load.ts";
import { ConfigError } from "../../../src/errors.ts";
import { durationString, renderRoute } from "../../../src/render/route.ts";
import { routeStatusOf } from "../../../src/cluster/route.ts";

const BASE = "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\n";

function errorsOf(text: string): string[] {
  try {
    parseConfigText(text, "vllm-app.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`);
  }
  assert.fail("expected a ConfigError");
}

const appOf = (text: string) => parseConfigText(text, "vllm-app.yaml").apps[0]!.config;

test("route: a hostname with a scheme, an endpoint picker without a pool and a bad timeout are located errors", () => {
  assert.deepEqual(
    errorsOf(
      `${BASE}route:\n  gateway: gw\n  hostnames: [https://qwen.example.com]\n  endpoint_picker: {service: epp}\n  timeout: soon\n`,
    ),
    [
      '5:15 route.hostnames[0]: not a hostname; write e.g. "qwen.example.com" or "*.example.com" (no scheme, no port)',
      "6:20 route.endpoint_picker: endpoint_picker is the InferencePool's; set inference_pool: true or drop it",
      '7:12 route.timeout: not a duration; write e.g. 0 (none), "10m"',
    ],
  );
  assert.match(errorsOf(`${BASE}route: {gatway: gw}\n`).join("\n"), /route.*gatway/);
});

test("durations as Gateway API (GEP-2257) and Prometheus read them", () => {
  assert.equal(durationString(0), "0s");
  assert.equal(durationString(30), "30s");
  assert.equal(durationString(90), "1m30s");
  assert.equal(durationString(3600), "1h");
  assert.equal(durationString(0.25), "250ms");
  assert.equal(durationString(86400 * 30), "720h");
  for (const s of [0, 1, 59, 61, 3599, 3601, 1e6]) assert.match(durationString(s), /^([0-9]{1,5}(h|m|s|ms)){1,4}$/);
});

test("the route never cuts a stream by default: request timeout 0s; a set timeout is noted", () => {
  const { objects, problems } = renderRoute(appOf(`${BASE}route: {gateway: gw}\n`), "ns");
  const route = objects[0] as any;
  assert.equal(route.kind, "HTTPRoute");
  assert.deepEqual(route.spec.rules[0].timeouts, { request: "0s" });
  assert.deepEqual(route.spec.rules[0].backendRefs, [{ kind: "Service", name: "qwen3", port: 8000 }]);
  assert.deepEqual(problems, []);
  const timed = renderRoute(appOf(`${BASE}route: {gateway: gw, timeout: 10m}\n`), "ns");
  assert.deepEqual((timed.objects[0] as any).spec.rules[0].timeouts, { request: "10m" });
  assert.match(timed.problems[0]!.message, /ends any request after 10m, streamed completions included/);
});

test("inference_pool without endpoint_picker points at <app>-epp:9002 and says vllmapp does not run it", () => {
  const { objects, problems } = renderRoute(appOf(`${BASE}route: {gateway: gw, inference_pool: true}\n`), undefined);
  const pool = objects.find((o) => o.kind === "InferencePool") as any;
  assert.deepEqual(pool.spec, {
    selector: { matchLabels: { "vllmapp.dev/app": "qwen3", "app.kubernetes.io/component": "model-server" } },
    targetPorts: [{ number: 8000 }],
    endpointPickerRef: { kind: "Service", name: "qwen3-epp", port: { number: 9002 }, failureMode: "FailOpen" },
  });
  assert.deepEqual((objects[0] as any).spec.rules[0].backendRefs, [
    { group: "inference.networking.k8s.io", kind: "InferencePool", name: "qwen3" },
  ]);
  assert.match(problems[0]!.message, /endpoint picker is Service qwen3-epp:9002, which vllmapp does not run/);
});

// A route as Envoy Gateway reports it, and as a gateway reports an InferencePool it cannot route to.
const ROUTE = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "qwen3", namespace: "inference", labels: { "app.kubernetes.io/managed-by": "vllmapp" } },
  spec: {
    parentRefs: [{ name: "inference-gateway", namespace: "gateways" }],
    hostnames: ["qwen.example.com"],
    rules: [{ matches: [{ path: { value: "/" } }], backendRefs: [{ kind: "InferencePool", name: "qwen3" }] }],
  },
};
const cond = (type: string, status: string, reason: string, message = "") => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: "2026-12-01T00:00:00Z",
  observedGeneration: 1,
});
const GATEWAY = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "inference-gateway", namespace: "gateways" },
  spec: { listeners: [{ name: "https", protocol: "HTTPS", port: 443 }] },
  status: { addresses: [{ type: "IPAddress", value: "203.0.113.7" }] },
};

test("status of a route: pending until a Gateway reports, accepted, or rejected with the reason", () => {
  const pending = routeStatusOf(ROUTE as any, "inference", GATEWAY as any);
  assert.equal(pending.state, "pending");
  assert.equal(pending.gateway, "gateways/inference-gateway");
  assert.deepEqual(pending.urls, ["https://qwen.example.com"]);
  assert.match(pending.message!, /no gateway controller has reported on HTTPRoute qwen3 yet/);
  const ok = routeStatusOf(
    {
      ...ROUTE,
      status: {
        parents: [
          {
            parentRef: { name: "inference-gateway", namespace: "gateways" },
            controllerName: "gateway.envoyproxy.io/gatewayclass-controller",
            conditions: [cond("Accepted", "True", "Accepted"), cond("ResolvedRefs", "True", "ResolvedRefs")],
          },
        ],
      },
    } as any,
    "inference",
  );
  assert.equal(ok.state, "accepted");
  assert.equal(ok.message, null);
  assert.deepEqual(ok.parents[0]!.accepted, { type: "Accepted", status: "True", reason: "Accepted", message: "" });
  const bad = routeStatusOf(
    {
      ...ROUTE,
      status: {
        parents: [
          {
            parentRef: { name: "inference-gateway", namespace: "gateways" },
            conditions: [
              cond("Accepted", "True", "Accepted"),
              cond("ResolvedRefs", "False", "InvalidKind", "Unsupported backend kind InferencePool"),
            ],
          },
        ],
      },
    } as any,
    "inference",
  );
  assert.equal(bad.state, "rejected");
  assert.equal(
    bad.message,
    "Gateway gateways/inference-gateway cannot resolve the route's backend: InvalidKind (Unsupported backend kind InferencePool) (does the gateway support inference.networking.k8s.io/v1 InferencePools?)",
  );
  const noHosts = routeStatusOf(
    { ...ROUTE, spec: { ...ROUTE.spec, hostnames: undefined } } as any,
    "inference",
    GATEWAY as any,
  );
  assert.deepEqual(noHosts.urls, ["https://203.0.113.7"]);
  const notAllowed = routeStatusOf(
    {
      ...ROUTE,
      status: {
        parents: [
          {
            parentRef: { name: "inference-gateway", namespace: "gateways" },
            conditions: [
              cond("Accepted", "False", "NotAllowedByListeners", "no listener allows routes from namespace inference"),
            ],
          },
        ],
      },
    } as any,
    "inference",
  );
  assert.match(notAllowed.message!, /did not accept the route: NotAllowedByListeners/);
});
