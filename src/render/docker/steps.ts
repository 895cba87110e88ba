/**
 * The one-off steps of the Docker plan, `docker run --rm` before the server, one builder per kind: an
 * object-store copy, and on_startup. They get the app's plain environment and secrets, never the API
 * key. Pure.
 */
import type { AppConfig } from "../../config/schema.js";
import { hookArgv } from "../labels.js";
import { rcloneSource } from "../model-copy.js";
import type { DockerPlan } from "../types.js";
import type { Copy } from "./artifacts.js";
import { stepFromHost, type DockerEnv } from "./env.js";

export type DockerStep = DockerPlan["before"][number];

/** An rclone copy of an object-store source into a host folder (host network: the store may be on localhost). */
export function copyStep(app: AppConfig, copy: Copy, env: DockerEnv, rcloneImage: string): DockerStep {
  const endpoint =
    copy.from.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined
      ? ["-e", `RCLONE_S3_ENDPOINT=${String(app.env_vars.AWS_ENDPOINT_URL)}`]
      : [];
  return {
    what: copy.what,
    argv: [
      "docker",
      "run",
      "--rm",
      "--network",
      "host",
      ...env.plain,
      ...endpoint,
      ...env.secrets,
      "-v",
      `${copy.dir}:/data`,
      rcloneImage,
      "copy",
      ...rcloneSource(copy.from),
      "/data",
      ...copy.flags,
      "--stats=30s",
      "--stats-one-line",
      "-v",
    ],
    envFromHost: stepFromHost(env),
  };
}

/** on_startup, in the app's image with its entrypoint replaced; `mounts`: the `-v` flags it sees. */
export function startupStep(
  hook: NonNullable<AppConfig["on_startup"]>,
  env: DockerEnv,
  mounts: string[],
  image: string,
): DockerStep {
  const argv = hookArgv(hook);
  return {
    what: `on_startup: ${typeof hook === "string" ? hook : argv.join(" ")}`,
    argv: [
      "docker",
      "run",
      "--rm",
      ...env.plain,
      ...env.secrets,
      ...mounts,
      "--entrypoint",
      argv[0]!,
      image,
      ...argv.slice(1),
    ],
    envFromHost: stepFromHost(env),
  };
}
