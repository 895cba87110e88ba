"""Run INSIDE a scratch environment that has one vLLM release installed (see run.sh).

Builds the real `vllm serve` parser on a CPU-only machine, walks it, and writes
  <out>/<version>.json          the catalog of that release (flags, types, choices, JSON config schemas)
  <out>/<version>.vectors.json  the oracle: a corpus of extra_args argvs with the real parser's verdicts

The argv given to the real parser mirrors what vllmapp renders:
  vllm serve MODEL --served-model-name m --port 8000 <extra_args...>
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import importlib
import importlib.metadata
import io
import json
import logging
import os
import re
import sys
import types

os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")
os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
# value_rules builds config classes whose defaults name a Hub model: offline, that fails at once instead of
# after the Hub client's retries (minutes per release on a machine without huggingface.co)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
logging.disable(logging.CRITICAL)

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = ["serve", "org/model", "--served-model-name", "m", "--port", "8000"]


def select_cpu_platform() -> None:
    """What vLLM's own main() does for `vllm bench`: without it the parser fails to infer the device."""
    import vllm.platforms as platforms
    from vllm.platforms.cpu import CpuPlatform

    p = CpuPlatform()
    platforms._current_platform = p
    with contextlib.suppress(Exception):
        platforms.current_platform = p


def build_parser():
    select_cpu_platform()
    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:
        from vllm.utils import FlexibleArgumentParser  # <= 0.11
    import vllm.entrypoints.cli.serve as serve_mod

    top = FlexibleArgumentParser(description="vLLM CLI")
    subparsers = top.add_subparsers(required=False, dest="subparser")
    serve = None
    for cmd in serve_mod.cmd_init():
        p = cmd.subparser_init(subparsers)
        p.set_defaults(dispatch_function=cmd.cmd)
        if cmd.name == "serve":
            serve = p
    assert serve is not None, "no serve subcommand"
    return top, serve


# ---------------------------------------------------------------- type callables

def closure_vars(fn) -> dict:
    out = {}
    code = getattr(fn, "__code__", None)
    if code is None or not fn.__closure__:
        return out
    for name, cell in zip(code.co_freevars, fn.__closure__):
        with contextlib.suppress(ValueError):
            out[name] = cell.cell_contents
    return out


SCHEMAS: dict[str, object] = {}


def dataclass_schema(cls) -> str:
    key = f"{cls.__module__}.{cls.__qualname__}"
    if key in SCHEMAS:
        return key
    SCHEMAS[key] = None
    try:
        from pydantic import TypeAdapter

        SCHEMAS[key] = TypeAdapter(cls).json_schema(mode="validation")
    except Exception:
        try:  # fields pydantic cannot describe (callables, torch types) become "anything"
            from pydantic import TypeAdapter
            from pydantic.json_schema import GenerateJsonSchema

            class Lenient(GenerateJsonSchema):
                def handle_invalid_for_json_schema(self, schema, error_info):
                    return {}

            SCHEMAS[key] = TypeAdapter(cls).json_schema(mode="validation", schema_generator=Lenient)
            return key
        except Exception as e:
            SCHEMAS[key] = manual_schema(cls, f"{type(e).__name__}: {str(e)[:200]}")
        return key
    except Exception as e:  # a field pydantic cannot describe (callables, torch types): keys only
        SCHEMAS[key] = manual_schema(cls, f"{type(e).__name__}: {str(e)[:200]}")
    return key


def manual_schema(cls, why: str) -> dict:
    props = {}
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            if f.init:
                props[f.name] = {}
    extra = "forbid"
    cfg = getattr(cls, "__pydantic_config__", None) or {}
    if isinstance(cfg, dict) and cfg.get("extra"):
        extra = cfg["extra"]
    return {"type": "object", "properties": props, "additionalProperties": extra != "forbid" and {} or False,
            "x-vllmapp-partial": why}


def describe_type(fn, depth=0):
    """A JSON description of an argparse `type` callable that the TypeScript validator can emulate."""
    if fn is None:
        return {"kind": "str"}
    if depth > 6:
        return {"kind": "unknown", "name": repr(fn)}
    if fn is int:
        return {"kind": "int"}
    if fn is float:
        return {"kind": "float"}
    if fn is str:
        return {"kind": "str"}
    if fn is bool:
        return {"kind": "pybool"}
    if fn is json.loads:
        return {"kind": "json"}
    if isinstance(fn, type) and issubclass(fn, enum.Enum):
        return {"kind": "enum", "name": fn.__name__, "values": [str(m.value) for m in fn], "names": [m.name for m in fn]}
    name = getattr(fn, "__name__", type(fn).__name__)
    cv = closure_vars(fn)
    if name == "_optional_type":
        return {"kind": "optional", "inner": describe_type(cv.get("return_type"), depth + 1)}
    if name == "_parse_type":
        return describe_type(cv.get("return_type"), depth + 1)
    if name in ("human_readable_int", "human_readable_int_or_auto", "union_dict_and_str"):
        return {"kind": name}
    if name == "parse_dataclass":
        cls = fn.__defaults__[0] if fn.__defaults__ else cv.get("cls") or cv.get("dataclass_cls")
        if cls is not None:
            return {"kind": "dataclass", "config": cls.__name__, "schema": dataclass_schema(cls),
                    "human_readable_numbers": "_expand_json_human_readable_numbers" in fn.__code__.co_names}
    if isinstance(fn, type) and dataclasses.is_dataclass(fn):
        return {"kind": "dataclass", "config": fn.__name__, "schema": dataclass_schema(fn)}
    if isinstance(fn, types.MethodType) or callable(fn):
        src = None
        with contextlib.suppress(Exception):
            import inspect

            src = inspect.getsource(fn)
        if src and re.search(r"\.lower\(\)", src) and "return" in src:
            return {"kind": "lower", "name": name, "source": src[:600]}
        return {"kind": "unknown", "name": f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', name)}", "source": (src or "")[:600]}
    return {"kind": "unknown", "name": repr(fn)}


def jsonable(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return str(v)
        return v
    if isinstance(v, enum.Enum):
        return jsonable(v.value)
    if isinstance(v, (list, tuple, set, frozenset)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    return repr(v)[:200]


DEPRECATION = re.compile(r"deprecat|will be removed|no longer|is ignored", re.I)
REPLACEMENT = re.compile(r"(?:use|replaced by|in favou?r of|instead,? use|please use)\s+(`?-(?:-|)[A-Za-z][\w.-]*`?(?:[ =][\w.:\"'{}-]+)?)", re.I)


def walk(top, serve) -> dict:
    deprecated_actions = getattr(serve, "_deprecated", set()) or set()
    groups = {}
    for g in serve._action_groups:
        for a in g._group_actions:
            groups[id(a)] = g.title
    by_action: dict[int, list[str]] = {}
    actions = {}
    for opt, a in serve._option_string_actions.items():
        by_action.setdefault(id(a), []).append(opt)
        actions[id(a)] = a
    flags = []
    for a in serve._actions:
        if not a.option_strings:
            continue
        strings = by_action.get(id(a), list(a.option_strings))
        cls = type(a).__name__
        negative = set()
        if hasattr(a, "negative_option_strings"):
            negative = set(a.negative_option_strings)
        elif isinstance(a, argparse.BooleanOptionalAction):
            negative = {s for s in strings if s.startswith("--no-")}
        dest_opt = "--" + a.dest.replace("_", "-")
        positive = [s for s in strings if s not in negative]
        longs = [s for s in positive if s.startswith("--")]
        name = dest_opt if dest_opt in positive else (longs[0] if longs else positive[0])
        if cls in ("_StoreTrueAction", "_StoreFalseAction", "_StoreConstAction", "_CountAction", "_AppendConstAction"):
            kind = "switch"
        elif cls in ("BooleanOptionalAction", "EnableDisableAction"):
            kind = "switch"
        elif cls == "_HelpAction":
            kind = "help"
        elif cls == "_VersionAction":
            kind = "version"
        elif cls == "_AppendAction":
            kind = "append"
        else:
            kind = "store"
        takes_value = a.nargs != 0 and kind not in ("switch", "help", "version")
        help_text = (a.help or "") if a.help is not argparse.SUPPRESS else ""
        dep = a in deprecated_actions or bool(getattr(a, "deprecated", False))
        dep_text = None
        first = help_text.strip().split("\n\n")[0]
        if DEPRECATION.search(help_text):
            dep = True
            m = re.search(r"[^.]*(?:deprecat|will be removed)[^.]*\.", help_text, re.I)
            dep_text = (m.group(0) if m else first).strip()
        repl = None
        if dep_text:
            m = REPLACEMENT.search(dep_text)
            if m:
                repl = m.group(1).strip("`")
        choices = None
        if a.choices is not None:
            choices = [jsonable(c) for c in a.choices]
        f = {
            "name": name,
            "aliases": [s for s in positive if s != name],
            "negations": sorted(negative),
            "action": cls,
            "kind": kind,
            "takes_value": takes_value,
            "nargs": a.nargs if not isinstance(a.nargs, int) else a.nargs,
            "type": describe_type(a.type) if takes_value else None,
            "choices": choices,
            # argparse checks choices after type conversion, for every action that takes values
            "choices_enforced": choices is not None,
            "metavar": jsonable(a.metavar) if a.metavar is not None else None,
            "const": jsonable(a.const) if a.const is not None else None,
            "default": jsonable(a.default) if a.default is not argparse.SUPPRESS else None,
            "required": bool(a.required),
            "deprecated": dep,
            "group": groups.get(id(a)),
            "dest": a.dest,
            "help": first[:400],
        }
        if dep_text:
            f["deprecation"] = dep_text[:400]
        if repl:
            f["replacement"] = repl
        flags.append(f)
    return {
        "prefix_chars": serve.prefix_chars,
        "allow_abbrev": serve.allow_abbrev,
        "flags": flags,
    }


# ---------------------------------------------------------------- the oracle

class _Exit(Exception):
    def __init__(self, code, message):
        self.code, self.message = code, message


def verdict(top, argv: list[str]) -> dict:
    err = io.StringIO()
    out = io.StringIO()
    full = PREFIX + argv
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            ns = top.parse_args(full)
    except SystemExit as e:
        msg = [l for l in err.getvalue().strip().splitlines() if l.strip()]
        first = next((i for i, l in enumerate(msg) if ": error: " in l), None)
        text = " | ".join(msg[first:first + 3]) if first is not None else (msg[-1] if msg else f"exit {e.code}")
        text = re.sub(r"^\S+ (serve )?error: ", "", re.sub(r"^[\w.]+( serve)?: error: ", "", text))
        return {"ok": False, "stage": "help" if e.code == 0 else "argparse", "error": text[:240]}
    except Exception as e:  # vLLM's own pre-parse checks raise
        return {"ok": False, "stage": "preparse", "error": f"{type(e).__name__}: {str(e)[:300]}"}
    v = {"ok": True}
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                from vllm.entrypoints.openai.cli_args import validate_parsed_serve_args
            except ImportError:
                from vllm.entrypoints.common.cli_args import validate_parsed_serve_args
            validate_parsed_serve_args(ns)
    except Exception as e:
        v["serve_check"] = f"{type(e).__name__}: {str(e)[:300]}"
    return v


def corpus(cat: dict) -> list[dict]:
    """Real-world configurations (fixed) plus generated edge cases, per release."""
    items: list[dict] = []
    with open(os.path.join(HERE, "real-world.json")) as fh:
        for rw in json.load(fh):
            items.append({"set": "real-world", "name": rw["name"], "argv": rw["argv"]})
    with open(os.path.join(HERE, "edge-cases.json")) as fh:
        for argv in json.load(fh):
            items.append({"set": "edge", "argv": argv})
    owned = {"--port", "--served-model-name", "--model", "--api-key", "--host", "--help", "--version", "--config"}
    sample = {
        "int": ["2", "-3", "016", "1_024", "1.5", "x", "2k", "0x10"],
        "float": ["0.5", "1e-3", "infinity", "nan", "1_0.5", "abc", " 0.7", "1,5"],
        "human_readable_int": ["32k", "1K", "1.5K", "25.6k", "1_024", "4096", "auto", "-1", "1.5m"],
        "human_readable_int_or_auto": ["32k", "auto", "AUTO", "-1", "1.5K", "2g", "8192", "-2"],
        "json": ['{"a": 1}', "[1, 2]", "*", "{bad}", "3", '"x"', "null"],
        "union_dict_and_str": ['{"a": 1}', "{bad", "plain", " {\"a\": 2} "],
        "str": ["x", "", "None"],
    }
    def base(t):
        while t and t.get("kind") == "optional":
            t = t["inner"]
        return t or {"kind": "str"}
    for f in cat["flags"]:
        n = f["name"]
        if n in owned or f["kind"] in ("help", "version"):
            continue
        opts = [n] + f["aliases"][:2]
        if f["kind"] == "switch":
            items.append({"set": "gen", "argv": [n]})
            items.append({"set": "gen", "argv": [f"{n}=true"]})
            for neg in f["negations"][:2]:
                items.append({"set": "gen", "argv": [neg]})
            for a in f["aliases"][:2]:
                items.append({"set": "gen", "argv": [a]})
            continue
        t = base(f["type"])
        vals = []
        if f["choices"]:
            cs = [c for c in f["choices"] if c is not None]
            vals += [str(c) for c in cs[:3]]
            if cs:
                vals += [str(cs[0]).upper(), str(cs[0]).capitalize(), str(cs[-1]) + "x"]
            vals += ["None"]
        vals += sample.get(t["kind"], [])
        if t["kind"] == "dataclass":
            vals += ["{}", '{"no_such_key_xyz": 1}', "not json", "{}  "]
            schema = SCHEMAS.get(t["schema"]) or {}
            props = list((schema.get("properties") or {}).items())[:6]
            for k, p in props:
                for v in ["1", '"x"', "true", "[1]", "null", "1.5", '"1"', "2k"]:
                    vals.append("{" + json.dumps(k) + ": " + v + "}")
                items.append({"set": "gen", "argv": [f"{n}.{k}", "1"]})
                items.append({"set": "gen", "argv": [f"{n}.{k}=x"]})
        for v in dict.fromkeys(vals):
            items.append({"set": "gen", "argv": [n, v]})
            items.append({"set": "gen", "argv": [f"{n}={v}"]})
        for a in opts[1:]:
            items.append({"set": "gen", "argv": [a, vals[0] if vals else "1"]})
            if a.startswith("-") and not a.startswith("--"):
                items.append({"set": "gen", "argv": [f"{a}{vals[0] if vals else '1'}"]})
                items.append({"set": "gen", "argv": [f"{a}={vals[0] if vals else '1'}"]})
        items.append({"set": "gen", "argv": [n]})
        if f["nargs"] == "+":
            items.append({"set": "gen", "argv": [n, vals[0] if vals else "1", vals[1] if len(vals) > 1 else "2"]})
        # an abbreviation: the shortest unique prefix, and one shorter
        longs = [s for fl in cat["flags"] for s in [fl["name"], *fl["aliases"], *fl["negations"]] if s.startswith("--")]
        for cut in range(6, len(n)):
            pre = n[:cut]
            hits = {s for s in longs if s.startswith(pre)}
            if len(hits) == 1:
                items.append({"set": "gen", "argv": [pre, vals[0] if vals else "1"]})
                items.append({"set": "gen", "argv": [n[:cut - 1], vals[0] if vals else "1"]})
                break
        items.append({"set": "gen", "argv": ["--" + n[2:].replace("-", "_"), vals[0] if vals else "1"]})
    return items


# ---------------------------------------------------------------- a held-out corpus

def heldout_corpus(cat: dict, seed: int = 20260) -> list[dict]:
    """A second, independent corpus: other values, other fields, other spellings than corpus() and
    PROBE_VALUES, drawn with a fixed seed. It measures the validator on argvs it was not built from
    (written to <version>.heldout.json; test/vllm-catalog/heldout/ keeps the ones the tests use)."""
    import random

    rnd = random.Random(f"{seed}-{cat['vllm_version']}")
    owned = {"--port", "--served-model-name", "--model", "--api-key", "--host", "--help", "--version", "--config"}
    ints = ["7", "+5", " 12", "12 ", "-0", "1e3", "0o7", "0b1", "1__0", "_1", "10_", "\u0663", "00", "+0", "2.0",
            "65536", "-65536", "3 4", "", "9999999999999999999999", "1,024", "4k"]
    floats = ["+1.5", ".5", "5.", "1E5", "inf", "-Infinity", "NaN", "1_000.5", "0x1p3", " 2.5\n", "-0.0", "1e400",
              "0.9", "1/2", "", "1.5.1", "+inf", "e5", "1_e5", "0.95"]
    hri = ["2M", "1G", "0.5k", "1.25K", "3KiB", "10B", "64K", "1.5G", "0.1", "1m", "1_000k", " 8k", "8k ", "-4k",
           "1T", "16", "0", "k", "1.0", "2.5", "1e3", "+2k"]
    jsons = ['{"a": {"b": [1, 2]}}', "{'a': 1}", "[]", "{}", "1.5", "true", '{"a":1,}', "  {}  ", '{"a": NaN}',
             "[{}]", '"plain"', "{", "-1", '{"": 0}']
    strs = ["abc", "a b", "-x", "--y", "=", "0", "true", "none", "NONE", "Auto"]

    def base(t):
        while t and t.get("kind") == "optional":
            t = t["inner"]
        return t or {"kind": "str"}

    def field_values(p: dict) -> list[str]:
        vals = ["2", "7", "-5", "0.25", "3.0", '"abc"', '"auto"', '"AUTO"', "[2, 3]", '["a", "b"]', '{"a": 1}',
                '{"x": "y"}', '"2"', '" "', "1e3", '"none"', "[null]", "100000"]
        for key in ("enum",):
            for e in (p.get(key) or [])[:4]:
                vals += [json.dumps(e)]
                if isinstance(e, str):
                    vals += [json.dumps(e.upper()), json.dumps(e + "_")]
        for sub in (p.get("anyOf") or []) + (p.get("oneOf") or []):
            for e in (sub.get("enum") or [])[:3]:
                vals += [json.dumps(e)]
                if isinstance(e, str):
                    vals += [json.dumps(e.upper())]
            if "const" in sub:
                vals += [json.dumps(sub["const"])]
        if "const" in p:
            vals += [json.dumps(p["const"])]
        return vals

    items: list[dict] = []
    flags = [f for f in cat["flags"] if f["name"] not in owned and f["kind"] not in ("help", "version")]
    longs = [s for fl in cat["flags"] for s in [fl["name"], *fl["aliases"], *fl["negations"]] if s.startswith("--")]

    def good(f) -> str:
        t = base(f["type"])
        if f["choices"]:
            cs = [c for c in f["choices"] if c is not None]
            if cs:
                return str(rnd.choice(cs))
        return {"int": "4", "float": "0.5", "human_readable_int": "4096", "human_readable_int_or_auto": "4096",
                "json": "{}", "dataclass": "{}", "pybool": "True"}.get(t["kind"], "abc")

    for f in flags:
        n = f["name"]
        if f["kind"] == "switch":
            for v in rnd.sample(["=false", "=1", "=", "=yes", " extra"], 2):
                items.append({"set": "heldout", "argv": [n + v] if not v.startswith(" ") else [n, v[1:]]})
            if not f["negations"]:
                items.append({"set": "heldout", "argv": ["--no-" + n[2:]]})
            items.append({"set": "heldout", "argv": [n, n]})
            continue
        t = base(f["type"])
        k = t["kind"]
        vals: list[str] = []
        if f["choices"]:
            cs = [str(c) for c in f["choices"] if c is not None]
            for c in rnd.sample(cs, min(3, len(cs))):
                vals += [c, c.lower(), c.swapcase(), c.replace("_", "-"), c.replace("-", "_"), " " + c, c[:-1]]
        pool = {"int": ints, "float": floats, "human_readable_int": hri, "human_readable_int_or_auto": hri + ["Auto", " auto"],
                "json": jsons, "union_dict_and_str": jsons + strs, "str": strs, "pybool": ["True", "False", "true", "0", "yes"],
                "lower": strs, "lower_underscore": strs, "enum": strs}.get(k, strs)
        vals += rnd.sample(pool, min(6, len(pool)))
        if k == "enum":
            for nm in (t.get("names") or [])[:3]:
                vals += [nm, nm.lower()]
            for vv in (t.get("values") or [])[:3]:
                vals += [vv, vv.upper()]
        if k == "dataclass":
            schema = SCHEMAS.get(t["schema"]) or {}
            props = list((schema.get("properties") or {}).items())
            picked = rnd.sample(props, min(10, len(props)))
            for key, p in picked:
                fv = field_values(p)
                for v in rnd.sample(fv, min(5, len(fv))):
                    vals.append("{" + json.dumps(key) + ": " + v + "}")
                    if rnd.random() < 0.3:
                        items.append({"set": "heldout", "argv": [f"{n}.{key}", v.strip('"')]})
                items.append({"set": "heldout", "argv": [f"{n}.{key}={rnd.choice(['2', 'true', 'abc', '[1]', '0.5'])}"]})
                if rnd.random() < 0.2:
                    items.append({"set": "heldout", "argv": [f"{n}.{key}.sub", "1"]})
            if len(props) >= 2:
                for _ in range(4):
                    (k1, p1), (k2, p2) = rnd.sample(props, 2)
                    v1, v2 = rnd.choice(field_values(p1)), rnd.choice(field_values(p2))
                    vals.append("{" + json.dumps(k1) + ": " + v1 + ", " + json.dumps(k2) + ": " + v2 + "}")
            vals += ['{"' + n[2:] + '": 1}', "[]", "null", "{} {}", '{"a":']
        for v in dict.fromkeys(vals):
            items.append({"set": "heldout", "argv": rnd.choice([[n, v], [f"{n}={v}"]])})
        if f["nargs"] in ("+", "*"):
            items.append({"set": "heldout", "argv": [n, good(f), good(f), good(f)]})
        if f["nargs"] == "*":
            items.append({"set": "heldout", "argv": [n]})
        # an abbreviation of random length
        cut = rnd.randrange(4, max(5, len(n)))
        items.append({"set": "heldout", "argv": [n[:cut], good(f)]})
        items.append({"set": "heldout", "argv": [n, good(f), n, good(f)]})
    # pairs of flags with plausible values, and a value that looks like a flag
    for _ in range(min(300, len(flags) * 2)):
        a, b = rnd.sample(flags, 2)
        argv = []
        for f in (a, b):
            argv += [f["name"]] if f["kind"] == "switch" else [f["name"], good(f)]
        items.append({"set": "heldout", "argv": argv})
    for f in rnd.sample([f for f in flags if f["kind"] != "switch"], min(20, len(flags))):
        items.append({"set": "heldout", "argv": [f["name"], rnd.choice(["-1", "-x", "--", "-1.5", "-1k"])]})
    return items


# JSON values every field of every config option is probed with (alone, as {"field": VALUE}): the config
# class's own validators give the verdict, including the custom validators and cross-field rules that the
# JSON schema cannot express. vllmapp applies these verdicts offline (src/vllm/serve-args.ts).
PROBE_VALUES = ["1", "0", "-1", '"x"', '""', "true", "false", "[1]", '["x"]', "[]", "{}", "null", "1.5", '"1"', "2k"]


def case_probes(prop: dict, schema: dict) -> list[str]:
    """A field's first documented name, and in other letter cases: some validators lower-case (or upper-case)
    first, and a valid value alone shows the rules across fields."""
    def deref(p):
        ref = p.get("$ref", "") if isinstance(p, dict) else ""
        return (schema.get("$defs") or {}).get(ref.rsplit("/", 1)[-1], p) if ref.startswith("#/$defs/") else p
    prop = deref(prop)
    names = [e for e in (prop.get("enum") or []) if isinstance(e, str)]
    for sub in map(deref, (prop.get("anyOf") or []) + (prop.get("oneOf") or [])):
        names += [e for e in (sub.get("enum") or []) if isinstance(e, str)]
        if isinstance(sub.get("const"), str):
            names.append(sub["const"])
    if isinstance(prop.get("const"), str):
        names.append(prop["const"])
    out = []
    for e in names[:1]:
        for v in (e, e.upper(), e.lower(), e.capitalize()):
            if (v != e or json.dumps(v) not in PROBE_VALUES) and json.dumps(v) not in out:
                out.append(json.dumps(v))
    return out


def probe(serve) -> dict:
    out: dict[str, dict] = {}
    for a in serve._actions:
        t = describe_type(a.type) if a.option_strings and a.nargs != 0 and a.type is not None else None
        while t and t.get("kind") == "optional":
            t = t["inner"]
        if not t or t.get("kind") != "dataclass" or t["schema"] in out:
            continue
        schema = SCHEMAS.get(t["schema"]) or {}
        fields: dict[str, dict] = {}
        for k, prop in (schema.get("properties") or {}).items():
            verdicts = {}
            for v in [*PROBE_VALUES, *case_probes(prop, schema)]:
                try:
                    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                        a.type("{" + json.dumps(k) + ": " + v + "}")
                    verdicts[v] = None
                except BaseException as e:  # noqa: BLE001 - argparse turns any exception into a refusal
                    if isinstance(e, KeyboardInterrupt):
                        raise
                    verdicts[v] = re.sub(r"\s+", " ", f"{type(e).__name__}: {e}")[:240]
            fields[k] = verdicts
        out[t["schema"]] = fields
    return out


# ---------------------------------------------------------------- values, metrics, CUDA

def config_class(group: str | None):
    """The config class a help group is named after (vllm.config.CacheConfig for "CacheConfig")."""
    if not group or not re.fullmatch(r"[A-Z]\w*Config", group):
        return None
    with contextlib.suppress(Exception):
        import vllm.config as vc

        cls = getattr(vc, group, None)
        if isinstance(cls, type):
            return cls
    return None


CONSTRAINTS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "multipleOf")


def field_constraints(cls, field: str) -> dict | None:
    """The field's own bounds (pydantic Field(gt=, ge=, lt=, le=, ...)) from the class's JSON schema."""
    try:
        from pydantic import TypeAdapter
        from pydantic.json_schema import GenerateJsonSchema

        class Lenient(GenerateJsonSchema):
            def handle_invalid_for_json_schema(self, schema, error_info):
                return {}

        key = f"{cls.__module__}.{cls.__qualname__}"
        full = FULL_SCHEMAS.get(key)
        if full is None:
            full = FULL_SCHEMAS[key] = TypeAdapter(cls).json_schema(mode="validation", schema_generator=Lenient)
    except Exception:
        return None
    prop = (full.get("properties") or {}).get(field)
    if not isinstance(prop, dict):
        return None
    found: dict = {}
    for sub in [prop, *(prop.get("anyOf") or [])]:
        for k in CONSTRAINTS:
            if k in sub:
                found[k] = sub[k]
    return found or None


FULL_SCHEMAS: dict[str, dict] = {}


def value_rules(cat: dict) -> tuple[dict, list[dict]]:
    """Per flag, the bounds its config class's field declares, and the class's own verdict on values at and
    beyond each bound (the rule vLLM applies when it builds the config at start-up, after argparse)."""
    rules: dict[str, dict] = {}
    checks: list[dict] = []
    for f in cat["flags"]:
        cls = config_class(f.get("group"))
        dest = f.get("dest")
        if cls is None or not dest or not f["takes_value"]:
            continue
        c = field_constraints(cls, dest)
        if not c:
            continue
        rules[f["name"]] = {"config": cls.__name__, "field": dest, **c}
        samples = set()
        for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if isinstance(c.get(k), (int, float)):
                b = c[k]
                samples |= {b, b - 1, b + 1, b - 0.5, b + 0.5} if isinstance(b, int) else {b, b * 1.5 if b else 0.5, b / 2, -b if b else -0.5}
        for x in sorted(samples):
            try:
                with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                    cls(**{dest: x})
                err = None
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, KeyboardInterrupt):
                    raise
                err = re.sub(r"\s+", " ", f"{type(e).__name__}: {e}")[:240]
            checks.append({"flag": f["name"], "value": x, "error": err})
    return rules, checks


def registered_names() -> dict:
    """The names vLLM looks values up in when the engine starts: parsers, quantization methods, backends."""
    out: dict[str, dict] = {}

    def first(*paths):
        for mod, attr in paths:
            with contextlib.suppress(Exception):
                return getattr(importlib.import_module(mod), attr)
        return None

    def manager_names(m) -> list[str] | None:
        if m is None:
            return None
        names: list[str] = []
        for attr in ("reasoning_parsers", "tool_parsers", "lazy_parsers"):
            names += list(getattr(m, attr, {}) or {})
        return sorted(dict.fromkeys(names)) or None

    rp = manager_names(first(("vllm.reasoning", "ReasoningParserManager"), ("vllm.reasoning.abs_reasoning_parsers", "ReasoningParserManager")))
    if rp:
        out["--reasoning-parser"] = {"names": rp, "registry": "ReasoningParserManager", "plugin_flag": "--reasoning-parser-plugin"}
    tp = manager_names(first(("vllm.tool_parsers", "ToolParserManager"), ("vllm.entrypoints.openai.tool_parsers", "ToolParserManager"),
                             ("vllm.entrypoints.openai.tool_parsers.abstract_tool_parser", "ToolParserManager")))
    if tp:
        out["--tool-call-parser"] = {"names": tp, "registry": "ToolParserManager", "plugin_flag": "--tool-parser-plugin"}
    q = first(("vllm.model_executor.layers.quantization", "QUANTIZATION_METHODS"))
    if q:
        out["--quantization"] = {"names": sorted(dict.fromkeys(str(x) for x in q)), "registry": "QUANTIZATION_METHODS"}
    be = first(("vllm.v1.attention.backends.registry", "AttentionBackendEnum"), ("vllm.attention.backends.registry", "AttentionBackendEnum"),
               ("vllm.attention.backends.registry", "_Backend"), ("vllm.platforms.interface", "_Backend"))
    if be is not None:
        out["--attention-backend"] = {"names": [m.name for m in be], "registry": be.__name__}
    return out


def enum_members() -> dict:
    """The member names of every enum a config class's field takes. Some validators look a JSON value up by
    member name ({"cudagraph_mode": "FULL_AND_PIECEWISE"}); the schemas' $defs name the enum by its class
    name, which is the key the validator (py-values.ts memberNames) finds the names by."""
    import typing

    out: dict[str, dict] = {}
    seen: set = set()

    def fields_of(cls) -> None:
        if cls in seen:
            return
        seen.add(cls)
        with contextlib.suppress(Exception):
            fields = getattr(cls, "__pydantic_fields__", None)
            hints = {k: f.annotation for k, f in fields.items()} if fields else typing.get_type_hints(cls)
            for t in hints.values():
                visit(t)

    def visit(tp, depth: int = 0) -> None:
        if depth > 5:
            return
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            out[f"enum:{tp.__name__}"] = {"names": [m.name for m in tp], "registry": tp.__name__}
        elif isinstance(tp, type) and (dataclasses.is_dataclass(tp) or hasattr(tp, "__pydantic_fields__")):
            fields_of(tp)
        for a in typing.get_args(tp):
            visit(a, depth + 1)

    for key in SCHEMAS:
        mod, _, qual = key.rpartition(".")
        with contextlib.suppress(Exception):
            fields_of(getattr(importlib.import_module(mod), qual))
    return dict(sorted(out.items()))


def cuda_of() -> dict:
    """The CUDA the release's wheels (and official images) are built for: the one its torch pins."""
    out: dict = {}
    with contextlib.suppress(Exception):
        import torch

        out["torch"] = torch.__version__
        if torch.version.cuda:
            out["version"] = ".".join(torch.version.cuda.split(".")[:2])
    with contextlib.suppress(Exception):
        reqs = importlib.metadata.requires("vllm") or []
        out["torch_requirement"] = next((r.split(";")[0].strip() for r in reqs if re.match(r"torch\b", r) and "extra" not in r), None)
    return out


def values_only(out_dir: str, version: str, cat: dict) -> None:
    """VALUES_ONLY=1: what a catalog extracted before extract.py read values lacks (value rules, registered
    names, enum member names), as raw/<version>.values-only.json, which merge.py lays over the committed
    catalog; the parser walk is the one the committed catalog was made from (merge.py checks the flags)."""
    rules, checks = value_rules(cat)
    out = {"vllm_version": version, "flag_names": sorted(f["name"] for f in cat["flags"]), "value_rules": rules,
           "value_checks": checks, "registered": {**registered_names(), **enum_members()}}
    with open(os.path.join(out_dir, f"{version}.values-only.json"), "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(f"{version}: values only: {len(rules)} value rules, {len(out['registered'])} registries")


def main():
    out_dir = sys.argv[1]
    version = importlib.metadata.version("vllm")
    top, serve = build_parser()
    cat = walk(top, serve)
    if os.environ.get("VALUES_ONLY"):
        return values_only(out_dir, version, cat)
    cat = {
        "vllm_version": version,
        "python": sys.version.split()[0],
        "command": "vllm serve",
        "oracle_prefix": PREFIX,
        **cat,
        "schemas": {},
    }
    cat["schemas"] = {k: v for k, v in SCHEMAS.items()}
    cat["probes"] = probe(serve)
    cat["flag_count"] = len(cat["flags"])
    cat["value_rules"], value_checks = value_rules(cat)
    cat["value_checks"] = value_checks
    cat["registered"] = {**registered_names(), **enum_members()}
    cat["cuda"] = cuda_of()
    import vllm
    sys.path.insert(0, HERE)
    import metrics as metrics_mod

    cat["metrics"] = metrics_mod.scan(os.path.dirname(vllm.__file__))
    vectors = []
    seen = set()
    for item in corpus(cat):
        key = json.dumps(item["argv"])
        if key in seen and item["set"] == "gen":
            continue
        seen.add(key)
        item.update(verdict(top, item["argv"]))
        vectors.append(item)
    heldout = []
    for item in heldout_corpus(cat):
        key = json.dumps(item["argv"])
        if key in seen:
            continue
        seen.add(key)
        item.update(verdict(top, item["argv"]))
        heldout.append(item)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{version}.heldout.json"), "w") as fh:
        fh.write('{"vllm_version": %s, "prefix": %s, "vectors": [\n' % (json.dumps(version), json.dumps(PREFIX)))
        fh.write(",\n".join(json.dumps(v, ensure_ascii=False) for v in heldout))
        fh.write("\n]}\n")
    with open(os.path.join(out_dir, f"{version}.json"), "w") as fh:
        json.dump(cat, fh, indent=1, sort_keys=False)
        fh.write("\n")
    with open(os.path.join(out_dir, f"{version}.vectors.json"), "w") as fh:
        fh.write('{"vllm_version": %s, "prefix": %s, "vectors": [\n' % (json.dumps(version), json.dumps(PREFIX)))
        fh.write(",\n".join(json.dumps(v, ensure_ascii=False) for v in vectors))
        fh.write("\n]}\n")
    print(f"{version}: {len(cat['flags'])} flags, {len(cat['schemas'])} config schemas, {len(cat['metrics'])} metrics, "
          f"{len(cat['value_rules'])} value rules, CUDA {cat['cuda'].get('version')}, {len(vectors)} vectors "
          f"({sum(1 for v in vectors if v['ok'])} accepted), {len(heldout)} held-out")


if __name__ == "__main__":
    main()
