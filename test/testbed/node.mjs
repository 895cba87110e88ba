// The test bed's one real node: a kubelet of the control plane's Kubernetes version (built from the same
// Go module), its own containerd (Debian's package, a private instance: own socket, state and config;
// dockerd's containerd is never touched), CNI plugins from Debian on a bridge with 198.19.0.0/24, a
// locally built pause image, and the test bed's images imported into that containerd. The node carries
// the labels of an NVIDIA A10G GPU node (a type no kwok node has) and advertises 2 fake `nvidia.com/gpu`
// through the documented extended-resource way (a PATCH of the Node's status).
//
//   createBridge(ctx)                          the bridge 198.19.0.1/24 (before the services bind to it)
//   startRealNode(ctx, {bins, pki, server, images})  containerd, images, kubelet; resolves with the env
//   importImages(ctx, images)                  [{tag, archive?}] into the node's containerd, when missing
//   stopRealNode(state, helpers)               everything above, in reverse; the machine as it was
//
// Facts this rests on (measured on these machines): ../shared/FIELD-NOTES.md §"A real kubelet node".
// Only one real node can run per machine (the device-plugin directory of a kubelet is fixed): a bridge
// that already exists means another test bed's node is running, and the bring-up fails saying so.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { issueCert, writeKubeconfig } from "./lib.mjs";
import { SERVICE_CIDR } from "./cluster-net.mjs";

/**
 * @typedef {import("./lib.mjs").TestbedContext} TestbedContext
 * @typedef {import("./lib.mjs").TestbedState} TestbedState
 * @typedef {import("./lib.mjs").ClusterHandle} ClusterHandle
 * @typedef {import("./lib.mjs").NodeState} NodeState
 * @typedef {typeof import("./lib.mjs").run} Run
 * @typedef {{ tag: string, archive?: string, dockerEnv?: NodeJS.ProcessEnv }} NodeImage  a docker-archive, or else `docker save`d
 */

export const REAL_NODE = Object.freeze({
  name: "vllmapp-real-0",
  bridge: "vllmk0",
  subnet: "198.19.0.0/24",
  ip: "198.19.0.1",
  /** the GPU type string vllm-app.yaml uses for it, and the GFD product label the node carries */
  gpuType: "A10G",
  gpuProduct: "NVIDIA-A10G",
  gpuMemoryMiB: 23028,
  gpus: 2,
  kubeletPort: 10250,
});

const CNI_BIN = "/usr/lib/cni";
const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";
// Host paths a kubelet and CNI use whatever their configuration says; removed at teardown when we made them.
const FIXED_HOST_PATHS = ["/var/lib/kubelet", "/var/log/containers", "/var/lib/cni", "/var/log/pods"];

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Short per-work-dir path for sockets and runtime state (unix socket paths are limited to 108 bytes). */
function runDir(/** @type {string} */ workDir) {
  return `/run/vllmapp-node-${crypto.createHash("sha256").update(workDir).digest("hex").slice(0, 10)}`;
}

/** containerd's root (content store, snapshots) is kept in the cache: a 6 GB image is imported once. */
function containerdRoot(/** @type {string} */ cacheRoot) {
  return path.join(cacheRoot, "node-containerd");
}

/** @param {TestbedContext} ctx @param {string} name */
function linkExists(ctx, name) {
  return ctx.run("ip", ["link", "show", name], { allowFail: true }).then((r) => r.code === 0);
}

/**
 * The kernel's index of a network interface, or undefined when it does not exist.
 * @param {string | undefined} name
 */
function bridgeIfindex(name) {
  try {
    return Number(fs.readFileSync(`/sys/class/net/${name}/ifindex`, "utf8").trim());
  } catch {
    return undefined;
  }
}

/** The pod bridge. Made before anything binds to 198.19.0.1 and before the kubelet (its --node-ip must be a host address). */
export async function createBridge(/** @type {TestbedContext} */ ctx) {
  const { bridge, ip } = REAL_NODE;
  if (process.getuid?.() !== 0) throw new ctx.Error("the real node needs root (bridge, containerd, kubelet)");
  if (await linkExists(ctx, bridge)) {
    throw new ctx.Error(
      `the network bridge ${bridge} already exists: another test bed's real node is running on this machine (only one can); ` +
        `stop it with npm run testbed:down, or remove a stale bridge with: ip link delete ${bridge}`,
    );
  }
  ctx.state.node = { ...(ctx.state.node || {}), bridge, bridgeCreated: true };
  ctx.save();
  await ctx.run("ip", ["link", "add", bridge, "type", "bridge"]);
  // teardown deletes the bridge only while it is still this one (a later test bed may have made its own)
  ctx.state.node.bridgeIfindex = bridgeIfindex(bridge);
  ctx.save();
  await ctx.run("ip", ["addr", "add", `${ip}/24`, "dev", bridge]);
  await ctx.run("ip", ["link", "set", bridge, "up"]);
  ctx.log(`bridge ${bridge} ${ip}/24 up`);
}

/** @param {{ root: string, state: string, sock: string, nodeDir: string }} paths */
function containerdConfig({ root, state, sock, nodeDir }) {
  return `version = 2
root = ${JSON.stringify(root)}
state = ${JSON.stringify(state)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing"]
[grpc]
  address = ${JSON.stringify(sock)}
[ttrpc]
  address = ${JSON.stringify(sock + ".ttrpc")}
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = ${JSON.stringify(path.join(state, "opt"))}
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "${PAUSE_IMAGE}"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    disable_tcp_service = true
    enable_selinux = false
    netns_mounts_under_state_dir = true
    tolerate_missing_hugetlb_controller = true
    disable_hugetlb_controller = true
    # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails ("can't get final child's PID from pipe")
    restrict_oom_score_adj = true
    max_container_log_line_size = 16384
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = ${JSON.stringify(path.join(state, "runc"))}
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "${CNI_BIN}"
      conf_dir = ${JSON.stringify(path.join(nodeDir, "cni/net.d"))}
      max_conf_num = 1
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = ${JSON.stringify(path.join(nodeDir, "certs.d"))}
`;
}

function cniConfig(/** @type {string} */ nodeDir) {
  const { bridge, subnet, ip } = REAL_NODE;
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "vllmapp-real",
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            dataDir: path.join(nodeDir, "cni/ipam"),
            ranges: [[{ subnet, gateway: ip, rangeStart: "198.19.0.10", rangeEnd: "198.19.0.250" }]],
            // no default route: a pod reaches the bridge's subnet and the Services (kube-proxy, cluster-net.mjs)
            routes: [{ dst: SERVICE_CIDR, gw: ip }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/** @param {{ nodeDir: string, sock: string, pki: string }} paths */
function kubeletConfig({ nodeDir, sock, pki }) {
  const { ip, kubeletPort } = REAL_NODE;
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${ip}
port: ${kubeletPort}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
enableProfilingHandler: false
enableDebuggingHandlers: true
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${JSON.stringify(path.join(pki, "ca.crt"))}}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://${sock}
imageServiceEndpoint: unix://${sock}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: true
enforceNodeAllocatable: []
podLogsDir: ${JSON.stringify(path.join(nodeDir, "pod-logs"))}
volumePluginDir: ${JSON.stringify(path.join(nodeDir, "volume-plugins"))}
resolvConf: ${JSON.stringify(path.join(nodeDir, "resolv.conf"))}
# CoreDNS on the bridge address (cluster-net.mjs)
clusterDNS: [${ip}]
clusterDomain: cluster.local
maxPods: 20
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
evictionPressureTransitionPeriod: 10s
registerNode: true
registerWithTaints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]
nodeStatusUpdateFrequency: 10s
nodeStatusReportFrequency: 1m
syncFrequency: 10s
fileCheckFrequency: 20s
shutdownGracePeriod: 0s
`;
}

/** @param {TestbedContext} ctx @param {string} pki @param {string} nodeDir */
async function issueNodeCert(ctx, pki, nodeDir) {
  const dir = path.join(nodeDir, "pki");
  fs.mkdirSync(dir, { recursive: true });
  const subject = `/O=system:nodes/CN=system:node:${REAL_NODE.name}`;
  return issueCert({ dir, pki, name: "kubelet", subject, run: ctx.run });
}

/**
 * A one-layer docker-archive (what `ctr images import` and `docker load` read) holding `files` ({path in image: host file}).
 * @param {Pick<TestbedContext, "run">} ctx
 * @param {{ tag: string, files: Record<string, string>, entrypoint: string[], out: string }} what
 */
export async function makeArchive(ctx, { tag, files, entrypoint, out }) {
  const tmp = fs.mkdtempSync(path.join(path.dirname(out), ".archive-"));
  try {
    const root = path.join(tmp, "rootfs");
    for (const [dest, src] of Object.entries(files)) {
      const p = path.join(root, dest);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.copyFileSync(src, p);
      fs.chmodSync(p, 0o755);
    }
    const layer = path.join(tmp, "layer.tar");
    await ctx.run("tar", ["--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "-C", root, "-cf", layer, "."]);
    const diffId = "sha256:" + crypto.createHash("sha256").update(fs.readFileSync(layer)).digest("hex");
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Entrypoint: entrypoint },
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [{ created_by: "vllmapp test bed" }],
    });
    const configName = crypto.createHash("sha256").update(config).digest("hex") + ".json";
    fs.writeFileSync(path.join(tmp, configName), config);
    fs.writeFileSync(
      path.join(tmp, "manifest.json"),
      JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: ["layer.tar"] }]),
    );
    await ctx.run("tar", ["-C", tmp, "-cf", out + ".tmp", "manifest.json", configName, "layer.tar"]);
    fs.renameSync(out + ".tmp", out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function ctrArgs(/** @type {string} */ sock) {
  return ["--address", sock, "--namespace", "k8s.io"];
}

/** @param {TestbedContext} ctx @param {string} sock */
async function nodeImages(ctx, sock) {
  const r = await ctx.run("ctr", [...ctrArgs(sock), "images", "ls", "-q"], { timeoutMs: 30_000 });
  return new Set(
    r.stdout
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/**
 * docker.io/library/x:1 is how containerd names what Docker and Kubernetes call x:1.
 * @param {string} tag
 */
function normalizedRef(tag) {
  let ref = tag;
  const first = /** @type {string} */ (ref.split("/")[0]);
  if (!ref.includes("/") || !(first.includes(".") || first.includes(":") || first === "localhost")) {
    ref = "docker.io/" + (ref.includes("/") ? ref : "library/" + ref);
  }
  return ref;
}

/**
 * Import images into the node's containerd when it lacks them: from a docker-archive, or streamed from `docker save`.
 * @param {TestbedContext} ctx @param {NodeImage[]} images
 */
export async function importImages(ctx, images) {
  const sock = ctx.state.node?.containerdSock;
  if (!sock) throw new ctx.Error("importImages: the node containerd is not running");
  const have = await nodeImages(ctx, sock);
  for (const { tag, archive, dockerEnv } of images) {
    if (have.has(normalizedRef(tag))) continue;
    const started = Date.now();
    if (archive) {
      await ctx.run("ctr", [...ctrArgs(sock), "images", "import", "--no-unpack=false", archive], {
        timeoutMs: 1_200_000,
      });
    } else {
      await pipeDockerSave(ctx, tag, sock, dockerEnv);
    }
    const now = await nodeImages(ctx, sock);
    if (!now.has(normalizedRef(tag)))
      throw new ctx.Error(`image ${tag} was imported into the node's containerd but is not listed there`);
    ctx.log(`image ${tag} imported into the real node's containerd in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
}

/**
 * @param {TestbedContext} ctx @param {string} tag @param {string} sock @param {NodeJS.ProcessEnv} [dockerEnv]
 * @returns {Promise<void>}
 */
function pipeDockerSave(ctx, tag, sock, dockerEnv) {
  return new Promise((resolve, reject) => {
    const save = spawn("docker", ["save", tag], { env: dockerEnv ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const imp = spawn("ctr", [...ctrArgs(sock), "images", "import", "-"], { stdio: ["pipe", "pipe", "pipe"] });
    let err = "";
    save.stderr.on("data", (d) => (err += d));
    imp.stderr.on("data", (d) => (err += d));
    imp.stdout.resume();
    save.stdout.pipe(imp.stdin);
    /** @type {number | null | undefined} */
    let saveCode;
    save.on("close", (c) => (saveCode = c));
    imp.on("close", (c) => {
      if (c === 0 && saveCode === 0) resolve();
      else
        reject(
          new ctx.Error(
            `docker save ${tag} | ctr images import failed (save exit ${saveCode}, import exit ${c}): ${err.trim().slice(-2000)}`,
          ),
        );
    });
    save.on("error", (e) => reject(new ctx.Error(`docker save: ${e.message}`)));
    imp.on("error", (e) => reject(new ctx.Error(`ctr: ${e.message}`)));
  });
}

/**
 * containerd, the pause image, the given images, then the kubelet; resolves once the Node is Ready,
 * has no node.kubernetes.io taint, is not managed by kwok, and has allocatable nvidia.com/gpu.
 */
/**
 * @param {TestbedContext} ctx
 * @param {ClusterHandle & { images?: NodeImage[] }} cluster
 */
export async function startRealNode(ctx, { bins, pki, server, kubectl, api, images = [] }) {
  for (const [what, p] of /** @type {[string, string][]} */ ([
    ["containerd", "containerd"],
    ["ctr", "ctr"],
    ["runc", "runc"],
  ])) {
    if (!ctx.which(p))
      throw new ctx.Error(`the real node needs ${what} (apt-get install containerd runc containernetworking-plugins)`);
  }
  if (!fs.existsSync(path.join(CNI_BIN, "bridge")))
    throw new ctx.Error(`no CNI bridge plugin in ${CNI_BIN} (apt-get install containernetworking-plugins)`);
  const nodeDir = path.join(ctx.workDir, "node");
  const rdir = runDir(ctx.workDir);
  const sock = path.join(rdir, "containerd.sock");
  const cstate = path.join(rdir, "containerd");
  const croot = containerdRoot(bins.cacheRoot);
  const createdHostPaths = FIXED_HOST_PATHS.filter((p) => !fs.existsSync(p));
  // createBridge made state.node
  Object.assign(/** @type {NodeState} */ (ctx.state.node), {
    nodeDir,
    runDir: rdir,
    containerdSock: sock,
    containerdRoot: croot,
    createdHostPaths,
    name: REAL_NODE.name,
  });
  ctx.save();
  for (const d of [nodeDir, path.join(nodeDir, "cni/net.d"), path.join(nodeDir, "certs.d"), rdir, croot])
    fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(nodeDir, "cni/net.d/10-vllmapp-real.conflist"), cniConfig(nodeDir));
  const cfg = path.join(nodeDir, "containerd.toml");
  fs.writeFileSync(cfg, containerdConfig({ root: croot, state: cstate, sock, nodeDir }));
  // A dead proxy makes any pull fail at once, on loopback, with no DNS lookup and no outside traffic.
  const containerd = ctx.spawn("node-containerd", /** @type {string} */ (ctx.which("containerd")), ["--config", cfg], {
    env: { ...process.env, HTTP_PROXY: "http://127.0.0.1:9", HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "" },
  });
  await ctx.waitFor(
    "the node containerd to answer",
    async () => (await ctx.run("ctr", ["--address", sock, "version"], { allowFail: true, timeoutMs: 5000 })).code === 0,
    {
      timeoutMs: 30_000,
      logFile: containerd.logFile,
      isAlive: containerd.alive,
    },
  );
  // Containers a killed run left in the kept root are removed, so the kubelet starts from nothing.
  await removeAllContainers((c, a, o) => ctx.run(c, a, o), sock);

  const pauseArchive = path.join(bins.nodetools, "pause.tar");
  if (!fs.existsSync(pauseArchive)) {
    await makeArchive(ctx, {
      tag: PAUSE_IMAGE,
      files: { pause: path.join(bins.nodetools, "pause") },
      entrypoint: ["/pause"],
      out: pauseArchive,
    });
  }
  await importImages(ctx, [{ tag: PAUSE_IMAGE, archive: pauseArchive }, ...images]);

  const cred = await issueNodeCert(ctx, pki, nodeDir);
  const kubeletKubeconfig = path.join(nodeDir, "kubelet.kubeconfig");
  writeKubeconfig(kubeletKubeconfig, server, pki, {
    user: "kubelet",
    cert: cred.cert,
    key: cred.key,
    context: "kubelet",
  });
  const kcfg = path.join(nodeDir, "kubelet-config.yaml");
  fs.writeFileSync(kcfg, kubeletConfig({ nodeDir, sock, pki }));
  // pods of dnsPolicy Default resolve names against their own loopback: no DNS query leaves the node
  // (ClusterFirst pods ask CoreDNS, cluster-net.mjs)
  fs.writeFileSync(path.join(nodeDir, "resolv.conf"), "nameserver 127.0.0.1\n");
  const { name, ip, gpuProduct, gpus, gpuMemoryMiB } = REAL_NODE;
  const labels = [
    "type=real",
    "vllmapp.dev/real-node=true",
    "nvidia.com/gpu.present=true",
    `nvidia.com/gpu.product=${gpuProduct}`,
    `nvidia.com/gpu.count=${gpus}`,
    `nvidia.com/gpu.memory=${gpuMemoryMiB}`,
    "node.kubernetes.io/instance-type=real-a10g-2",
  ];
  const kubelet = ctx.spawn("kubelet", bins.kubelet, [
    `--config=${kcfg}`,
    `--kubeconfig=${kubeletKubeconfig}`,
    `--root-dir=${path.join(nodeDir, "kubelet")}`,
    `--cert-dir=${path.join(nodeDir, "kubelet-pki")}`,
    `--hostname-override=${name}`,
    `--node-ip=${ip}`,
    `--node-labels=${labels.join(",")}`,
    "--v=1",
  ]);
  /** @typedef {import("@kubernetes/client-node").V1Node} V1Node */
  const get = () => /** @type {Promise<V1Node | null>} */ (api(`/api/v1/nodes/${name}`).catch(() => null));
  await ctx.waitFor(
    `real node ${name} Ready and untainted`,
    async () => {
      const n = await get();
      return (
        n?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") &&
        !(n.spec?.taints || []).some((t) => t.key.startsWith("node.kubernetes.io/"))
      );
    },
    { timeoutMs: 90_000, logFile: kubelet.logFile, isAlive: kubelet.alive, intervalMs: 250 },
  );
  const n = /** @type {V1Node} */ (await get()); // Ready just now
  if (n.status?.daemonEndpoints?.kubeletEndpoint?.Port !== REAL_NODE.kubeletPort) {
    throw new ctx.Error(
      `real node ${name} is served on port ${n.status?.daemonEndpoints?.kubeletEndpoint?.Port}, not the kubelet's: kwok manages it (kwok must select nodes by annotation)`,
    );
  }
  // Fake GPUs, the documented extended-resource way: the kubelet keeps resources no device plugin manages.
  await kubectl([
    "patch",
    "node",
    name,
    "--subresource=status",
    "--type=json",
    "-p",
    JSON.stringify([
      { op: "add", path: "/status/capacity/nvidia.com~1gpu", value: String(gpus) },
      { op: "add", path: "/status/allocatable/nvidia.com~1gpu", value: String(gpus) },
    ]),
  ]);
  await ctx.waitFor(
    `allocatable nvidia.com/gpu on ${name}`,
    async () => (await get())?.status?.allocatable?.["nvidia.com/gpu"] === String(gpus),
    {
      timeoutMs: 30_000,
      logFile: kubelet.logFile,
      isAlive: kubelet.alive,
    },
  );
  ctx.log(`real node ${name} Ready (${REAL_NODE.gpuType} x${gpus}, pod network ${REAL_NODE.subnet})`);
  return {
    VLLMAPP_REAL_NODE: name,
    VLLMAPP_REAL_GPU: REAL_NODE.gpuType,
    VLLMAPP_REAL_NODE_IP: ip,
  };
}

/** @param {Run} run @param {string} sock */
async function removeAllContainers(run, sock) {
  const c = ctrArgs(sock);
  const tasks = await run("ctr", [...c, "tasks", "ls", "-q"], { allowFail: true, timeoutMs: 30_000 });
  const ids =
    tasks.code === 0
      ? tasks.stdout
          .split("\n")
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
  for (const id of ids)
    await run("ctr", [...c, "tasks", "kill", "-s", "SIGKILL", id], { allowFail: true, timeoutMs: 15_000 });
  for (const id of ids) {
    for (let i = 0; i < 20; i++) {
      const r = await run("ctr", [...c, "tasks", "rm", "-f", id], { allowFail: true, timeoutMs: 15_000 });
      if (r.code === 0 || /not found/.test(r.stderr)) break;
      await sleep(250);
    }
  }
  const cs = await run("ctr", [...c, "containers", "ls", "-q"], { allowFail: true, timeoutMs: 30_000 });
  const cids =
    cs.code === 0
      ? cs.stdout
          .split("\n")
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
  if (cids.length) await run("ctr", [...c, "containers", "rm", ...cids], { allowFail: true, timeoutMs: 60_000 });
}

/** Shim processes of our containerd (they outlive it: each runs in a session of its own). */
function ourShims(/** @type {string} */ sock) {
  const pids = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      if (/containerd-shim/.test(/** @type {string} */ (cmd[0])) && cmd.includes(sock)) pids.push(Number(d));
    } catch {}
  }
  return pids;
}

/**
 * Stop the node: kubelet first (so nothing restarts), then every container through containerd (their
 * network namespaces and mounts go with them), containerd, stray shims, mounts under our dirs, the
 * bridge and the host paths we created (the cluster's data goes with etcd). Each step runs even when an
 * earlier one failed; the problems are returned.
 */
/**
 * @param {TestbedState} state
 * @param {{ run: Run, stopProcess: typeof import("./lib.mjs").stopProcess, unmountUnder: (root: string) => Promise<void>,
 *   log?: (msg: string) => void }} helpers
 * @returns {Promise<string[]>} the problems
 */
export async function stopRealNode(state, { run, stopProcess, unmountUnder, log }) {
  const node = state.node;
  if (!node) return [];
  /** @type {string[]} */
  const errors = [];
  /** @param {string} what @param {() => unknown} fn */
  const step = async (what, fn) => {
    try {
      await fn();
    } catch (e) {
      errors.push(`${what}: ${/** @type {Error} */ (e).message}`);
    }
  };
  /** @param {string} name */
  const proc = (name) => (state.processes || []).find((p) => p.name === name);
  await step("kubelet", () => stopProcess(proc("kubelet"), { timeoutMs: 15_000 }));
  if (node.containerdSock && fs.existsSync(node.containerdSock)) {
    const sock = node.containerdSock;
    await step("containers", () => removeAllContainers(run, sock));
  }
  await step("containerd", () => stopProcess(proc("node-containerd"), { timeoutMs: 15_000 }));
  if (node.containerdSock) {
    for (const pid of ourShims(node.containerdSock)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  }
  for (const dir of /** @type {string[]} */ (
    [node.runDir, node.nodeDir, ...(node.createdHostPaths || [])].filter(Boolean)
  )) {
    await step(`unmount ${dir}`, () => unmountUnder(dir));
  }
  const rdir = node.runDir;
  if (rdir) await step(`rm ${rdir}`, () => fs.rmSync(rdir, { recursive: true, force: true }));
  for (const p of node.createdHostPaths || [])
    await step(`rm ${p}`, () => fs.rmSync(p, { recursive: true, force: true }));
  if (node.bridgeCreated && node.bridgeIfindex !== undefined && bridgeIfindex(node.bridge) === node.bridgeIfindex) {
    await step(`bridge ${node.bridge}`, async () => {
      const r = await run("ip", ["link", "delete", /** @type {string} */ (node.bridge)], { allowFail: true });
      if (r.code !== 0 && !/Cannot find device/.test(r.stderr)) throw new Error(r.stderr.trim());
    });
  }
  log?.(`real node stopped${errors.length ? ` (${errors.length} problem(s))` : ""}`);
  return errors;
}
