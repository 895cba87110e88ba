/** Copying an object-store model before the server starts (rclone), shared by both targets; the spec hash. Pure. */
import { createHash } from "node:crypto";
import type { ModelSource } from "../models/source.js";

/** rclone source for an object-store URI, with the flags that make it use the standard credentials. */
export function rcloneSource(src: Extract<ModelSource, { kind: "s3" | "gs" | "az" }>): string[] {
  const path = src.prefix ? `${src.bucket}/${src.prefix}` : src.bucket;
  switch (src.kind) {
    case "s3":
      return [`:s3:${path}`, "--s3-env-auth", "--s3-provider=Other"];
    case "gs":
      return [`:gcs:${path}`, "--gcs-env-auth"];
    case "az":
      return [`:azureblob:${path}`, "--azureblob-env-auth"];
  }
}

export const DOWNLOAD_FILTER = ["--exclude", "original/**", "--exclude", "*.pth"];

/** A short, deterministic hash of a JSON value (node:crypto's hash is pure: same input, same bytes). */
export function hashOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}
