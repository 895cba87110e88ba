#!/usr/bin/env bash
# Build the root filesystem of the test bed's real vLLM image (called by test/testbed/vllm-image.mjs).
#   build-rootfs.sh ROOTFS [MIRROR]
# debootstrap (Debian bookworm, minbase) into ROOTFS, then, inside a chroot with /proc, /sys and /dev
# mounted (always unmounted again on exit), install.sh puts vLLM's CPU build into the venv /opt/vllm
# and a smoke `vllm serve` of the tiny model fills vLLM's model-inspection cache (/opt/vllm-cache).
# Needs root, debootstrap and the network (Debian's archive, PyPI). Leaves ROOTFS ready to pack.
set -euo pipefail
ROOT=$1
MIRROR=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)

PACKAGES=python3,python3-venv,libnuma1,libstdc++6,ca-certificates,curl,procps

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[$i]}" 2>/dev/null || umount -R -l "${mounted[$i]}" || true
  done
  if findmnt -rn -o TARGET | grep -q "^$ROOT/"; then
    echo "build-rootfs.sh: mounts left under $ROOT:" >&2
    findmnt -rn -o TARGET | grep "^$ROOT/" >&2
    exit 1
  fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

t0=$SECONDS
echo "debootstrap bookworm (minbase) into $ROOT" >&2
rm -rf "$ROOT"
mkdir -p "$(dirname "$ROOT")"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOT" ${MIRROR:+"$MIRROR"} >&2
echo "debootstrap done in $((SECONDS - t0)) s" >&2

mount -t proc proc "$ROOT/proc" && mounted+=("$ROOT/proc")
mount --rbind /sys "$ROOT/sys" && mount --make-rslave "$ROOT/sys" && mounted+=("$ROOT/sys")
mount --rbind /dev "$ROOT/dev" && mount --make-rslave "$ROOT/dev" && mounted+=("$ROOT/dev")

mkdir -p "$ROOT/tmp/build"
cp "$HERE/install.sh" "$HERE/requirements.py" "$HERE/smoke.py" "$HERE/constraints.txt" "$HERE/../tiny-model.py" "$ROOT/tmp/build/"
# The host's CA bundle (the registries may be reached through a proxy with its own CA) and resolver.
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/tmp/build/host-ca.crt"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

t1=$SECONDS
chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  PIP_CERT=/tmp/build/host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 PIP_NO_CACHE_DIR=1 \
  /bin/bash /tmp/build/install.sh >&2
echo "install + smoke done in $((SECONDS - t1)) s" >&2

# What the image must not carry: build files, the host's resolver, apt's lists and downloaded debs.
rm -rf "$ROOT/tmp/build" "$ROOT"/tmp/* "$ROOT"/var/tmp/* "$ROOT/root/.cache" "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb
: > "$ROOT/etc/resolv.conf"
