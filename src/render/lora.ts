/** LoRA adapters: the names a server's argv serves. Pure. */

/** The adapter names in a `vllm serve` argv: each --lora-modules value (a JSON spec, or name=path). */
export function adapterNamesOf(args: readonly string[]): string[] {
  const names: string[] = [];
  for (let i = args.indexOf("--lora-modules") + 1; i > 0 && i < args.length && !args[i]!.startsWith("--"); i++) {
    const a = args[i]!;
    try {
      const spec = JSON.parse(a) as { name?: unknown };
      if (typeof spec.name === "string") names.push(spec.name);
    } catch {
      if (a.includes("=")) names.push(a.split("=")[0]!);
    }
  }
  return names;
}
