import { writeFileSync } from "node:fs";
import { jsonSchemaText } from "./json-schema.js";

writeFileSync(new URL("../../templates/vllm-app.schema.json", import.meta.url), jsonSchemaText());
