// The linter `npm test` runs before the test bed (npm run lint): typescript-eslint's recommended rules,
// no import cycles, and render/, vllm/ and config/ kept free of IO; test/**/*.ts with rules of its own (below).
// Flat config; run from the package root.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

/** What render/, vllm/ and config/ may not import: they are functions from data to data (STYLE.md). */
const IO_MODULES = [
  "fs",
  "node:fs",
  "fs/promises",
  "node:fs/promises",
  "child_process",
  "node:child_process",
  "net",
  "node:net",
  "http",
  "node:http",
  "https",
  "node:https",
  "os",
  "node:os",
  "dns",
  "node:dns",
  "execa",
  "ora",
  "@inquirer/prompts",
  "@aws-sdk/client-s3",
  "@huggingface/hub",
].map((name) => ({
  name,
  message:
    "render/, vllm/ and config/ are pure: take the data as an argument, and do the IO in app/, cluster/, local/ or commands/",
}));

/** Classic zod: every schema it builds carries some 40 closures, and building them was most of a render's own
 * start-up; src/ uses zod/mini (BENCHMARKS.md "Start-up"). */
const ZOD_CLASSIC = ["zod", "zod/v4"].map((name) => ({
  name,
  allowTypeImports: true,
  message: 'import * as z from "zod/mini": classic zod costs every command that loads it its start-up',
}));

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      "bin/**",
      "templates/**",
      // the non-TypeScript tooling under test/ (Go, Python, fixtures); the test bed's .mjs is linted (below)
      "test/fixtures/**",
      "test/vllm-catalog/**",
      "test/standin/**",
      "test/cluster/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.ts"],
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })] },
    rules: {
      // objects read back from the API are client-node's types (cluster/k8s-types.ts); JSON is `unknown`,
      // narrowed. An `any` that truly cannot be typed is disabled on its line with the reason (issue #26: at most 5)
      "@typescript-eslint/no-explicit-any": "error",
      // a function a reader takes in at once (issue #26); blank lines and comments count. Split by phase, kind
      // or rule group into named helpers, never by disabling this
      "max-lines-per-function": ["error", { max: 80 }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "no-restricted-imports": ["error", { paths: ZOD_CLASSIC }],
      "no-restricted-syntax": [
        "error",
        {
          selector: "TSAsExpression > TSAnyKeyword",
          message: "no `as any` in src/ without a reason: type it, or disable this line with `-- why`",
        },
      ],
    },
  },
  {
    files: ["src/render/**/*.ts", "src/vllm/**/*.ts", "src/config/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            ...IO_MODULES,
            ...ZOD_CLASSIC,
            {
              name: "@kubernetes/client-node",
              allowTypeImports: true,
              message: "render/, vllm/ and config/ use client-node's types only: import type",
            },
          ],
        },
      ],
    },
  },
  {
    // vllm/ models vLLM's own CLI and nothing of vllmapp's: below render/, it may import leaves and config/ only
    files: ["src/vllm/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            ...IO_MODULES,
            ...ZOD_CLASSIC,
            { name: "@kubernetes/client-node", message: "vllm/ models vLLM's CLI, not Kubernetes" },
          ],
          patterns: [
            {
              group: ["../*/*", "!../config/*"],
              message:
                "vllm/ is below render/ and the targets: it imports the top-level leaves (errors.ts, text.ts, package-files.ts) and config/ only",
            },
          ],
        },
      ],
    },
  },
  {
    // the test bed and the benchmarks: JavaScript with JSDoc types (tsc checks them: checkJs), on Node
    files: ["test/**/*.mjs"],
    rules: {
      // tsc (checkJs, with @types/node) already refuses an undefined name, and knows Node's globals
      "no-undef": "off",
      // `catch {}` where a step is best-effort (a process already gone, a file already removed) is the idiom
      "no-empty": ["error", { allowEmptyCatch: true }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
    },
  },
  {
    // Tests read objects back from the API and the CLI's JSON, and index into them: `any` and `!` are the
    // honest types there. What a test may not do: skip or narrow the run (the project's rule: nothing is
    // skipped; a missing test bed variable fails, tbEnv), or leave an unused name behind.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      // a pattern spells the CLI's aligned columns as they are printed ("  model:  "), byte for byte
      "no-regex-spaces": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          caughtErrors: "none",
        },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector:
            "CallExpression[callee.object.name=/^(test|it|describe|suite)$/][callee.property.name=/^(skip|todo|only)$/]",
          message: "no skipped, todo or only tests: a test runs every time, or it is deleted",
        },
        {
          selector:
            "CallExpression[callee.name=/^(test|it|describe|suite)$/] > ObjectExpression > Property[key.name=/^(skip|todo|only)$/]",
          message: "no skipped, todo or only tests: a test runs every time, or it is deleted",
        },
        {
          selector: "CallExpression[callee.object.name='t'][callee.property.name=/^(skip|todo)$/]",
          message: "no skipped tests: a test runs every time, or it is deleted",
        },
      ],
    },
  },
);
