"""The Prometheus metric families a vLLM release defines, read from its own source (no import, no GPU).

  python3 metrics.py VLLM_PACKAGE_DIR        prints the JSON list

Walks every module of the installed `vllm` package and keeps the prometheus_client constructor calls
(Gauge/Counter/Histogram/Summary/Info, directly or through vLLM's `self._gauge_cls(...)` indirection)
whose name is a "vllm:" string: the family name, its type, its label names (where the source states
them as a literal list, or a variable bound to one in the same module) and the first line of its help.
A counter's samples are exposed as <name>_total, a histogram's as <name>_bucket/_sum/_count.
"""
from __future__ import annotations

import ast
import json
import os
import sys

KINDS = ("histogram", "counter", "gauge", "summary", "info")


def kind_of(func: ast.expr) -> str | None:
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    low = name.lower()
    return next((k for k in KINDS if k in low), None)


def literal_strings(node: ast.expr | None, names: dict[str, list[str]]) -> list[str] | None:
    """A list of label names from a literal, a module/function variable bound to one, or a sum of them."""
    if node is None:
        return []
    if isinstance(node, (ast.List, ast.Tuple)):
        out = []
        for e in node.elts:
            if isinstance(e, ast.Constant) and isinstance(e.value, str):
                out.append(e.value)
            elif isinstance(e, ast.Starred):
                inner = literal_strings(e.value, names)
                if inner is None:
                    return None
                out += inner
            else:
                return None
        return out
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.Attribute) and node.attr in names:
        return names[node.attr]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = literal_strings(node.left, names), literal_strings(node.right, names)
        return a + b if a is not None and b is not None else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("list", "tuple") and node.args:
        return literal_strings(node.args[0], names)
    return None


def metric_name(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"vllm:{prefix}_x": kept as a pattern
        parts = []
        for v in node.values:
            parts.append(v.value if isinstance(v, ast.Constant) else "{}")
        return "".join(parts)
    return None


def scan_file(path: str, rel: str) -> list[dict]:
    try:
        tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    except (SyntaxError, UnicodeDecodeError):
        return []
    names: dict[str, list[str]] = {}
    for node in ast.walk(tree):  # variables bound to literal lists of strings (labelnames = [...])
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) and node.value else []
        for t in targets:
            key = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None
            if key:
                val = literal_strings(node.value, names)  # type: ignore[arg-type]
                if val is not None:
                    names[key] = val
    # calls under `if self.show_hidden_metrics` (or similar): exposed only with --show-hidden-metrics-for-version
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "hidden" in ast.unparse(node.test).lower():
            for stmt in node.body:
                for sub in ast.walk(stmt):
                    hidden.add(id(sub))
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        kind = kind_of(node.func)
        if not kind:
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        name = metric_name(kw.get("name", node.args[0] if node.args else None))
        if not name or not name.startswith("vllm:"):
            continue
        doc = metric_name(kw.get("documentation", node.args[1] if len(node.args) > 1 else None)) or ""
        labels = literal_strings(kw.get("labelnames", node.args[2] if len(node.args) > 2 else None), names)
        m = {"name": name, "type": kind, "labels": labels, "help": " ".join(doc.split())[:200], "file": rel}
        if id(node) in hidden:
            m["hidden"] = True
        out.append(m)
    return out


def scan(pkg: str) -> list[dict]:
    found: dict[str, dict] = {}
    root = os.path.dirname(pkg.rstrip("/"))
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if d not in ("tests", "__pycache__"))
        for fn in sorted(filenames):
            if fn.endswith(".py"):
                p = os.path.join(dirpath, fn)
                for m in scan_file(p, os.path.relpath(p, root)):
                    cur = found.get(m["name"])
                    if cur is None or (cur.get("hidden") and not m.get("hidden")):
                        found[m["name"]] = m
                    elif cur["labels"] is None and m["labels"] is not None:
                        found[m["name"]] = m
    return sorted(found.values(), key=lambda m: m["name"])


if __name__ == "__main__":
    json.dump(scan(sys.argv[1]), sys.stdout, indent=1)
    sys.stdout.write("\n")
