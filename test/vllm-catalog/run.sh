#!/usr/bin/env bash
# Maintainer tool (not part of npm test): build vLLM serve catalogs and oracle vectors from real releases.
#   npm run catalog -- 0.35.0                 one new release, end to end (README: "Adding a vLLM release")
#   test/vllm-catalog/run.sh [VERSION...]     (default: every release listed in releases.txt)
#   VALUES_ONLY=1 test/vllm-catalog/run.sh V  a catalog extracted before extract.py read values: only its value
#                                             rules and registered names (raw/V.values-only.json, laid over it)
# Each release is installed into a scratch environment with uv (~5 min and ~9 GB on a 2-core machine),
# its parser is walked by extract.py (raw/<version>.json), then the environment is deleted. Finally
# merge.py adds the releases to the committed catalogs in templates/vllm/catalogs/ (history, CUDA floor,
# metrics.json). overrides/<version>.txt, when present, overrides pins the release's own metadata gets
# wrong (uv --override). Needs Python 3.12 (the vLLM images' Python); installs uv with pip if missing.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="${VLLM_CATALOG_SCRATCH:-/tmp/vllm-catalog}"
python="${VLLM_CATALOG_PYTHON:-}"
if [ -z "$python" ]; then
  python=$(command -v python3.12 || true)
  # a pyenv shim exists even where the selected version is another: take it only when it runs
  [ -n "$python" ] && ! "$python" -c '' 2>/dev/null && python=
  [ -z "$python" ] && python=$(ls "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1)
  [ -z "$python" ] && python=3.12  # uv finds (or downloads) a CPython 3.12
fi
command -v uv >/dev/null || python3 -m pip install -q uv || { echo "uv is missing and pip could not install it" >&2; exit 1; }
raw="$here/raw"
mkdir -p "$scratch" "$raw"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$scratch/uv-cache}"
versions=("$@")
[ ${#versions[@]} -eq 0 ] && mapfile -t versions < <(grep -v '^#' "$here/releases.txt")
for v in "${versions[@]}"; do
  [ -z "$v" ] && continue
  done_file="$raw/$v.json"; [ -n "${VALUES_ONLY:-}" ] && done_file="$raw/$v.values-only.json"
  if [ -f "$done_file" ] && [ -z "${FORCE:-}" ]; then echo "$v: done already"; continue; fi
  env="$scratch/env-$v"
  rm -rf "$env"
  start=$(date +%s)
  status=ok
  if ! uv venv -q -p "$python" "$env" >"$scratch/$v.log" 2>&1; then status="venv failed"; fi
  override=()
  [ -f "$here/overrides/$v.txt" ] && override=(--override "$here/overrides/$v.txt")
  if [ "$status" = ok ] && ! uv pip install -q -p "$env/bin/python" "vllm==$v" "${override[@]}" >>"$scratch/$v.log" 2>&1; then status="install failed"; fi
  if [ "$status" = ok ] && ! "$env/bin/python" "$here/extract.py" "$raw" >>"$scratch/$v.log" 2>&1; then status="parser failed"; fi
  rm -rf "$env"
  if [ "$status" != ok ]; then
    python3 -c 'import json,sys; json.dump({"vllm_version": sys.argv[1], "error": sys.argv[2], "log": open(sys.argv[3]).read()[-1500:]}, open(sys.argv[4], "w"), indent=1)' \
      "$v" "$status" "$scratch/$v.log" "$raw/$v.error.json"
  else
    rm -f "$raw/$v.error.json"
  fi
  echo "$v: $status in $(( $(date +%s) - start ))s; $(tail -1 "$scratch/$v.log")"
  [ "$status" = ok ] && [ -z "${VALUES_ONLY:-}" ] && cp "$raw/$v.heldout.json" "$here/heldout/$v.json"
  # keep the download cache from filling the (shared) disk: one release's wheels at a time
  uv cache clean -q >/dev/null 2>&1 || true
done
[ -n "${SKIP_MERGE:-}" ] && exit 0
python3 "$here/merge.py" "$raw" "$root/templates/vllm/catalogs" "$root/test/vllm-catalog/vectors"
