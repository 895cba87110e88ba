/**
 * `vllmapp init` as a person uses it, on a real terminal (a pseudo-terminal driven by test/e2e/terminal.py):
 * Ctrl-C and Ctrl-D, the GPU prompt, flags that answer prompts (the $schema line: schema.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { CLI, ROOT, runCli, workdir } from "../support/cli.ts";

const TERMINAL = path.join(ROOT, "test", "e2e", "terminal.py");

/** Run `vllmapp ARGS` on a terminal in `cwd`: for each [text, keys], wait for text on the screen, then type keys. */
function onTerminal(cwd: string, args: string[], steps: [string, string][]): { code: number; output: string } {
  const r = spawnSync("python3", [TERMINAL, cwd, JSON.stringify(steps), "--", ...CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", CI: undefined, HF_ENDPOINT: "http://127.0.0.1:2" },
    timeout: 90_000,
  });
  assert.equal(r.status, 0, r.stderr);
  // the screen, without its escape sequences
  const { code, output } = JSON.parse(r.stdout) as { code: number; output: string };
  // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is stripped
  return { code, output: output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "") };
}

const ENTER = "\r";

test("Ctrl-C at a prompt: exit 130, 'aborted', no stack trace, no file", () => {
  const dir = workdir();
  const r = onTerminal(dir, ["init"], [["Model", "\u0003"]]);
  assert.equal(r.code, 130, r.output);
  assert.match(r.output, /aborted/);
  assert.doesNotMatch(r.output, /unexpected|report it|Error|at \w+ \(/);
  assert.deepEqual(readdirSync(dir), []);
});

test("Ctrl-D at a later prompt: the same", () => {
  const dir = workdir();
  const r = onTerminal(
    dir,
    ["init"],
    [
      ["Model", ENTER],
      ["App name", "\u0004"],
    ],
  );
  assert.equal(r.code, 130, r.output);
  assert.match(r.output, /aborted/);
  assert.deepEqual(readdirSync(dir), []);
});

test("the GPU prompt filters by typing; unsized (Hub unreachable) is said and marked PLACEHOLDER", () => {
  const dir = workdir();
  const r = onTerminal(
    dir,
    ["init"],
    [
      ["Model", ENTER],
      ["App name", ENTER],
      ["GPU type", "h100 n"],
      ["H100 NVL (94 GB)", ENTER],
      ["GPUs per replica", ENTER],
      ["GPU nodes labelled", ENTER],
      ["API key", ENTER],
    ],
  );
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /could not size Qwen\/Qwen3-0\.6B \(cannot reach the Hugging Face Hub/);
  const text = readFileSync(path.join(dir, "vllm-app.yaml"), "utf8");
  assert.match(text, /^ {2}gpu: "H100 NVL:1" +# PLACEHOLDER: not sized \(cannot reach the Hugging Face Hub/m);
});

test('"other" GPU: its product label selects the nodes; "no GPU": gpu 0; nothing is picked that was not chosen', () => {
  const other = workdir();
  const r = onTerminal(
    other,
    ["init", "--model", "Qwen/Qwen3-0.6B", "--name", "q"],
    [
      ["GPU type", "zz9"],
      ['other: "zz9"', ENTER],
      ["product", `NVIDIA-ZZ9-96GB${ENTER}`],
      ["GPUs per replica", `2${ENTER}`],
      ["API key", `n${ENTER}`],
    ],
  );
  assert.equal(r.code, 0, r.output);
  const text = readFileSync(path.join(other, "vllm-app.yaml"), "utf8");
  assert.match(text, /^ {2}gpu: 2 +# 2 of NVIDIA-ZZ9-96GB/m);
  assert.match(text, /^pod_template:\n {2}spec:\n {4}nodeSelector:\n {6}nvidia\.com\/gpu\.product: NVIDIA-ZZ9-96GB$/m);
  assert.match(text, /^requires_auth: false/m);
  assert.equal(runCli(["render", "--dry-run"], { cwd: other }).code, 0);
  const none = workdir();
  const n = onTerminal(
    none,
    ["init", "--model", "Qwen/Qwen3-0.6B", "--name", "q", "--no-auth"],
    [
      ["GPU type", "no gpu"],
      ["CPU only", ENTER],
    ],
  );
  assert.equal(n.code, 0, n.output);
  assert.match(readFileSync(path.join(none, "vllm-app.yaml"), "utf8"), /^ {2}gpu: 0 +# no GPU/m);
});

test("init does not ask what the flags already gave", () => {
  const dir = workdir();
  const r = onTerminal(dir, ["init", "--model", "Qwen/Qwen3-0.6B", "--name", "q", "--gpu", "L4:1", "--auth"], []);
  assert.equal(r.code, 0, r.output);
  assert.doesNotMatch(r.output, /\?/, "no prompt was shown");
  assert.ok(existsSync(path.join(dir, "vllm-app.yaml")));
});

test("init FILE.yaml writes that file; a path that is neither a folder nor .yaml says what it expects", () => {
  const dir = workdir();
  const r = runCli(["init", "llama.yaml", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L4:1", "--yes"], {
    cwd: dir,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(dir).sort(), ["llama.yaml", "vllm-app.schema.json"]);
  assert.match(r.stderr, /next:\n {2}vllmapp render --dry-run -f llama\.yaml .*\n {2}vllmapp deploy -f llama\.yaml/);
  const bad = runCli(["init", "app.json", "--yes"], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /init app\.json: expected a folder or a \.yaml file/);
});

test("init --yes with the Hub unreachable says it could not size the model and names the placeholder", () => {
  const dir = workdir();
  const r = runCli(["init", "--yes"], { cwd: dir, env: { HF_ENDPOINT: "http://127.0.0.1:2" } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /warning: could not size Qwen\/Qwen3-0\.6B \(cannot reach the Hugging Face Hub .*\); wrote gpu: L4:1 as a PLACEHOLDER/,
  );
  assert.match(readFileSync(path.join(dir, "vllm-app.yaml"), "utf8"), /gpu: L4:1 +# PLACEHOLDER: not sized/);
});
