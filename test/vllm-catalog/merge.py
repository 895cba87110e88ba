"""Merge the per-release extractions (raw/) into the committed catalogs, with cross-release history.

  python3 merge.py RAW_DIR CATALOG_DIR VECTORS_DIR

CATALOG_DIR/<version>.json gets `history`:
  removed:      option strings an older catalogued release accepts and this one does not
                (last release that had it, whether it was deprecated there, the replacement if vLLM names one)
  added_later:  option strings this release does not accept and a newer one does (the first release that has it)
CATALOG_DIR/index.json lists the releases, the default (newest) and the releases that failed, and why.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys

# Replacements vLLM names in an error hint or in release notes rather than in the flag's own help text.
KNOWN_REPLACEMENTS = {
    "--task": "--runner pooling / --convert embed|classify|reward (vLLM's own hint for --task)",
    "--guided-decoding-backend": "--structured-outputs-config.backend",
    "--disable-log-requests": "--no-enable-log-requests (requests are not logged by default)",
    "--max-seq-len-to-capture": "--compilation-config.max_cudagraph_capture_size",
    "--rope-scaling": "--hf-overrides '{\"rope_scaling\": ...}'",
    "--rope-theta": "--hf-overrides '{\"rope_theta\": ...}'",
    "--swap-space": "nothing (vLLM V1 does not swap to CPU; use --kv-offloading-size for CPU KV offloading if your release has it)",
    "--preemption-mode": "nothing (vLLM V1 always recomputes)",
    "--disable-async-output-proc": "nothing (removed with the V0 engine)",
    "--num-scheduler-steps": "nothing (removed with the V0 engine)",
    "--override-neuron-config": "nothing (the Neuron platform was removed)",
    "--compilation-config.level": "--compilation-config.mode",
}


def vkey(v: str):
    return tuple(int(x) if x.isdigit() else x for x in re.split(r"[.]", v))


def options_of(cat: dict) -> dict[str, dict]:
    out = {}
    for f in cat["flags"]:
        for s in [f["name"], *f["aliases"], *f["negations"]]:
            out[s] = f
    return out


def normalize_type(t):
    """Name the type callables vLLM defines inline (lambdas), from their source."""
    if not isinstance(t, dict):
        return t
    if t.get("kind") == "optional":
        t["inner"] = normalize_type(t["inner"])
    if t.get("kind") in ("unknown", "lower"):
        src = t.get("source", "")
        if re.search(r"\.lower\(\)\.replace\(\s*[\"']-[\"']\s*,\s*[\"']_[\"']\s*\)", src):
            t = {"kind": "lower_underscore"}
        elif "parse_reasoning_parser" in t.get("name", "") or re.search(r'"" if val\.lower\(\) == "none"', src):
            t = {"kind": "str"}
        elif re.search(r"\.lower\(\)", src) and not re.search(r"raise|int\(|float\(", src):
            t = {"kind": "lower", "source": src}
        elif re.search(r"split\(\s*[\"'],[\"']\s*\)", src) and not re.search(r"raise|float\(", src):
            t = {"kind": "str", "note": "split on commas; any string"}
    return t


def probes_from_vectors(cat: dict, vectors: list) -> dict:
    """The real parser's verdicts on single-field JSON values ({"field": VALUE}) of each config option."""
    schema_of = {}
    for f in cat["flags"]:
        t = f.get("type") or {}
        while t.get("kind") == "optional":
            t = t["inner"]
        if t.get("kind") == "dataclass":
            for s in [f["name"], *f["aliases"]]:
                schema_of[s] = t["schema"]
    out: dict = {}
    for vec in vectors:
        argv = vec["argv"]
        if len(argv) == 2:
            opt, text = argv
        elif len(argv) == 1 and "=" in argv[0]:
            opt, text = argv[0].split("=", 1)
        else:
            continue
        m = re.fullmatch(r'\{"(\w+)": (.*)\}', text)
        if opt not in schema_of or not m:
            continue
        out.setdefault(schema_of[opt], {}).setdefault(m.group(1), {})[m.group(2)] = None if vec["ok"] else vec.get("error", "refused")
    return out


def main():
    raw, cat_dir, vec_dir = sys.argv[1:4]
    os.makedirs(cat_dir, exist_ok=True)
    os.makedirs(vec_dir, exist_ok=True)
    cats = {}
    failed = {}
    for fn in os.listdir(raw):
        p = os.path.join(raw, fn)
        if fn.endswith(".error.json"):
            e = json.load(open(p))
            failed[e["vllm_version"]] = {"error": e["error"], "log_tail": e["log"][-600:]}
        elif fn.endswith(".heldout.json"):  # the held-out corpus: never read by the validator or its tests here
            continue
        elif fn.endswith(".vectors.json"):
            shutil.copyfile(p, os.path.join(vec_dir, fn.replace(".vectors", "")))
        elif fn.endswith(".json"):
            c = json.load(open(p))
            for f in c["flags"]:
                f["type"] = normalize_type(f["type"])
            cats[c["vllm_version"]] = c
    for v, cat in cats.items():
        if "probes" not in cat:  # extracted before extract.py probed the config classes itself
            vp = os.path.join(raw, f"{v}.vectors.json")
            if os.path.exists(vp):
                cat["probes"] = probes_from_vectors(cat, json.load(open(vp))["vectors"])
                cat["probes_source"] = "oracle vectors (single-field JSON values)"
    order = sorted(cats, key=vkey)
    opts = {v: options_of(cats[v]) for v in order}
    for i, v in enumerate(order):
        cat = cats[v]
        mine = opts[v]
        removed = {}
        for older in order[:i]:
            for s, f in opts[older].items():
                if s not in mine:
                    removed[s] = {"name": s, "last_seen": older, "deprecated": f["deprecated"],
                                  "help": f.get("deprecation") or f["help"][:200],
                                  "replacement": f.get("replacement") or KNOWN_REPLACEMENTS.get(s)}
        added = {}
        for newer in order[i + 1:]:
            for s, f in opts[newer].items():
                if s not in mine and s not in added:
                    added[s] = {"name": s, "added_in": newer, "help": f["help"][:200]}
        for s in removed:
            # the first release after the last one that had it
            later = [x for x in order if vkey(x) > vkey(removed[s]["last_seen"])]
            removed[s]["removed_in"] = later[0] if later else v
        for f in cat["flags"]:
            first = next((x for x in order if f["name"] in opts[x]), v)
            f["since"] = first if first != order[0] else None
        cat["history"] = {
            "releases_compared": order,
            "removed": sorted(removed.values(), key=lambda r: r["name"]),
            "added_later": sorted(added.values(), key=lambda r: r["name"]),
        }
        with open(os.path.join(cat_dir, f"{v}.json"), "w") as fh:
            json.dump(cat, fh, separators=(",", ":"), ensure_ascii=False)
            fh.write("\n")
    index = {
        "description": "vLLM `serve` catalogs generated by test/vllm-catalog/run.sh from each release's real parser",
        "releases": order,
        "default": order[-1] if order else None,
        "failed": dict(sorted(failed.items(), key=lambda kv: vkey(kv[0]))),
    }
    with open(os.path.join(cat_dir, "index.json"), "w") as fh:
        json.dump(index, fh, indent=1)
        fh.write("\n")
    print(f"catalogs: {', '.join(order)}; failed: {', '.join(failed) or 'none'}")


if __name__ == "__main__":
    main()
