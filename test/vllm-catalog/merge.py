"""Merge the per-release extractions (raw/) into the committed catalogs, with cross-release history.

  python3 merge.py RAW_DIR CATALOG_DIR VECTORS_DIR [--out DIR]

Every release already in CATALOG_DIR is the base (its catalog without the derived fields below); a raw
extraction in RAW_DIR replaces its release's base. So adding a release needs only that release's raw
extraction, and merging the committed raw extractions again reproduces the committed catalogs (the
repository check in test/unit/vllm-catalog-merge.test.ts). --out writes the catalogs there instead.

Per release, from the release itself (see README "Adding a vLLM release"):
  cuda:     the CUDA its wheels are built for (the CUDA runtime its pinned torch ships; cuda.json for
            releases extracted before extract.py recorded it) and the minimum Linux NVIDIA driver for
            that CUDA (DRIVER_FLOOR, NVIDIA's CUDA toolkit release notes, table 3)
  metrics:  the Prometheus families its source defines (metrics.py; metrics/<version>.json for releases
            scanned from their wheel), collected into CATALOG_DIR/metrics.json
  same_as:  patch releases whose parser is the .0's (same-as.json), listed in index.json instead of a copy

CATALOG_DIR/<version>.json gets `history`:
  removed:      option strings an older catalogued release accepts and this one does not
                (last release that had it, whether it was deprecated there, the replacement if vLLM names one)
  added_later:  option strings this release does not accept and a newer one does (the first release that has it)
CATALOG_DIR/index.json lists the releases, the default (newest) and the releases that failed, and why.
CATALOG_DIR/<version>.probes.json holds the release's probes (its config classes' verdicts on probe values),
apart from its catalog: three quarters of the bytes, which a render that checks no config object never reads.
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


# Minimum Linux x86_64 driver per CUDA minor (NVIDIA CUDA Toolkit release notes, "CUDA Toolkit and
# Corresponding Driver Versions", the GA row of each minor).
DRIVER_FLOOR = {
    "12.4": "550.54.14",
    "12.6": "560.28.03",
    "12.8": "570.26",
    "12.9": "575.51.03",
    "13.0": "580.65.06",
}

# fields merge.py derives; a committed catalog without them is the base extraction of its release
DERIVED = ("history", "cuda", "metrics_count", "value_checks")


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


def side_data(here: str) -> tuple[dict, dict, dict]:
    def load(name, default):
        p = os.path.join(here, name)
        return json.load(open(p)) if os.path.exists(p) else default
    metrics = {}
    mdir = os.path.join(here, "metrics")
    if os.path.isdir(mdir):
        for fn in os.listdir(mdir):
            if fn.endswith(".json"):
                metrics[fn[:-5]] = json.load(open(os.path.join(mdir, fn)))
    return load("cuda.json", {}), metrics, load("same-as.json", {})


def cuda_entry(v: str, raw_cuda: dict | None, known: dict) -> dict | None:
    c = dict(raw_cuda or known.get(v) or {})
    if not c.get("version"):
        return None
    out = {"version": c["version"], "min_driver": DRIVER_FLOOR.get(c["version"]), "torch": c.get("torch")}
    out["source"] = c.get("source") or f"torch {c.get('torch')} (the release's pinned torch) is built for CUDA {c['version']}"
    return out


def write_compact(path: str, doc) -> None:
    """A catalog file: compact JSON, UTF-8 as is, one line."""
    with open(path, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"), ensure_ascii=False)
        fh.write("\n")


def write_value_checks(here: str, version: str, checks: list) -> None:
    """values/<version>.json: the release's own config classes' verdicts on bounded values (extract.py value_rules)."""
    os.makedirs(os.path.join(here, "values"), exist_ok=True)
    with open(os.path.join(here, "values", f"{version}.json"), "w") as fh:
        json.dump({"vllm_version": version, "checks": checks}, fh, indent=0)
        fh.write("\n")


def main():
    args = sys.argv[1:]
    out_dir = None
    if "--out" in args:
        i = args.index("--out")
        out_dir = args[i + 1]
        del args[i:i + 2]
    raw, cat_dir, vec_dir = args[:3]
    here = os.path.dirname(os.path.abspath(__file__))
    cuda_known, metrics_known, same_as = side_data(here)
    write_cats = out_dir or cat_dir
    os.makedirs(write_cats, exist_ok=True)
    if not out_dir:
        os.makedirs(vec_dir, exist_ok=True)
    cats = {}
    full: set = set()  # releases with a whole extraction in raw/
    partial: list = []  # VALUES_ONLY extractions
    raw_cuda: dict = {}
    failed = {}
    # the base: every committed catalog, without what this script derives
    if os.path.isdir(cat_dir):
        for fn in os.listdir(cat_dir):
            if re.fullmatch(r"\d+\.\d+\.\d+\.json", fn):
                c = json.load(open(os.path.join(cat_dir, fn)))
                probes = os.path.join(cat_dir, fn.replace(".json", ".probes.json"))
                if os.path.exists(probes):  # written beside the catalog (below)
                    c["probes"] = json.load(open(probes))
                for k in DERIVED:
                    c.pop(k, None)
                for f in c["flags"]:
                    f.pop("since", None)
                cats[c["vllm_version"]] = c
        idx = os.path.join(cat_dir, "index.json")
        if os.path.exists(idx):
            failed = {k: v for k, v in (json.load(open(idx)).get("failed") or {}).items()}
    for fn in sorted(os.listdir(raw)) if os.path.isdir(raw) else []:
        p = os.path.join(raw, fn)
        if fn.endswith(".error.json"):
            e = json.load(open(p))
            failed[e["vllm_version"]] = {"error": e["error"], "log_tail": e["log"][-600:]}
        elif fn.endswith(".heldout.json"):  # the held-out corpus: never read by the validator or its tests here
            continue
        elif fn.endswith(".values-only.json"):
            partial.append(json.load(open(p)))
        elif fn.endswith(".vectors.json"):
            if not out_dir:
                shutil.copyfile(p, os.path.join(vec_dir, fn.replace(".vectors", "")))
        elif fn.endswith(".values.json"):
            continue
        elif fn.endswith(".json"):
            c = json.load(open(p))
            for f in c["flags"]:
                f["type"] = normalize_type(f["type"])
            if "value_checks" in c and not out_dir:
                write_value_checks(here, c["vllm_version"], c["value_checks"])
            c.pop("value_checks", None)
            raw_cuda[c["vllm_version"]] = c.pop("cuda", None)
            if "metrics" in c:
                metrics_known[c["vllm_version"]] = c["metrics"]
            c.pop("metrics", None)
            cats[c["vllm_version"]] = c
            full.add(c["vllm_version"])
            failed.pop(c["vllm_version"], None)
    for part in partial:  # VALUES_ONLY extractions: the values of a catalog extracted earlier (extract.py values_only)
        v = part["vllm_version"]
        if v not in cats or v in full:
            continue
        have = sorted(f["name"] for f in cats[v]["flags"])
        if have != part["flag_names"]:
            sys.exit(f"{v}: the values-only extraction's parser has other flags than the committed catalog: extract it whole")
        cats[v]["value_rules"] = part["value_rules"]
        cats[v]["registered"] = part["registered"]
        if not out_dir:
            write_value_checks(here, v, part["value_checks"])
    for v, cat in cats.items():
        if "probes" not in cat:  # extracted before extract.py probed the config classes itself
            vp = os.path.join(raw, f"{v}.vectors.json")
            if os.path.exists(vp):
                cat["probes"] = probes_from_vectors(cat, json.load(open(vp))["vectors"])
                cat["probes_source"] = "oracle vectors (single-field JSON values)"
    order = sorted(cats, key=vkey)
    opts = {v: options_of(cats[v]) for v in order}
    cuda_all = {}
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
        cu = cuda_entry(v, raw_cuda.get(v), cuda_known)
        if cu:
            cat["cuda"] = cuda_all[v] = cu
        if v in metrics_known:
            cat["metrics_count"] = len(metrics_known[v])
        # the probes in a file of their own: three quarters of the bytes, read only to check a config
        # object's fields (src/vllm/catalog.ts loadProbes), so a render without one does not parse them
        write_compact(os.path.join(write_cats, f"{v}.json"), {k: x for k, x in cat.items() if k != "probes"})
        write_compact(os.path.join(write_cats, f"{v}.probes.json"), cat.get("probes", {}))
    index = {
        "description": "vLLM `serve` catalogs generated by test/vllm-catalog/run.sh from each release's real parser",
        "releases": order,
        "default": order[-1] if order else None,
        "same_as": {p: b for p, b in sorted(same_as.items(), key=lambda kv: vkey(kv[0])) if b in cats and p not in cats},
        "cuda": cuda_all,
        "failed": dict(sorted(((k, v) for k, v in failed.items() if k not in cats), key=lambda kv: vkey(kv[0]))),
    }
    with open(os.path.join(write_cats, "index.json"), "w") as fh:
        json.dump(index, fh, indent=1)
        fh.write("\n")
    # metric families per release: a name → the releases that define it
    families: dict[str, dict] = {}
    for v in sorted(metrics_known, key=vkey):
        for m in metrics_known[v]:
            e = families.setdefault(m["name"], {"type": m["type"], "labels": m.get("labels"), "help": m.get("help", ""), "releases": [], "hidden_in": []})
            e["releases"].append(v)
            if m.get("hidden"):
                e["hidden_in"].append(v)
            if m.get("labels") is not None:
                e["labels"] = m["labels"]
            e["type"] = m["type"]
    metrics_doc = {
        "description": "Prometheus metric families each vLLM release defines, read from its source by test/vllm-catalog/metrics.py. "
                       "A counter is exposed as <name>_total, a histogram as <name>_bucket/_sum/_count. hidden_in: releases that serve it "
                       "only with --show-hidden-metrics-for-version.",
        "releases": sorted(metrics_known, key=vkey),
        "families": dict(sorted(families.items())),
    }
    with open(os.path.join(write_cats, "metrics.json"), "w") as fh:
        json.dump(metrics_doc, fh, indent=0, separators=(",", ":"))
        fh.write("\n")
    print(f"catalogs: {', '.join(order)}; failed: {', '.join(index['failed']) or 'none'}; "
          f"same parser as a catalogued release: {', '.join(index['same_as']) or 'none'}; metrics for {len(metrics_known)} releases")


if __name__ == "__main__":
    main()
