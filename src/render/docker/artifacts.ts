/**
 * Where the models the server reads come from on a Docker host: the served model, the speculative draft
 * and each LoRA adapter. A folder on this machine is bind-mounted read-only at the same path; an
 * object-store source is copied into a folder under ~/.cache/vllmapp before the server starts and
 * mounted from there (the served model only when vLLM does not stream it); a Hugging Face source is
 * vLLM's own download; anything else is a note or an error. Decided here, built by steps.ts. Pure.
 */
import { isObjectStore, type ModelSource, type ObjectStoreScheme } from "../../models/source.js";
import type { Adapter } from "../lora.js";
import { DOWNLOAD_FILTER } from "../model-copy.js";
import type { ServeResult } from "../serve.js";
import type { SpeculativePlan } from "../speculative.js";
import type { RenderInput } from "../types.js";
import type { Finding } from "../../errors.js";

export type ObjectStoreSource = Extract<ModelSource, { kind: ObjectStoreScheme }>;

/** A host folder mounted read-only into the server. */
export interface Bind {
  host: string;
  container: string;
}

/** An object-store copy into a host folder, before the server starts. */
export interface Copy {
  /** what the step does, as the deploy reports it */
  what: string;
  from: ObjectStoreSource;
  dir: string;
  /** rclone's flags besides the source's and the progress output */
  flags: string[];
}

export interface DockerArtifacts {
  binds: Bind[];
  copies: Copy[];
  problems: Finding[];
  /** the served model's host folder, when it is copied there */
  modelCacheDir?: string;
}

/** The model, then the draft, then the adapters: their binds, copies and problems in that order. */
export function dockerArtifactsOf(input: RenderInput, serve: ServeResult): DockerArtifacts {
  const out: DockerArtifacts = { binds: [], copies: [], problems: [] };
  placeModel(input, out);
  placeDraft(input, serve.speculative, out);
  for (const a of serve.lora?.adapters ?? []) placeAdapter(input, a, out);
  return out;
}

function placeModel(input: RenderInput, out: DockerArtifacts): void {
  const { app, source: src } = input;
  if (src.kind === "path") hostFolder(out, src.path, input.hostModelDir === true, ["model_path"]);
  if (src.kind === "pvc") {
    out.problems.push({
      path: ["model_path"],
      severity: "error",
      message: `pvc://${src.claim} is a Kubernetes volume: it is not available with --target docker`,
      hint: "copy the model to an object store or a local path for local runs, or deploy to Kubernetes",
    });
  }
  if (isObjectStore(src) && !app.stream_model) {
    out.modelCacheDir = `${input.hostHome}/.cache/vllmapp/models/${app.name}`;
    copied(out, `/models/${app.name}`, {
      what: `copy ${src.uri} into ${out.modelCacheDir}`,
      from: src,
      dir: out.modelCacheDir,
      flags: [...DOWNLOAD_FILTER, "--transfers=16"],
    });
  }
}

function placeDraft(input: RenderInput, speculative: SpeculativePlan | undefined, out: DockerArtifacts): void {
  const draft = speculative?.draft;
  if (draft?.kind === "path") {
    hostFolder(out, draft.path, input.hostDirs?.includes(draft.path) === true, ["draft_model_path"]);
  } else if (draft && isObjectStore(draft)) {
    const dir = `${input.hostHome}/.cache/vllmapp/models/${input.app.name}-draft`;
    copied(out, speculative!.draftPath!, {
      what: `copy the draft model ${draft.uri} into ${dir}`,
      from: draft,
      dir,
      flags: [...DOWNLOAD_FILTER, "--transfers=16"],
    });
  }
}

function placeAdapter(input: RenderInput, a: Adapter, out: DockerArtifacts): void {
  if (a.source.kind === "path") {
    hostFolder(out, a.source.path, input.hostDirs?.includes(a.source.path) === true, [
      "lora",
      "adapters",
      a.index,
      "source",
    ]);
  } else if (isObjectStore(a.source)) {
    const dir = `${input.hostHome}/.cache/vllmapp/adapters/${input.app.name}/${a.name}`;
    copied(out, a.path, {
      what: `copy adapter ${a.name} from ${a.source.uri} into ${dir}`,
      from: a.source,
      dir,
      flags: [],
    });
  }
}

/** A folder on this machine is served from the same path in the container; anything else must be in the image. */
function hostFolder(out: DockerArtifacts, path: string, onHost: boolean, field: Finding["path"]): void {
  if (onHost) out.binds.push({ host: path, container: path });
  else
    out.problems.push({
      path: field,
      severity: "note",
      message: `${path} is not a folder on this machine, so it must exist inside the image`,
    });
}

/** A copy into a host folder, and that folder mounted where vLLM is told the files are. */
function copied(out: DockerArtifacts, container: string, copy: Copy): void {
  out.binds.push({ host: copy.dir, container });
  out.copies.push(copy);
}
