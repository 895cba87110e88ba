/**
 * Hostile or unusual input, through the built CLI: every case is a user error (exit 2) that names the
 * file (and line where there is one), says what to do, shows no stack trace, and ends: a run that hangs
 * (an alias bomb expanded, a FIFO read) is killed at HANG_MS and fails its exit-code check. That bound
 * catches a hang, not slowness: how fast the CLI answers is a benchmark (BENCHMARKS.md), never a test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runCli, workdir, type CliResult } from "../support/cli.ts";

const QWEN = "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  gpu: L4:1\n";
/** a run still going after this is killed (exit code -1): it hangs */
const HANG_MS = 30_000;

function run(args: string[], cwd: string): CliResult {
  return runCli(args, { cwd, timeoutMs: HANG_MS });
}

/** exit 2 (not killed), the message, a hint, no stack trace, no "report it", nothing on stdout */
function assertUserError(r: CliResult, want: RegExp, label: string): void {
  const ctx = `${label}\n--- stderr:\n${r.stderr.slice(0, 2000)}`;
  assert.equal(r.code, 2, ctx);
  assert.match(r.stderr, want, ctx);
  assert.match(r.stderr, /\n {2}hint: \S/, ctx);
  assert.doesNotMatch(r.stderr, /unexpected failure|report it/, ctx);
  assert.doesNotMatch(r.stderr, /^\s+at .+[:(]\d+:\d+\)?$/m, ctx);
  assert.equal(r.stdout, "", ctx);
}

function billionLaughs(levels = 9): string {
  let out = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  let prev = "a";
  for (const name of "bcdefghij".slice(0, levels - 1)) {
    out += `${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]\n`;
    prev = name;
  }
  return out;
}

const CONFIG_CASES: [label: string, content: string | Buffer, want: RegExp][] = [
  [
    "billion laughs in an app's field",
    `${QWEN}env_vars:\n${billionLaughs().replace(/^/gm, "  ").trimEnd()}\n`,
    /vllm-app\.yaml:\d+:\d+ [^\n]*aliases here expand to too many values/,
  ],
  [
    "billion laughs at the top",
    billionLaughs() + QWEN,
    /vllm-app\.yaml:2:\d+ the aliases here expand to too many values/,
  ],
  [
    "alias cycle",
    `${QWEN}pod_template: &p {spec: {x: *p}}\n`,
    /vllm-app\.yaml:5:\d+ pod_template\.spec\.x: alias \*p refers to the node that holds it/,
  ],
  [
    "alias to an anchor in another document",
    "name: a\nmodel_hf_path: &m Qwen/Qwen3-0.6B\n---\nname: b\nmodel_hf_path: *m\n",
    /vllm-app\.yaml:5:16 model_hf_path: alias \*m refers to an anchor in another document/,
  ],
  [
    "alias to no anchor",
    `${QWEN}description: *nope\n`,
    /vllm-app\.yaml:5:14 description: alias \*nope has no anchor &nope/,
  ],
  [
    "a huge document",
    `${QWEN}description: ${"x".repeat(3 * 1024 * 1024)}\n`,
    /vllm-app\.yaml:1:1 vllm-app\.yaml is 3\.0 MiB; at most 256 KiB is read/,
  ],
  [
    "a huge mapping",
    `${QWEN}env_vars:\n${Array.from({ length: 20_000 }, (_, i) => `  K${i}: v\n`).join("")}`,
    /vllm-app\.yaml:6:3 env_vars: 20000 entries in one mapping; at most 500/,
  ],
  [
    "a huge list",
    `${QWEN}extra_args:\n${Array.from({ length: 20_000 }, (_, i) => `  - --x${i}\n`).join("")}`,
    /vllm-app\.yaml:6:3 extra_args: 20000 entries in one list; at most 500/,
  ],
  [
    "too many apps",
    Array.from({ length: 600 }, (_, i) => `name: a${i}\nmodel_hf_path: o/m\n`).join("---\n"),
    /vllm-app\.yaml:\d+:1 the file holds 600 apps; at most 500/,
  ],
  [
    "too many apps, each with a YAML error",
    Array.from({ length: 501 }, (_, i) => `name: a${i}\nport: [\n`).join("---\n"),
    /vllm-app\.yaml:1501:1 the file holds 501 apps; at most 500/,
  ],
  [
    "deep flow nesting",
    `${QWEN}pod_template: ${"[".repeat(50_000)}${"]".repeat(50_000)}\n`,
    /vllm-app\.yaml:5:\d+ [^\n]*nests (too deeply|more than 64 levels)/,
  ],
  [
    "deep block nesting",
    `${QWEN}pod_template:\n${Array.from({ length: 200 }, (_, i) => `${" ".repeat(i + 1)}a:\n`).join("")}`,
    /vllm-app\.yaml:\d+:\d+ pod_template(\.a)+: the YAML nests more than 64 levels deep/,
  ],
  ["a duplicate key", `${QWEN}name: other\n`, /vllm-app\.yaml:5:1 name: duplicate key "name" \(first at line 1\)/],
  [
    "a nested duplicate key",
    `${QWEN}env_vars:\n  A: "1"\n  B: "2"\n  A: "3"\n`,
    /vllm-app\.yaml:8:3 env_vars\.A: duplicate key "A" \(first at line 6\)/,
  ],
  [
    "a binary file",
    Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256)),
    /vllm-app\.yaml:1:1 the file is binary/,
  ],
  [
    "UTF-16 with a BOM",
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(QWEN, "utf16le")]),
    /vllm-app\.yaml:1:1 the file is UTF-16 \(little-endian, with a byte-order mark\)/,
  ],
  [
    "UTF-16 big-endian with a BOM",
    Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(QWEN, "utf16le").swap16()]),
    /vllm-app\.yaml:1:1 the file is UTF-16 \(big-endian/,
  ],
  [
    "UTF-16 without a BOM",
    Buffer.from(QWEN, "utf16le"),
    /vllm-app\.yaml:1:1 the file looks like UTF-16 \(little-endian\) without a byte-order mark/,
  ],
  [
    "Latin-1 bytes",
    Buffer.from(`${QWEN}description: caf\xe9 cr\xe8me\n`, "latin1"),
    /vllm-app\.yaml:5:17 the file is not valid UTF-8/,
  ],
];

for (const [label, content, want] of CONFIG_CASES) {
  test(`hostile config: ${label}`, () => {
    const dir = workdir();
    writeFileSync(path.join(dir, "vllm-app.yaml"), content);
    assertUserError(run(["render", "--dry-run"], dir), want, label);
  });
}

test("-f naming a folder, a missing file, a path under a file, or a pipe", () => {
  const dir = workdir({ "afile.yaml": QWEN });
  mkdirSync(path.join(dir, "folder.yaml"));
  execFileSync("mkfifo", [path.join(dir, "pipe.yaml")]);
  const cases: [string, RegExp][] = [
    ["folder.yaml", /folder\.yaml:1:1 folder\.yaml is a folder, not a file\n {2}hint: pass the file with -f/],
    ["missing.yaml", /missing\.yaml:1:1 cannot read missing\.yaml: ENOENT \(no such file\)/],
    [
      "afile.yaml/vllm-app.yaml",
      /afile\.yaml\/vllm-app\.yaml:1:1 cannot read afile\.yaml\/vllm-app\.yaml: ENOTDIR \(a part of the path is a file, not a folder\)/,
    ],
    ["pipe.yaml", /pipe\.yaml:1:1 pipe\.yaml is not a regular file/],
  ];
  for (const [file, want] of cases) assertUserError(run(["render", "--dry-run", "-f", file], dir), want, file);
});

test("depends_on naming a folder or a binary file", () => {
  const dir = workdir({
    "vllm-app.yaml": `${QWEN}depends_on: [./other.yaml]\n---\nname: b\nmodel_hf_path: o/m\ndepends_on: [./bin.yaml]\n`,
  });
  mkdirSync(path.join(dir, "other.yaml"));
  writeFileSync(path.join(dir, "bin.yaml"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1]));
  const r = run(["render", "--dry-run"], dir);
  assertUserError(
    r,
    /other\.yaml:1:1 \S*other\.yaml is a folder, not a file\n {2}hint: depends_on paths are relative/,
    "depends_on folder",
  );
  assert.match(r.stderr, /bin\.yaml:1:5 the file is binary \(it holds NUL bytes\)/);
});

test("include: outside the app's folder (symlink or ..), a folder, missing, under a file, a pipe, binary, not UTF-8", () => {
  const outside = workdir({ "secret.txt": "do not ship me\n" });
  const dir = workdir({
    "ok.jinja": "{{ messages }}\n",
    afile: "x",
    "bin.dat": "a\0b",
    "latin.txt": Buffer.from("caf\xe9", "latin1").toString("latin1"),
  });
  writeFileSync(path.join(dir, "latin.txt"), Buffer.from("caf\xe9\n", "latin1"));
  symlinkSync(path.join(outside, "secret.txt"), path.join(dir, "link.txt"));
  symlinkSync("/etc", path.join(dir, "etc"));
  mkdirSync(path.join(dir, "folder"));
  execFileSync("mkfifo", [path.join(dir, "pipe")]);
  const list = [
    "ok.jinja",
    "link.txt",
    `../${path.basename(outside)}/secret.txt`,
    "etc/hostname",
    "folder",
    "missing.txt",
    "afile/x",
    "pipe",
    "bin.dat",
    "latin.txt",
  ];
  writeFileSync(path.join(dir, "vllm-app.yaml"), `${QWEN}include:\n${list.map((p) => `  - ${p}\n`).join("")}`);
  const r = run(["render", "--dry-run"], dir);
  assertUserError(
    r,
    /vllm-app\.yaml:7:5 include\[1\]: link\.txt resolves to \S+secret\.txt, outside the app's folder/,
    "include",
  );
  const want = [
    /vllm-app\.yaml:8:5 include\[2\]: \.\.\/\S+ resolves to \S+, outside the app's folder/,
    /vllm-app\.yaml:9:5 include\[3\]: etc\/hostname resolves to \/etc\/hostname, outside the app's folder/,
    /vllm-app\.yaml:10:5 include\[4\]: folder is a folder, not a file/,
    /vllm-app\.yaml:11:5 include\[5\]: missing\.txt does not exist/,
    /vllm-app\.yaml:12:5 include\[6\]: afile\/x does not exist/,
    /vllm-app\.yaml:13:5 include\[7\]: pipe is not a regular file/,
    /vllm-app\.yaml:14:5 include\[8\]: bin\.dat is a binary file/,
    /vllm-app\.yaml:15:5 include\[9\]: latin\.txt is not UTF-8 text/,
  ];
  for (const w of want) assert.match(r.stderr, w);
  assert.match(r.stderr, /\n9 errors in vllm-app\.yaml\n$/);
  assert.doesNotMatch(r.stderr, /do not ship me/);
});

test("--param values that are not name=value, or name nothing, are user errors", () => {
  const dir = workdir({ "vllm-app.yaml": `${QWEN}parameters: [{name: ctx, value: 4096}]\n` });
  for (const [p, want] of [
    ["ctx", /error: --param ctx: write --param name=value/],
    ["=1", /error: --param =1: write --param name=value/],
    ["__proto__=1", /vllm-app\.yaml:1:1 parameters: --param __proto__=… names no parameter/],
    ["constructor=1", /--param constructor=… names no parameter/],
  ] as const) {
    const r = run(["render", "--dry-run", "--param", p], dir);
    assert.equal(r.code, 2, `${p}\n${r.stderr}`);
    assert.match(r.stderr, want);
    assert.doesNotMatch(r.stderr, /unexpected failure|^\s+at /m);
  }
  const odd = run(["render", "--dry-run", "-o", "json", "--param", "ctx=a\nb: ${ctx} $(rm -rf /) ' \" \\"], dir);
  assert.equal(odd.code, 0, odd.stderr);
  const env = JSON.parse(odd.stdout).apps[0].objects.find((o: { kind: string }) => o.kind === "Deployment").spec
    .template.spec.containers[0].env;
  assert.ok(
    env.some((e: { value?: string }) => e.value === "a\nb: ${ctx} $(rm -rf /) ' \" \\"),
    JSON.stringify(env),
  );
});

test("init into a path under a file, or onto a file, is a user error", () => {
  const dir = workdir({ afile: "x" });
  const cases: [string, RegExp][] = [
    [
      "afile/sub",
      /error: cannot write afile\/sub\/vllm-app\.yaml: ENOTDIR \(a part of the path is a file, not a folder\)\n {2}hint: choose a folder/,
    ],
    // a file that is not .yaml: init says what it takes (a folder, or the .yaml file to write)
    [
      "afile",
      /error: init afile: expected a folder or a \.yaml file\n {2}hint: pass a folder \(vllmapp init \.\) or a file name ending in \.yaml \(vllmapp init afile\.yaml\)/,
    ],
  ];
  for (const [target, want] of cases) assertUserError(run(["init", target, "--yes"], dir), want, `init ${target}`);
  assertUserError(
    run(["render", "--out", "afile/out"], workdir({ "vllm-app.yaml": QWEN, afile: "x" })),
    /error: cannot write afile\/out\/qwen3: ENOTDIR/,
    "render --out under a file",
  );
});
