#!/usr/bin/env bash
# Build the test bed's control-plane binaries from Go modules (through the Go
# module proxy) into a per-version cache outside the repo, only when missing.
#
#   test/cluster/build-bins.sh [k8s] [etcd] [kwok] [kubelet] [nodetools]   (default: all)
#
# Cache: ${VLLMAPP_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vllmapp-testbed}/<component>-<version>/
#   k8s-v1.36.3/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}
#   etcd-v3.6.13/etcd
#   kwok-v0.8.0/kwok
#   kubelet-v1.36.3/kubelet            (the real node's kubelet, same module as the control plane)
#   nodetools-<hash>/pause             (the real node's sandbox process; hash of test/cluster/nodetools)
# A directory is used only once it holds a ".complete" marker (written last).
# Progress goes to stderr; on success the cache root is printed on stdout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$HERE/versions.env"
CACHE=${VLLMAPP_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vllmapp-testbed}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

log() { printf '[build-bins %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need_go() { command -v go >/dev/null || die "go is not installed (Go >= 1.26 is needed to build k8s $K8S_VERSION)"; }

check_pin() { # module-dir module version
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?$2[[:space:]]+$3([[:space:]]|$)" "$HERE/tools/$1/go.mod" \
    || die "test/cluster/tools/$1/go.mod does not require $2 $3 (versions.env and go.mod disagree)"
}

# -ldflags that stamp the version into k8s.io/component-base/version and k8s.io/client-go/pkg/version
k8s_ldflags() {
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ldf="-s -w" kv
  for kv in gitVersion=$K8S_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean buildDate=1970-01-01T00:00:00Z; do
    ldf+=" -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
  done
  printf '%s' "$ldf"
}

build_k8s() {
  local out="$CACHE/k8s-$K8S_VERSION"
  [[ -f $out/.complete ]] && { log "k8s $K8S_VERSION: cached in $out"; return; }
  need_go; check_pin k8s k8s.io/kubernetes "$K8S_VERSION"
  local ldf; ldf=$(k8s_ldflags)
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  log "k8s $K8S_VERSION: building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (cold: ~15-30 min on 2 cores)"
  (cd "$HERE/tools/k8s" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldf" -o "$out.tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  "$out.tmp/kube-apiserver" --version >&2
  "$out.tmp/kubectl" version --client >&2
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "k8s $K8S_VERSION: done"
}

build_kubelet() {
  local out="$CACHE/kubelet-$K8S_VERSION"
  [[ -f $out/.complete ]] && { log "kubelet $K8S_VERSION: cached in $out"; return; }
  need_go; check_pin k8s k8s.io/kubernetes "$K8S_VERSION"
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  log "kubelet $K8S_VERSION: building (about 1 min after the control plane, 4-6 min alone)"
  (cd "$HERE/tools/k8s" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$(k8s_ldflags)" -o "$out.tmp/" \
      k8s.io/kubernetes/cmd/kubelet)
  "$out.tmp/kubelet" --version >&2
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "kubelet $K8S_VERSION: done"
}

# sha256 over "<relative path><content>" of each .go/go.mod file in path order (lib.mjs computes the same)
nodetools_hash() {
  (cd "$HERE/nodetools" && find . -type f \( -name '*.go' -o -name go.mod \) -printf '%P\n' | LC_ALL=C sort \
    | while read -r f; do printf '%s' "$f"; cat "$f"; done | sha256sum | cut -c1-16)
}

build_nodetools() {
  local out
  out="$CACHE/nodetools-$(nodetools_hash)"
  [[ -f $out/.complete ]] && { log "nodetools: cached in $out"; return; }
  need_go
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  log "nodetools: building pause"
  (cd "$HERE/nodetools" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/pause" ./pause)
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "nodetools: done"
}

build_etcd() {
  local out="$CACHE/etcd-$ETCD_VERSION"
  [[ -f $out/.complete ]] && { log "etcd $ETCD_VERSION: cached in $out"; return; }
  need_go; check_pin etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  log "etcd $ETCD_VERSION: building"
  (cd "$HERE/tools/etcd" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3)
  "$out.tmp/etcd" --version >&2
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "etcd $ETCD_VERSION: done"
}

build_kwok() {
  local out="$CACHE/kwok-$KWOK_VERSION"
  [[ -f $out/.complete ]] && { log "kwok $KWOK_VERSION: cached in $out"; return; }
  need_go; check_pin kwok sigs.k8s.io/kwok "$KWOK_VERSION"
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  log "kwok $KWOK_VERSION: building"
  (cd "$HERE/tools/kwok" && go build -trimpath \
      -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION#v}" \
      -o "$out.tmp/kwok" sigs.k8s.io/kwok/cmd/kwok)
  "$out.tmp/kwok" --version >&2
  # kwok's CRDs (Stage, Logs, ClusterLogs, ...) come from the same module version.
  local src
  src=$(cd "$HERE/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  [[ -d $src/kustomize/crd/bases ]] || die "kwok module source has no kustomize/crd/bases ($src)"
  mkdir -p "$out.tmp/crds" && cp "$src"/kustomize/crd/bases/*.yaml "$out.tmp/crds/"
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "kwok $KWOK_VERSION: done"
}

comps=("$@"); [[ ${#comps[@]} -eq 0 ]] && comps=(etcd kwok k8s kubelet nodetools)
mkdir -p "$CACHE"
for c in "${comps[@]}"; do
  case $c in
    k8s) build_k8s ;; etcd) build_etcd ;; kwok) build_kwok ;; kubelet) build_kubelet ;; nodetools) build_nodetools ;;
    *) die "unknown component $c (k8s|etcd|kwok|kubelet|nodetools)" ;;
  esac
done
echo "$CACHE"
