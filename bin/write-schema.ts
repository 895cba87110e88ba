import { writeFileSync } from "node:fs";
import { jsonSchemaText } from "../src/config/json-schema.ts";

writeFileSync(new URL("../templates/vllm-app.schema.json", import.meta.url), jsonSchemaText());
