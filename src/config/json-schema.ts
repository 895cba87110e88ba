/** The JSON Schema of vllm-app.yaml, generated from the zod schema (pinned by test/unit/schema.test.ts). */
import * as z from "zod/mini";
import { appConfigSchema } from "./schema.js";

export const SCHEMA_ID = "https://vllmapp.dev/schema/v1/vllm-app.schema.json";

export function buildJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(appConfigSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  // `args` exists in the zod schema only to be rejected with "use extra_args"
  delete (schema.properties as Record<string, unknown>).args;
  return { ...schema, $id: SCHEMA_ID, title: "vllm-app.yaml", description: "One vLLM app for vllmapp (fields follow Flyte 2's VLLMAppEnvironment)" };
}

export function jsonSchemaText(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
