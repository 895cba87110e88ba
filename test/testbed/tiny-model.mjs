// @ts-check
// The tiny real model (test/testbed/tiny-model.py), made with the vLLM image's own python so no host venv
// is needed: `docker run --rm --network none --entrypoint /opt/vllm/bin/python IMAGE tiny-model.py /out`.
//
//   import { ensureTinyModel } from './tiny-model.mjs';
//   const m = await ensureTinyModel({ image, dockerEnv, outDir, log });
//     image      the vLLM image tag (ensureVllmImage().tag)
//     dockerEnv  env for the docker CLI (default process.env)
//     outDir     optional: copy the result there (e.g. <work dir>/models); otherwise the cached copy is used
//   → { root, dir, loraDir, draftDir, files, bytes }
//     dir        tiny-llama/        (config.json, generation_config.json, model.safetensors, tokenizer.json,
//                                    tokenizer_config.json, special_tokens_map.json, chat_template.jinja)
//     loraDir    tiny-llama-lora/   (adapter_config.json, adapter_model.safetensors; rank 8, q_proj/v_proj)
//     draftDir   tiny-llama-draft/  (1 layer, same tokenizer)
//     files      the file names in dir, sorted; bytes: their total size
// Cached at <cacheRoot()>/tiny-model-<sha256(script + image tag), 16 hex>/ (a warm call reads a directory).
// The container is labelled vllmapp-testbed-tool (not vllmapp-testbed: a concurrent test bed's teardown
// removes those) and removed when it exits (--rm).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cacheRoot, run, TestbedError } from "./lib.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(HERE, "tiny-model.py");
const NAMES = ["tiny-llama", "tiny-llama-lora", "tiny-llama-draft"];

/** @param {string} root */
function describe(root) {
  const dir = path.join(root, "tiny-llama");
  const files = fs.readdirSync(dir).sort();
  return {
    root,
    dir,
    loraDir: path.join(root, "tiny-llama-lora"),
    draftDir: path.join(root, "tiny-llama-draft"),
    files,
    bytes: files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0),
  };
}

/**
 * @param {{ image?: string, dockerEnv?: NodeJS.ProcessEnv, outDir?: string, log?: (m: string) => unknown }} [opts]
 */
export async function ensureTinyModel({
  image,
  dockerEnv = process.env,
  outDir,
  log = (m) => process.stderr.write(`[tiny-model] ${m}\n`),
} = {}) {
  if (!image) throw new TestbedError("ensureTinyModel needs the vLLM image (its python makes the model)");
  const hash = crypto
    .createHash("sha256")
    .update(fs.readFileSync(SCRIPT))
    .update(`\0${image}`)
    .digest("hex")
    .slice(0, 16);
  const cached = path.join(cacheRoot(), `tiny-model-${hash}`);
  if (!fs.existsSync(path.join(cached, ".complete"))) {
    const t0 = Date.now();
    const tmp = `${cached}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    try {
      const r = await run(
        "docker",
        [
          "run",
          "--rm",
          "--network",
          "none",
          "--label",
          "vllmapp-testbed-tool=tiny-model",
          "--entrypoint",
          "/opt/vllm/bin/python",
          "-v",
          `${SCRIPT}:/tiny-model.py:ro`,
          "-v",
          `${tmp}:/out`,
          image,
          "/tiny-model.py",
          "/out",
        ],
        { env: dockerEnv, timeoutMs: 300_000 },
      );
      for (const n of NAMES)
        if (!fs.existsSync(path.join(tmp, n)))
          throw new TestbedError(`tiny-model.py made no ${n}: ${r.stdout}${r.stderr}`);
      fs.writeFileSync(path.join(tmp, "summary.json"), r.stdout.trim().split("\n").pop() + "\n");
      fs.writeFileSync(path.join(tmp, ".complete"), "");
      fs.rmSync(cached, { recursive: true, force: true });
      fs.renameSync(tmp, cached);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    log(`made the tiny model in ${((Date.now() - t0) / 1000).toFixed(1)} s (${cached})`);
  }
  if (!outDir) return describe(cached);
  fs.mkdirSync(outDir, { recursive: true });
  for (const n of NAMES) {
    fs.rmSync(path.join(outDir, n), { recursive: true, force: true });
    fs.cpSync(path.join(cached, n), path.join(outDir, n), { recursive: true });
  }
  return describe(outDir);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [image, outDir] = process.argv.slice(2);
  const m = await ensureTinyModel({ image, outDir });
  process.stdout.write(`VLLM_TINY_MODEL_DIR=${m.dir}\n`);
}
