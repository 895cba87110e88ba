// @ts-check
// The real node's Service network: kube-proxy (iptables mode) built from the same k8s.io/kubernetes module and
// version as the kubelet, and cluster DNS: CoreDNS (github.com/coredns/coredns, the version
// test/cluster/tools/coredns/go.mod pins, with only the plugins used here) on the host, listening on the pod
// bridge address 198.19.0.1:53, serving cluster.local from the test bed's API server. So a pod on the real
// node reaches a Service by its ClusterIP and by `<svc>.<ns>.svc.cluster.local`, as on any cluster.
//
//   const bins = ensureClusterNetBinaries({ log, after });    cached builds: CoreDNS at once, kube-proxy after `after`
//   await startClusterNet(ctx, { netBins: await bins, pki, server, kubectl })   kube-proxy + CoreDNS, both answering
//   await stopClusterNet(state, { run, stopProcess, log })   both stopped, kube-proxy's iptables rules removed
//
// The Service range is SERVICE_CIDR (198.19.128.0/20, a part of the RFC 2544 benchmarking range that overlaps
// neither Docker's pool 198.18.0.0/16 nor the pod subnet 198.19.0.0/24): kube-proxy turns a ClusterIP into
// iptables rules, so a private range would send traffic to a private address. CoreDNS forwards names outside
// cluster.local to the host's nameservers (/etc/resolv.conf) except those in a private range, which the test
// bed never contacts: where the host has only such nameservers (these machines), an outside name fails at once.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cacheRoot, issueCert, readVersions, run, which, writeKubeconfig, TestbedError } from "./lib.mjs";
import { REAL_NODE } from "./node.mjs";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLUSTER_DIR = path.join(REPO_ROOT, "test/cluster");
const COREDNS_TOOLS = path.join(CLUSTER_DIR, "tools/coredns");
const COREDNS_MODULE = "github.com/coredns/coredns";

/** The Service ClusterIP range of both API servers, and the `kubernetes` Service's IP (in the API server's certificate). */
export const SERVICE_CIDR = "198.19.128.0/20";
export const KUBERNETES_SERVICE_IP = "198.19.128.1";
export const CLUSTER_DOMAIN = "cluster.local";
/** Where pods send DNS queries (the kubelet's clusterDNS): CoreDNS on the pod bridge address, REAL_NODE.ip. */
export const CLUSTER_DNS_IP = "198.19.0.1";

/** The pinned CoreDNS version (go.mod's require line). */
export function corednsVersion() {
  const m = /^\s*(?:require\s+)?github\.com\/coredns\/coredns (v\S+)/m.exec(
    fs.readFileSync(path.join(COREDNS_TOOLS, "go.mod"), "utf8"),
  );
  if (!m?.[1]) throw new TestbedError(`test/cluster/tools/coredns/go.mod does not require ${COREDNS_MODULE}`);
  return m[1];
}

function corednsDir() {
  const h = crypto.createHash("sha256");
  for (const f of ["go.mod", "go.sum", "main.go"]) h.update(f).update(fs.readFileSync(path.join(COREDNS_TOOLS, f)));
  return path.join(cacheRoot(), `coredns-${corednsVersion()}-${h.digest("hex").slice(0, 16)}`);
}

/** @typedef {(msg: string) => void} Log */
/** @typedef {(cmd: string, args: string[], opts?: object) => Promise<{ code: number | null, stdout: string, stderr: string }>} Run */

/** @param {Log} log */
async function ensureCoredns(log) {
  const dir = corednsDir();
  const bin = path.join(dir, "coredns");
  if (fs.existsSync(path.join(dir, ".complete"))) return bin;
  if (!which("go")) throw new TestbedError("go is needed to build CoreDNS (test/cluster/tools/coredns)");
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const t0 = Date.now();
  log(`building CoreDNS ${corednsVersion()} from its Go module (test/cluster/tools/coredns)`);
  try {
    await run("go", ["build", "-trimpath", "-ldflags", "-s -w", "-o", path.join(tmp, "coredns"), "."], {
      cwd: COREDNS_TOOLS,
      env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "-buildvcs=false" },
      timeoutMs: 1_800_000,
    });
    const v = await run(path.join(tmp, "coredns"), ["-version"]);
    if (!v.stdout.includes(`CoreDNS-${corednsVersion().slice(1)}`))
      throw new TestbedError(`the built CoreDNS says ${v.stdout.trim()}, not ${corednsVersion()}`);
    fs.writeFileSync(path.join(tmp, ".complete"), "");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  log(`CoreDNS built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return bin;
}

/**
 * kube-proxy: build-bins.sh's `kube-proxy` component (the kubelet's module and version, its own process).
 * Started only once `after` settles (the bring-up passes its control-plane and kubelet build): kube-proxy
 * compiles the same Kubernetes packages, so after them the Go build cache makes it a link of about a minute,
 * where a build alongside them compiles everything twice at once on the same cores.
 * @param {Log} log @param {Promise<unknown>} after
 */
async function ensureKubeProxy(log, after) {
  const dir = path.join(
    cacheRoot(),
    `kube-proxy-${/** @type {Record<string, string>} */ (readVersions()).K8S_VERSION}`,
  );
  const bin = path.join(dir, "kube-proxy");
  if (fs.existsSync(path.join(dir, ".complete"))) return bin;
  await after; // failed or aborted: no build (the bring-up reports the failure and stops)
  if (fs.existsSync(path.join(dir, ".complete"))) return bin;
  const t0 = Date.now();
  log(`building kube-proxy into ${dir}`);
  const child = spawn("bash", [path.join(CLUSTER_DIR, "build-bins.sh"), "kube-proxy"], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  child.stderr.on("data", (d) => process.stderr.write(d));
  const code = await new Promise((r) => child.on("close", r));
  if (code !== 0) throw new TestbedError(`building kube-proxy failed (build-bins.sh kube-proxy exit ${code})`);
  log(`kube-proxy built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return bin;
}

/**
 * Both binaries, built when missing: CoreDNS at once, kube-proxy once `after` settles (ensureKubeProxy).
 * @param {{ log: Log, after?: Promise<unknown> }} opts
 * @returns {Promise<{ kubeProxy: string, coredns: string }>}
 */
export async function ensureClusterNetBinaries({ log, after = Promise.resolve() }) {
  const [kubeProxy, coredns] = await Promise.all([ensureKubeProxy(log, after), ensureCoredns(log)]);
  return { kubeProxy, coredns };
}

const PRIVATE = [/^10\./, /^172\.(1[6-9]|2\d|3[01])\./, /^192\.168\./];

/** The host's IPv4 nameservers the test bed may contact: none in a private range, not CoreDNS itself. */
export function upstreamNameservers(resolvConf = "/etc/resolv.conf") {
  let text = "";
  try {
    text = fs.readFileSync(resolvConf, "utf8");
  } catch {}
  return [...text.matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)]
    .map((m) => String(m[1]))
    .filter((ip) => !PRIVATE.some((re) => re.test(ip)) && ip !== CLUSTER_DNS_IP);
}

/** @param {{ kubeconfig: string, healthPort: number, readyPort: number, upstreams: string[] }} o */
function corefile({ kubeconfig, healthPort, readyPort, upstreams }) {
  return `.:53 {
    bind ${CLUSTER_DNS_IP}
    errors
    health 127.0.0.1:${healthPort}
    ready 127.0.0.1:${readyPort}
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} coredns
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
${upstreams.length ? `    forward . ${upstreams.join(" ")}\n` : ""}    cache 5
}
`;
}

/** @param {{ kubeconfig: string, healthzPort: number, metricsPort: number }} o */
function kubeProxyConfig({ kubeconfig, healthzPort, metricsPort }) {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${JSON.stringify(kubeconfig)}}
hostnameOverride: ${REAL_NODE.name}
bindAddress: ${REAL_NODE.ip}
healthzBindAddress: 127.0.0.1:${healthzPort}
metricsBindAddress: 127.0.0.1:${metricsPort}
mode: iptables
clusterCIDR: ${REAL_NODE.subnet}
detectLocalMode: ClusterCIDR
# NodePorts on the pod bridge address only: none on loopback (no route_localnet), none on the host's interfaces
nodePortAddresses: ["${REAL_NODE.ip}/32"]
# the host's conntrack settings are left as they are
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
# Service traffic leaves with the bridge address: the reply comes back through the host (no reliance on
# br_netfilter for pod-to-pod replies), and kube-proxy's KUBE-FORWARD accepts it past dockerd's FORWARD DROP
iptables: {masqueradeAll: true, syncPeriod: 30s, minSyncPeriod: 0s}
`;
}

const CLUSTER_ROLE = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "vllmapp-testbed:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "vllmapp-testbed:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "vllmapp-testbed:coredns"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "vllmapp-testbed:coredns"}
`;

/**
 * A client certificate of the test bed's CA for `cn` and a kubeconfig with it.
 * @param {string} dir @param {string} pki @param {string} server @param {string} cn @param {string} context
 */
async function clientKubeconfig(dir, pki, server, cn, context) {
  const name = cn.replace(/[^a-z0-9-]/gi, "-");
  const { cert, key } = await issueCert({ dir, pki, name, subject: `/CN=${cn}` });
  const file = path.join(dir, `${name}.kubeconfig`);
  writeKubeconfig(file, server, pki, { user: cn, cert, key, context });
  return file;
}

/**
 * kube-proxy and CoreDNS for the real node (after it is Ready). Resolves once kube-proxy has synced its rules
 * (/healthz 200) and CoreDNS has listed the cluster (/ready 200), with the env they add.
 * @param {any} ctx the bring-up's context (lib.mjs's Ctx)
 * @param {{ netBins: { kubeProxy: string, coredns: string }, pki: string, server: string,
 *   kubectl: (args: string[], opts?: { input?: string }) => Promise<unknown> }} opts
 */
export async function startClusterNet(ctx, { netBins: bins, pki, server, kubectl }) {
  const dir = path.join(ctx.workDir, "cluster-net");
  fs.mkdirSync(dir, { recursive: true });
  ctx.state.clusterNet = { kubeProxy: bins.kubeProxy, dir };
  ctx.save();
  const [proxyKc, dnsKc] = await Promise.all([
    clientKubeconfig(dir, pki, server, "system:kube-proxy", "kube-proxy"),
    clientKubeconfig(dir, pki, server, "vllmapp-testbed:coredns", "coredns"),
  ]);
  await kubectl(["apply", "-f", "-"], { input: CLUSTER_ROLE });
  const [healthzPort, metricsPort, healthPort, readyPort] = await Promise.all(
    Array.from({ length: 4 }, () => ctx.freePort()),
  );
  const proxyCfg = path.join(dir, "kube-proxy.yaml");
  fs.writeFileSync(proxyCfg, kubeProxyConfig({ kubeconfig: proxyKc, healthzPort, metricsPort }));
  ctx.state.clusterNet.config = proxyCfg;
  ctx.save();
  // iptables(-restore) are in /usr/sbin, which a non-login PATH may lack
  const env = { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` };
  const proxy = ctx.spawn("kube-proxy", bins.kubeProxy, [`--config=${proxyCfg}`, "--v=1"], { env });
  const upstreams = upstreamNameservers();
  const cf = path.join(dir, "Corefile");
  fs.writeFileSync(cf, corefile({ kubeconfig: dnsKc, healthPort, readyPort, upstreams }));
  const dns = ctx.spawn("coredns", bins.coredns, ["-conf", cf]);
  await Promise.all([
    ctx.waitForHttp("kube-proxy /healthz", `http://127.0.0.1:${healthzPort}/healthz`, {
      proc: proxy,
      timeoutMs: 60_000,
    }),
    ctx.waitForHttp("CoreDNS /ready", `http://127.0.0.1:${readyPort}/ready`, { proc: dns, timeoutMs: 60_000 }),
  ]);
  ctx.log(
    `kube-proxy (iptables) and CoreDNS ${corednsVersion()} on ${CLUSTER_DNS_IP}:53 up: Services ${SERVICE_CIDR}, ` +
      `${CLUSTER_DOMAIN}, ${upstreams.length ? `other names forwarded to ${upstreams.join(", ")}` : "other names not forwarded (the host has only private nameservers)"}`,
  );
  return { VLLMAPP_CLUSTER_DNS: CLUSTER_DNS_IP, VLLMAPP_SERVICE_CIDR: SERVICE_CIDR };
}

/**
 * Stop CoreDNS and kube-proxy, then remove every iptables chain and rule kube-proxy made (`kube-proxy --cleanup`,
 * which the test bed's teardown and a bring-up after a killed run both call). Returns the problems.
 * @param {any} state a test bed's state (lib.mjs), or null
 * @param {{ run: Run, stopProcess: (p: any, o: { timeoutMs: number }) => Promise<unknown>, log?: Log }} helpers
 * @returns {Promise<string[]>}
 */
export async function stopClusterNet(state, { run: runCmd, stopProcess, log }) {
  const net = state?.clusterNet;
  if (!net) return [];
  /** @type {string[]} */
  const errors = [];
  for (const name of ["coredns", "kube-proxy"]) {
    const p = (state.processes || []).find((/** @type {{ name: string }} */ x) => x.name === name);
    try {
      if (p) await stopProcess(p, { timeoutMs: 10_000 });
    } catch (e) {
      errors.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (net.kubeProxy && fs.existsSync(net.kubeProxy)) {
    const args = ["--cleanup", ...(net.config && fs.existsSync(net.config) ? [`--config=${net.config}`] : [])];
    const env = { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` };
    const r = await runCmd(net.kubeProxy, args, { env, allowFail: true, timeoutMs: 60_000 });
    if (r.code !== 0) errors.push(`kube-proxy --cleanup exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(-500)}`);
  }
  log?.(`cluster network stopped${errors.length ? ` (${errors.length} problem(s))` : ""}`);
  return errors;
}
