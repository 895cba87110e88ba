"""What can be read from a vLLM release's wheel alone (no install, no GPU): ~400 MB each, one at a time.

  python3 wheel.py metrics VERSION...     metrics/<version>.json (metrics.py over the wheel's source) and the
                                          release's CUDA in cuda.json (its pinned torch's CUDA runtime pin)
  python3 wheel.py same PATCH BASE        is the patch release's parser its .0's? Compares the sources that
                                          build `vllm serve`'s parser and the data extract.py reads; when
                                          equal, records it in same-as.json (exit 0), else lists the files (exit 1)

Sources are kept under $VLLM_CATALOG_SCRATCH/wheels/src-<version> (default /tmp/vllm-catalog).
"""
from __future__ import annotations

import filecmp
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRATCH = os.path.join(os.environ.get("VLLM_CATALOG_SCRATCH", "/tmp/vllm-catalog"), "wheels")
PLATFORMS = ["manylinux1_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux_2_31_x86_64",
             "manylinux_2_34_x86_64", "manylinux_2_35_x86_64"]
# the sources that build the serve parser, its value registries and its metrics
RELEVANT = ("vllm/config/", "vllm/engine/arg_utils.py", "vllm/entrypoints/", "vllm/utils/argparse_utils.py",
            "vllm/utils/__init__.py", "vllm/reasoning/", "vllm/tool_parsers/", "vllm/model_executor/layers/quantization/__init__.py",
            "vllm/attention/backends/registry.py", "vllm/v1/attention/backends/registry.py", "vllm/v1/metrics/",
            "vllm/platforms/interface.py")


def sources(version: str) -> str:
    out = os.path.join(SCRATCH, f"src-{version}")
    if os.path.isdir(os.path.join(out, "vllm")):
        return out
    dl = os.path.join(SCRATCH, f"dl-{version}")
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
           *[x for p in PLATFORMS for x in ("--platform", p)], f"vllm=={version}", "-d", dl]
    subprocess.run(cmd, check=True)
    wheel = glob.glob(os.path.join(dl, "*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            if n.endswith(".py") and n.startswith("vllm/") or n.endswith(".dist-info/METADATA"):
                z.extract(n, out)
    shutil.rmtree(dl)
    return out


def torch_pin(src: str) -> str | None:
    for meta in glob.glob(os.path.join(src, "*.dist-info", "METADATA")):
        for line in open(meta, encoding="utf-8"):
            m = re.match(r"Requires-Dist: torch==([\w.+]+)\s*$", line.strip())
            if m:
                return m.group(1)
    return None


def cuda_of_torch(torch: str) -> str | None:
    """The CUDA runtime the PyPI torch wheel pins (nvidia-cuda-runtime[-cu12]==12.8.90 → 12.8), via uv's resolver."""
    r = subprocess.run(["uv", "pip", "compile", "-", "--python-platform", "x86_64-manylinux_2_28", "--python-version", "3.12", "--no-header"],
                       input=f"torch=={torch}\n", capture_output=True, text=True, check=True)
    m = re.search(r"^nvidia-cuda-runtime(?:-cu\d+)?==(\d+)\.(\d+)", r.stdout, re.M)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def metrics(versions: list[str]) -> None:
    sys.path.insert(0, HERE)
    import metrics as metrics_mod

    cuda_path = os.path.join(HERE, "cuda.json")
    cuda = json.load(open(cuda_path)) if os.path.exists(cuda_path) else {}
    os.makedirs(os.path.join(HERE, "metrics"), exist_ok=True)
    for v in versions:
        src = sources(v)
        scanned = os.path.join(SCRATCH, f"metrics-{v}.json")  # a scan of the same sources made earlier
        found = json.load(open(scanned)) if os.path.exists(scanned) else metrics_mod.scan(os.path.join(src, "vllm"))
        with open(os.path.join(HERE, "metrics", f"{v}.json"), "w") as fh:
            json.dump(found, fh, indent=0)
            fh.write("\n")
        torch = torch_pin(src)
        if torch and v not in cuda:
            c = cuda_of_torch(torch)
            if c:
                cuda[v] = {"version": c, "torch": torch}
        print(f"{v}: metrics scanned; torch {torch}, CUDA {cuda.get(v, {}).get('version')}")
    with open(cuda_path, "w") as fh:
        json.dump(dict(sorted(cuda.items(), key=lambda kv: tuple(int(x) for x in kv[0].split(".")))), fh, indent=1)
        fh.write("\n")


def relevant_files(root: str) -> set[str]:
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            rel = os.path.relpath(os.path.join(d, f), root)
            if f.endswith(".py") and rel.startswith(RELEVANT):
                out.add(rel)
    return out


# functions whose bodies build the parser or validate values; other function bodies run after start-up
PARSER_FUNCS = re.compile(r"add_cli_args|make_arg_parser|subparser_init|cmd_init|_?validate|__post_init__|parse|kwargs|"
                          r"register|_get_|get_field|argparse|from_cli|human_readable|optional_type|union_dict|__init__")


def parser_view(path: str) -> str:
    """The module with the bodies of functions that run only after start-up left out (comments and
    docstrings too): what decides the parser, its types, defaults, choices, validators and registries."""
    import ast

    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not PARSER_FUNCS.search(node.name) \
                and not any("validator" in ast.unparse(d) for d in node.decorator_list):
            node.body = [ast.Pass()]
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def same(patch: str, base: str) -> int:
    a, b = sources(patch), sources(base)
    fa, fb = relevant_files(a), relevant_files(b)
    diff = sorted((fa ^ fb) | {f for f in fa & fb if not filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False)})
    visible = [f for f in diff if f not in fa or f not in fb or parser_view(os.path.join(a, f)) != parser_view(os.path.join(b, f))]
    if visible:
        print(f"{patch} differs from {base} where the parser is built in {len(visible)} files: {' '.join(visible[:20])}")
        return 1
    if diff:
        print(f"{patch}: {len(diff)} files differ from {base} only in code that runs after start-up: {' '.join(diff[:20])}")
    path = os.path.join(HERE, "same-as.json")
    doc = json.load(open(path)) if os.path.exists(path) else {}
    doc[patch] = base
    with open(path, "w") as fh:
        json.dump(dict(sorted(doc.items(), key=lambda kv: tuple(int(x) for x in kv[0].split(".")))), fh, indent=1)
        fh.write("\n")
    print(f"{patch}: its parser sources are {base}'s ({len(fa)} files compared)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "metrics":
        metrics(sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "same":
        sys.exit(same(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
