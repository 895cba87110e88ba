/**
 * Independent checkers over every golden case's rendered objects (the Kubernetes cases):
 *   - kube-score (`score`, default checks), on what `render --dry-run` prints, with each
 *     LeaderWorkerSet's leader and worker templates also copied into Deployment shells (kube-score
 *     reads built-in kinds only);
 *   - kubeconform -strict, on `render --kube-version X.Y` for each supported minor, against schemas
 *     generated from that minor's k8s.io/kubernetes OpenAPI spec and from test/fixtures/crds;
 *   - the Pod Security admission library's own checks (test/checks/psscheck) at restricted/latest.
 * Each finding is either absent or on test/checks/allow-list.yaml with the reason it does not apply to
 * a GPU inference server; an allow-list entry that no longer matches any finding fails too (the list
 * stays short and true). The binaries and schemas come from the test bed (test/cluster/build-bins.sh
 * checkers): VLLMAPP_TEST_KUBE_SCORE, VLLMAPP_TEST_KUBECONFORM, VLLMAPP_TEST_KUBE_SCHEMAS,
 * VLLMAPP_TEST_PSSCHECK.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments, parse, stringify } from "yaml";
import { BIN, ROOT } from "../support/cli.ts";

const CASES = path.join(ROOT, "test", "golden", "cases");
const CASE_NAMES = readdirSync(CASES)
  .sort()
  .filter((n) => n !== "docker-qwen3");
const ALLOW_LIST = path.join(ROOT, "test", "checks", "allow-list.yaml");
const versions = Object.fromEntries(
  [...readFileSync(path.join(ROOT, "test", "cluster", "versions.env"), "utf8").matchAll(/^([A-Z0-9_]+)=(\S+)/gm)].map(
    (m) => [m[1], m[2]],
  ),
) as Record<string, string>;
const SCHEMA_VERSIONS = (versions.SCHEMA_K8S_VERSIONS ?? "").split(",").filter(Boolean);
const NEWEST = SCHEMA_VERSIONS.at(-1) ?? "";
const minorOf = (v: string) => /^v?(\d+\.\d+)/.exec(v)?.[1] ?? "";

interface Finding {
  checker: "kube-score" | "kubeconform" | "pod-security";
  check: string;
  case: string;
  object: string; // Kind/name
  where: string; // container, template or field path; "" when the check is about the object
  message: string;
}
interface AllowEntry {
  checker: string | string[]; // kube-linter and polaris too: measured by hand (test/checks/README.md), not here
  check: string | string[];
  message?: string; // substring of the finding's message
  object?: string; // regular expression over Kind/name
  where?: string; // regular expression over the container/template/path
  reason: string;
}

function tool(name: string): string {
  const v = process.env[name];
  assert.ok(
    v,
    `${name} is unset: the test bed builds the checkers (npm test starts it; test/cluster/build-bins.sh checkers)`,
  );
  return v;
}

const run = promisify(execFile);

/** `vllmapp render --dry-run -o yaml [extra]` for every case, 4 at a time. */
async function renderAll(extra: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const queue = [...CASE_NAMES];
  const worker = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      try {
        const r = await run(process.execPath, [BIN, "render", "--dry-run", "-o", "yaml", ...extra], {
          cwd: path.join(CASES, name),
          maxBuffer: 64 << 20,
        });
        out.set(name, r.stdout);
      } catch (e) {
        const err = e as { code?: number; stderr?: string };
        assert.fail(`render ${extra.join(" ")} of ${name} exited ${err.code}: ${err.stderr}`);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return out;
}

/** Each LeaderWorkerSet's leader and worker pod templates as Deployment shells (same labels, replicas). */
function withLwsShells(yamlText: string): string {
  const shells: unknown[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    const o = doc.toJS() as {
      kind?: string;
      metadata?: { name: string; namespace?: string };
      spec?: Record<string, unknown>;
    } | null;
    if (o?.kind !== "LeaderWorkerSet" || !o.metadata || !o.spec) continue;
    const lwt = o.spec.leaderWorkerTemplate as {
      leaderTemplate?: { metadata?: { labels?: Record<string, string> } };
      workerTemplate: { metadata?: { labels?: Record<string, string> } };
    };
    for (const [role, tpl] of [
      ["leader", lwt.leaderTemplate ?? lwt.workerTemplate],
      ["worker", lwt.workerTemplate],
    ] as const) {
      shells.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `${o.metadata.name}-${role}`, namespace: o.metadata.namespace, labels: tpl.metadata?.labels },
        spec: { replicas: o.spec.replicas ?? 1, selector: { matchLabels: tpl.metadata?.labels ?? {} }, template: tpl },
      });
    }
  }
  return shells.length ? `${yamlText}${shells.map((s) => `---\n${stringify(s)}`).join("")}` : yamlText;
}

let tmp = "";
let plain = new Map<string, string>(); // case -> file of `render --dry-run` output
const findings: Finding[] = [];
let allow: AllowEntry[] = [];

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "vllmapp-checks-"));
  allow = parse(readFileSync(ALLOW_LIST, "utf8")) as AllowEntry[];
  const rendered = await renderAll([]);
  plain = new Map(
    [...rendered].map(([name, text]) => {
      const file = path.join(tmp, `${name}.yaml`);
      writeFileSync(file, text);
      return [name, file];
    }),
  );
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The checkers this test runs; entries may also name kube-linter and polaris (test/checks/README.md). */
const CHECKERS = ["kube-score", "kubeconform", "pod-security"];
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

const allowedBy = (f: Finding) =>
  allow.find(
    (a) =>
      list(a.checker).includes(f.checker) &&
      list(a.check).includes(f.check) &&
      (a.message === undefined || f.message.includes(a.message)) &&
      (a.object === undefined || new RegExp(`^(?:${a.object})$`).test(f.object)) &&
      (a.where === undefined || new RegExp(`^(?:${a.where})$`).test(f.where)),
  );

/** Record the findings; fail with every one the allow-list does not explain, grouped by check. */
function judge(checker: Finding["checker"], found: Finding[]): void {
  findings.push(...found);
  const open = found
    .filter((f) => !allowedBy(f))
    .sort((a, b) => `${a.case} ${a.object} ${a.where}`.localeCompare(`${b.case} ${b.object} ${b.where}`));
  const byCheck = new Map<string, Finding[]>();
  for (const f of open)
    byCheck.set(`${f.check}: ${f.message}`, [...(byCheck.get(`${f.check}: ${f.message}`) ?? []), f]);
  const report = [...byCheck]
    .map(
      ([k, fs]) =>
        `  ${checker} ${k} (${fs.length}):\n${fs.map((f) => `      ${f.case}: ${f.object}${f.where ? ` [${f.where}]` : ""}`).join("\n")}`,
    )
    .join("\n");
  assert.equal(
    open.length,
    0,
    `${open.length} ${checker} finding(s) neither fixed nor on test/checks/allow-list.yaml:\n${report}`,
  );
}

test("the allow-list is short and every entry says why it does not apply to a GPU inference server", () => {
  assert.ok(Array.isArray(allow) && allow.length <= 15, "test/checks/allow-list.yaml is a list of at most 15 entries");
  for (const a of allow) {
    assert.ok(
      list(a.checker).every((c) => [...CHECKERS, "kube-linter", "polaris"].includes(c)),
      `unknown checker in ${JSON.stringify(a)}`,
    );
    assert.ok(
      a.check && typeof a.reason === "string" && a.reason.trim().length >= 40,
      `every entry names a check and gives a reason: ${JSON.stringify(a)}`,
    );
  }
});

test("kube-score: no finding outside the allow-list, on every golden case", () => {
  const ks = tool("VLLMAPP_TEST_KUBE_SCORE");
  const found: Finding[] = [];
  for (const [name, file] of plain) {
    const shelled = path.join(tmp, `${name}.kube-score.yaml`);
    writeFileSync(shelled, withLwsShells(readFileSync(file, "utf8")));
    const r = spawnSync(ks, ["score", "-o", "json", "--kubernetes-version", `v${minorOf(NEWEST)}`, shelled], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    // kube-score exits 1 when a check fails; anything else (or no JSON) is a broken run
    assert.ok(r.status === 0 || r.status === 1, `kube-score on ${name} exited ${r.status}: ${r.stderr}`);
    type Obj = {
      type_meta: { kind: string };
      object_meta: { name: string };
      checks: {
        check: { id: string };
        grade: number;
        skipped: boolean;
        comments: { path: string; summary: string; description: string }[] | null;
      }[];
    };
    const objects = JSON.parse(r.stdout) as Obj[];
    assert.ok(objects.length > 0, `kube-score read no object from ${name}`);
    for (const o of objects) {
      for (const c of o.checks) {
        if (c.skipped || c.grade >= 10) continue;
        for (const cm of c.comments?.length ? c.comments : [{ path: "", summary: "(no comment)", description: "" }]) {
          found.push({
            checker: "kube-score",
            check: c.check.id,
            case: name,
            object: `${o.type_meta.kind}/${o.object_meta.name}`,
            where: cm.path,
            message: cm.summary,
          });
        }
      }
    }
  }
  judge("kube-score", found);
});

test("kubeconform -strict: every object valid, rendered with --kube-version for each supported minor", async () => {
  const kc = tool("VLLMAPP_TEST_KUBECONFORM");
  const schemas = tool("VLLMAPP_TEST_KUBE_SCHEMAS");
  const crdDir = path.join(tmp, "crd-schemas");
  const crds = readdirSync(path.join(ROOT, "test", "fixtures", "crds")).map((f) =>
    path.join(ROOT, "test", "fixtures", "crds", f),
  );
  const gen = spawnSync(
    process.execPath,
    [path.join(ROOT, "test", "checks", "gen-schemas.mjs"), "crds", crdDir, ...crds],
    { encoding: "utf8" },
  );
  assert.equal(gen.status, 0, gen.stderr);
  assert.ok(
    SCHEMA_VERSIONS.length >= 2 && minorOf(SCHEMA_VERSIONS[0] ?? "") === "1.30",
    `SCHEMA_K8S_VERSIONS starts at the oldest supported minor: ${SCHEMA_VERSIONS.join(",")}`,
  );
  const found: Finding[] = [];
  for (const v of SCHEMA_VERSIONS) {
    const dir = path.join(tmp, `kube-${v}`);
    mkdirSync(dir);
    const rendered = await renderAll(["--kube-version", minorOf(v)]);
    let objects = 0;
    for (const [name, text] of rendered) {
      writeFileSync(path.join(dir, `${name}.yaml`), text);
      objects += parseAllDocuments(text).filter((d) => d.toJS() !== null).length;
    }
    const r = spawnSync(
      kc,
      [
        "-strict",
        "-output",
        "json",
        "-verbose",
        "-kubernetes-version",
        v.replace(/^v/, ""),
        "-schema-location",
        `${schemas}/{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json`,
        "-schema-location",
        `${crdDir}/{{.ResourceKind}}{{.KindSuffix}}.json`,
        dir,
      ],
      { encoding: "utf8", maxBuffer: 64 << 20 },
    );
    assert.ok(r.status === 0 || r.status === 1, `kubeconform at ${v} exited ${r.status}: ${r.stderr}`);
    type Res = {
      filename: string;
      kind: string;
      name: string;
      status: string;
      msg: string;
      validationErrors?: { path: string; msg: string }[];
    };
    const res = (JSON.parse(r.stdout) as { resources: Res[] }).resources;
    assert.equal(res.length, objects, `kubeconform at ${v} read every rendered object`);
    for (const x of res.filter((x) => x.status !== "statusValid")) {
      const errs = x.validationErrors?.length ? x.validationErrors : [{ path: "", msg: x.msg }];
      for (const e of errs) {
        found.push({
          checker: "kubeconform",
          check: x.status,
          case: `${path.basename(x.filename, ".yaml")}@${v}`,
          object: `${x.kind}/${x.name}`,
          where: e.path,
          message: e.msg,
        });
      }
    }
  }
  judge("kubeconform", found);
});

test("Pod Security restricted (latest), by the admission library's own checks: every pod template passes", () => {
  const r = spawnSync(
    tool("VLLMAPP_TEST_PSSCHECK"),
    ["-level", "restricted", "-version", "latest", ...plain.values()],
    { encoding: "utf8", maxBuffer: 64 << 20 },
  );
  assert.equal(r.status, 0, r.stderr);
  type Res = { file: string; object: string; template: string; allowed: boolean; reasons: string[] };
  const res = r.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Res);
  const templates = [...plain.values()].reduce(
    (n, f) =>
      n +
      (readFileSync(f, "utf8").match(/^kind: (Deployment|Job|LeaderWorkerSet|StatefulSet|Pod)$/gm) ?? []).reduce(
        (k, m) => k + (m.endsWith("LeaderWorkerSet") ? 2 : 1),
        0,
      ),
    0,
  );
  assert.equal(res.length, templates, "psscheck evaluated every pod template");
  const found: Finding[] = res
    .filter((x) => !x.allowed)
    .flatMap((x) =>
      x.reasons.map((reason) => ({
        checker: "pod-security" as const,
        check: reason.replace(/ \(.*$/s, ""),
        case: path.basename(x.file, ".yaml"),
        object: x.object,
        where: x.template,
        message: reason,
      })),
    );
  judge("pod-security", found);
});

test("the checkers are not blind: a planted unknown field and a privileged container are found", () => {
  const planted = (name: string, podSpec: Record<string, unknown>) => {
    const file = path.join(tmp, `${name}.yaml`);
    const labels = { app: name };
    writeFileSync(
      file,
      stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name },
        spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
      }),
    );
    return file;
  };
  const bad = planted("unknown-field", { bogusField: 1, containers: [{ name: "c", image: "busybox:1.36" }] });
  const privileged = planted("privileged", {
    containers: [{ name: "c", image: "busybox:1.36", securityContext: { privileged: true } }],
  });
  const kc = spawnSync(
    tool("VLLMAPP_TEST_KUBECONFORM"),
    [
      "-strict",
      "-kubernetes-version",
      (SCHEMA_VERSIONS[0] ?? "").replace(/^v/, ""),
      "-schema-location",
      `${tool("VLLMAPP_TEST_KUBE_SCHEMAS")}/{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json`,
      bad,
    ],
    { encoding: "utf8" },
  );
  assert.equal(kc.status, 1, kc.stdout + kc.stderr);
  assert.match(kc.stdout, /additional properties 'bogusField' not allowed/);
  const pss = spawnSync(tool("VLLMAPP_TEST_PSSCHECK"), ["-level", "restricted", privileged], { encoding: "utf8" });
  assert.equal(pss.status, 0, pss.stderr);
  const res = JSON.parse(pss.stdout) as { allowed: boolean; reasons: string[] };
  assert.equal(res.allowed, false);
  assert.ok(
    res.reasons.some((r) => r.startsWith("privileged")),
    res.reasons.join("; "),
  );
});

test("every allow-list entry still matches a finding (fixed findings leave the list)", () => {
  const unused = allow.filter(
    (a) => list(a.checker).some((c) => CHECKERS.includes(c)) && !findings.some((f) => allowedBy(f) === a),
  );
  assert.deepEqual(
    unused.map((a) => `${a.checker} ${a.check}${a.message ? ` "${a.message}"` : ""}`),
    [],
  );
});
