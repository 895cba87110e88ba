/** A newcomer's first hour through the built CLI: every error in one run, ordinary YAML, help that says what happens. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, runCli, workdir } from "../support/cli.ts";

test("a file with four independent mistakes shows all four in one run, each at file:line:col", () => {
  const dir = workdir({
    "combo.yaml": [
      "name: combo",
      "model_path: s3:/bucket/x",
      "resorces: 1",
      "resources:",
      "  memory: 16",
      'extra_args: [--max-model-lenght, "4096"]',
      "",
    ].join("\n"),
  });
  for (const args of [
    ["render", "--dry-run"],
    ["check", "--offline"],
  ]) {
    const r = runCli([...args, "-f", "combo.yaml"], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    const heads = r.stderr.split("\n").filter((l) => /^combo\.yaml:\d+:\d+ /.test(l));
    assert.deepEqual(
      heads,
      [
        'combo.yaml:2:13 model_path: "s3:/bucket/x" is not an object-store URI',
        'combo.yaml:3:1 resorces: unknown field "resorces"; did you mean "resources"?',
        "combo.yaml:5:11 resources.memory: 16 is 16 bytes: a bare number is bytes",
        "combo.yaml:6:14 extra_args[0]: unknown vllm serve flag --max-model-lenght; did you mean --max-model-len?",
      ],
      args.join(" "),
    );
    assert.match(r.stderr, /\n4 errors in combo\.yaml\n$/);
  }
});

test("a faulty model source does not hide the vllm serve flag problems", () => {
  const dir = workdir({ "vllm-app.yaml": 'name: a\nmodel_path: bucket/x\nextra_args: [--max-model-lenght, "4096"]\n' });
  const r = runCli(["render", "--dry-run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^vllm-app\.yaml:2:13 model_path: "bucket\/x" looks like a Hugging Face repo, not a path\n/);
  assert.match(
    r.stderr,
    /\nvllm-app\.yaml:3:14 extra_args\[0\]: unknown vllm serve flag --max-model-lenght; did you mean --max-model-len\?\n/,
  );
});

test("broken YAML in one app does not hide the problems of the next, and says what was not checked", () => {
  const dir = workdir({
    "vllm-app.yaml":
      "name: a\nmodel_hf_path: Qwen/Qwen3-0.6B\nport: [1\n---\nname: b\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {memory: 16}\n",
  });
  const r = runCli(["render", "--dry-run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^vllm-app\.yaml:4:1 YAML syntax error: /);
  assert.match(r.stderr, /\nvllm-app\.yaml:7:21 resources\.memory: 16 is 16 bytes/);
  assert.match(
    r.stderr,
    /\nvllm-app\.yaml:1:1 note: the app from line 1 was not checked further: its YAML has errors\n {2}hint: fix the YAML errors and run again\n2 errors in vllm-app\.yaml\n$/,
  );
});

test("ordinary YAML: a trailing ---, a comment-only document, x-* keys and merge keys render the same objects as the plain file", () => {
  const plain =
    "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  gpu: L4:1\n  memory: 16Gi\nstartup_timeout: 20m\n";
  const variants: Record<string, string> = {
    "trailing.yaml": `${plain}---\n`,
    "comment-doc.yaml": `# generated\n---\n${plain}---\n# nothing more here\n`,
    "merge.yaml": [
      "x-defaults: &d",
      "  gpu: L4:1",
      "  memory: 16Gi",
      "x-app: &app",
      "  model_hf_path: Qwen/Qwen3-0.6B",
      "  startup_timeout: 20m",
      "name: qwen3",
      "<<: *app",
      "resources:",
      "  <<: *d",
      "",
    ].join("\n"),
  };
  const dir = workdir({ "plain.yaml": plain, ...variants });
  const want = runCli(["render", "--dry-run", "-f", "plain.yaml"], { cwd: dir });
  assert.equal(want.code, 0, want.stderr);
  for (const file of Object.keys(variants)) {
    const got = runCli(["render", "--dry-run", "-f", file], { cwd: dir });
    assert.equal(got.code, 0, `${file}: ${got.stderr}`);
    assert.equal(got.stdout, want.stdout, file);
    // the warnings name the file they are about; apart from that name they are the plain file's
    const at = (text: string, name: string) =>
      text.replace(new RegExp(`^warning: ${name.replace(".", "\\.")}:\\d+:\\d+ `, "gm"), "warning: FILE ");
    assert.equal(at(got.stderr, file), at(want.stderr, "plain.yaml"), file);
  }
});

test("an x-* key is ignored only at the top level of an app; elsewhere it is still an unknown field", () => {
  const dir = workdir({ "vllm-app.yaml": "name: a\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  x-note: hi\n" });
  const r = runCli(["render", "--dry-run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^vllm-app\.yaml:4:3 resources\.x-note: unknown field "x-note"/);
});

test("init --gpu 0 writes vLLM's CPU image and says so; the first render has no warning about it", () => {
  const dir = workdir();
  // the Hub unreachable (the test bed's HF_ENDPOINT would let init size the weights, and the render then warns of nothing)
  const offline = { HF_ENDPOINT: "http://127.0.0.1:2" };
  const r = runCli(["init", "--gpu", "0", "--yes", "--no-auth"], { cwd: dir, env: offline });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^note: no GPU: wrote image: public\.ecr\.aws\/q9t5s3a7\/vllm-cpu-release-repo:v0\.34\.0 \(vLLM's CPU build/m,
  );
  const text = readFileSync(path.join(dir, "vllm-app.yaml"), "utf8");
  assert.match(text, /^image: public\.ecr\.aws\/q9t5s3a7\/vllm-cpu-release-repo:v0\.34\.0 +# vLLM's CPU build/m);
  const render = runCli(["render", "--dry-run"], { cwd: dir, env: offline });
  assert.equal(render.code, 0, render.stderr);
  // nothing about the GPU or the image; the one warning left is the model's size for its emptyDir,
  // which init cannot know with the Hub unreachable (README "Weights in an emptyDir")
  assert.doesNotMatch(render.stderr, /gpu|image|exit/i);
  assert.equal(render.stderr.split("\n").filter((l) => l.startsWith("warning:")).length, 1, render.stderr);
  assert.match(render.stderr, /^warning: vllm-app\.yaml:\d+:\d+ model_hf_path: the weights download into an emptyDir/);
  assert.match(render.stdout, /image: public\.ecr\.aws\/q9t5s3a7\/vllm-cpu-release-repo:v0\.34\.0\n/);
});

test("a PLACEHOLDER GPU init wrote is a warning on every render until it is replaced", () => {
  const dir = workdir();
  const init = runCli(["init", "--yes", "--no-auth"], { cwd: dir, env: { HF_ENDPOINT: "http://127.0.0.1:2" } });
  assert.equal(init.code, 0, init.stderr);
  const file = path.join(dir, "vllm-app.yaml");
  const warning =
    /^warning: vllm-app\.yaml:10:8 resources\.gpu: L4:1 is a placeholder: vllmapp init could not size the model when it wrote the file\n {2}hint: set the GPU type and count the model needs/m;
  for (const args of [
    ["render", "--dry-run"],
    ["render", "--dry-run", "-o", "text"],
    ["check", "--offline"],
  ]) {
    const r = runCli(args, { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, warning, args.join(" "));
  }
  writeFileSync(file, readFileSync(file, "utf8").replace(/gpu: L4:1 +# PLACEHOLDER.*/, "gpu: L4:1"));
  const fixed = runCli(["render", "--dry-run"], { cwd: dir });
  assert.equal(fixed.code, 0);
  // what is left is the one thing the file still does not say, with the Hub unreachable: the model's size
  // for the emptyDir its weights download into (README "Weights in an emptyDir")
  assert.doesNotMatch(fixed.stderr, /placeholder/);
  assert.match(
    fixed.stderr,
    /^warning: vllm-app\.yaml:\d+:\d+ model_hf_path: the weights download into an emptyDir on the node's disk, and their size is not known here[^\n]*\n {2}hint: add cache: \{size: …\}/,
  );
  assert.equal(fixed.stderr.split("\n").filter((l) => l.startsWith("warning:")).length, 1, fixed.stderr);
});

test("init's next steps are commands that work where it ran: npx vllmapp … under npx", () => {
  const dir = workdir();
  const viaNpx = runCli(["init", "--gpu", "L4:1", "--yes", "--name", "q"], { cwd: dir, env: { npm_command: "exec" } });
  assert.equal(viaNpx.code, 0, viaNpx.stderr);
  assert.match(
    viaNpx.stderr,
    /next:\n {2}npx vllmapp render --dry-run +# see what would be deployed\n {2}npx vllmapp deploy +#/,
  );
  const plain = runCli(["init", "other.yaml", "--gpu", "L4:1", "--yes", "--name", "q"], {
    cwd: dir,
    env: { npm_command: undefined },
  });
  assert.match(plain.stderr, /next:\n {2}vllmapp render --dry-run -f other\.yaml +#/);
});

test("render --context and --kubeconfig, which render alone never reads, are usage errors", () => {
  const dir = workdir({ "vllm-app.yaml": "name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\n" });
  for (const [flag, value] of [
    ["--context", "nope"],
    ["--kubeconfig", "/nonexistent"],
  ] as const) {
    const r = runCli(["render", "--dry-run", flag, value], { cwd: dir });
    assert.equal(r.code, 2, flag);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `error: ${flag} has no effect on render without --resolve: render alone reads no kubeconfig\n  hint: drop ${flag}, or add --resolve (which looks up run outputs in the cluster)\n`,
    );
  }
  const local = runCli(["render", "--dry-run", "--local", "--context", "prod"], { cwd: dir });
  assert.equal(local.code, 2);
});

test("a usage error prints no stack trace, with --debug or not", () => {
  const dir = workdir({ "vllm-app.yaml": "name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\n" });
  for (const args of [
    ["render", "--dry-run", "--quiet", "--debug"],
    ["render", "--dry-run", "--debug", "--context", "x"],
    ["render", "--debug", "--show-only", "bad"],
  ]) {
    const r = runCli(args, { cwd: dir });
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /^error: .*\n {2}hint: .*\n$/, args.join(" "));
  }
});

test("help shows one default per flag, -n's real order, and --offline as it behaves", () => {
  for (const cmd of ["render", "deploy", "check", "status", "logs", "delete", "list", "bench"]) {
    const help = runCli([cmd, "--help"]).stdout.replace(/\s+/g, " ");
    assert.doesNotMatch(help, /\(default: \[\]\)/, cmd);
    if (/--namespace/.test(help))
      assert.match(
        help,
        /-n, --namespace <ns> namespace \(wins over the file's namespace:; default: the file's, else the context's\)/,
        cmd,
      );
  }
  assert.match(
    runCli(["deploy", "--help"]).stdout.replace(/\s+/g, " "),
    /--offline skip the remote checks of the model source \(a warning says what was skipped\)/,
  );
  assert.match(
    runCli(["render", "--help"]).stdout.replace(/\s+/g, " "),
    /--offline with --resolve: skip the checks that need the network/,
  );
});

test("render's help examples name files that exist where they run", () => {
  const help = runCli(["render", "--help"]).stdout;
  assert.doesNotMatch(help, /examples\/qwen3\.yaml/);
  const dir = workdir({ "vllm-app.yaml": "name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nrequires_auth: false\n" });
  assert.equal(runCli(["render", "--dry-run"], { cwd: dir }).code, 0);
});

test("the README and src/ cite no document outside the repository (SPEC)", () => {
  const files = [path.join(ROOT, "README.md")];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(path.join(ROOT, "src"));
  const cites = files.filter((f) => /\bSPEC\b/.test(readFileSync(f, "utf8"))).map((f) => path.relative(ROOT, f));
  assert.deepEqual(cites, []);
});

test("init --gpu mistakes are worded as the file's, with the fix, and caught before any file is written", () => {
  const dir = workdir();
  const cases: [string, RegExp][] = [
    [
      "2xH100",
      /^error: --gpu 2xH100: unknown GPU type "2xH100"; did you mean "H100"\? \(known: T4, .*\)\n {2}hint: write --gpu H100:2\n$/,
    ],
    [
      "L4:abc",
      /^error: --gpu L4:abc: the count "abc" is not a whole number\n {2}hint: write TYPE:COUNT, e.g\. --gpu L4:1\n$/,
    ],
    [":2", /^error: --gpu :2: no GPU type before the count\n/],
    [
      "H100:0",
      /^error: --gpu H100:0: "H100:0" asks for zero H100 GPUs\n {2}hint: write --gpu H100:1 \(or more\), or --gpu 0 for no GPU\n$/,
    ],
    ["H10:4", /did you mean "H100"\?.*\n {2}hint: write --gpu H100:4\n$/],
    [
      "A6000:1",
      /unknown GPU type "A6000" \(known: .*\)\n {2}hint: .*pick "other", which selects the nodes by their product label\n$/,
    ],
  ];
  for (const [gpu, want] of cases) {
    const r = runCli(["init", "--gpu", gpu, "--yes", "--name", "q"], { cwd: dir });
    assert.equal(r.code, 2, gpu);
    assert.match(r.stderr, want, gpu);
  }
  assert.deepEqual(readdirSync(dir), []);
});

test("a GPU type not in the list says how to use it anyway; node_labels' custom form and parameters' shape are named in the hint", () => {
  const dir = workdir({
    "gpu.yaml": 'name: a\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "RTX 4090:2"}\n',
    "labels.yaml": "name: a\nmodel_hf_path: Qwen/Qwen3-0.6B\nnode_labels: {key: node.kubernetes.io/instance-type}\n",
    "params.yaml": 'name: a\nmodel_hf_path: Qwen/Qwen3-0.6B\nparameters: {maxlen: "8192"}\n',
  });
  const gpu = runCli(["render", "--dry-run", "-f", "gpu.yaml"], { cwd: dir });
  assert.match(
    gpu.stderr,
    /^gpu\.yaml:3:18 resources\.gpu: unknown GPU type "RTX 4090" \(known: T4, .*\)\n {2}hint: write "TYPE:COUNT", e\.g\. "L4:1"; a GPU not in this list: write gpu: 2 and select its nodes with pod_template/,
  );
  const labels = runCli(["render", "--dry-run", "-f", "labels.yaml"], { cwd: dir });
  assert.match(
    labels.stderr,
    /node_labels\.key: unknown field "key"\n {2}hint: a custom label scheme goes under scheme: node_labels: \{scheme: \{key: LABEL, values: \{L4: VALUE, …\}\}\}/,
  );
  const params = runCli(["render", "--dry-run", "-f", "params.yaml"], { cwd: dir });
  assert.match(
    params.stderr,
    /parameters: expected a list, got a mapping\n {2}hint: parameters is a list of \{name, value\}: parameters: \[\{name: maxlen, value: "8192"\}\], used as \$\{name\} in extra_args/,
  );
});
