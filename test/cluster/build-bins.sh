#!/usr/bin/env bash
# Build the test bed's control-plane binaries from Go modules (through the Go
# module proxy) into a per-version cache outside the repo, only when missing.
#
#   test/cluster/build-bins.sh [k8s] [etcd] [kwok] [kubelet] [kube-proxy] [nodetools] [k8s-oldest] [checkers]   (default: all)
#
# Cache: ${VLLMAPP_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vllmapp-testbed}/<component>-<version>/
#   k8s-v1.36.3/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}
#   etcd-v3.6.13/etcd
#   kwok-v0.8.0/kwok
#   kubelet-v1.36.3/kubelet            (the real node's kubelet, same module as the control plane)
#   kube-proxy-v1.36.3/kube-proxy      (the real node's kube-proxy, same module; test/testbed/cluster-net.mjs)
#   nodetools-<hash>/pause             (the real node's sandbox process; hash of test/cluster/nodetools)
#   k8s-oldest-v1.30.14/kube-apiserver (the oldest supported minor's API server, test/cluster/tools/k8s-oldest)
#   kube-score-v1.20.0/kube-score, kubeconform-v0.8.0/kubeconform   (`checkers`: go install from the proxy)
#   psscheck-<hash>/psscheck           (`checkers`: test/checks/psscheck; hash of its go files)
#   kube-schemas-<hash>/vX.Y.Z-standalone-strict/*.json   (`checkers`: kubeconform schemas for
#                                      SCHEMA_K8S_VERSIONS; hash of test/checks/gen-schemas.mjs + the versions)
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
  local ver=${1:-$K8S_VERSION}
  local minor=${ver#v1.}; minor=${minor%%.*}
  local ldf="-s -w" kv
  for kv in gitVersion=$ver gitMajor=1 gitMinor=$minor gitTreeState=clean buildDate=1970-01-01T00:00:00Z; do
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

# The oldest supported minor's API server only (server-side dry runs need no controllers or node).
# Its own tools module, so its dependency graph never mixes with the current control plane's.
build_k8s_oldest() {
  local out="$CACHE/k8s-oldest-$K8S_OLDEST_VERSION"
  [[ -f $out/.complete ]] && { log "k8s-oldest $K8S_OLDEST_VERSION: cached in $out"; return; }
  need_go; check_pin k8s-oldest k8s.io/kubernetes "$K8S_OLDEST_VERSION"
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  log "k8s-oldest $K8S_OLDEST_VERSION: building kube-apiserver (cold: see test/testbed/README.md)"
  (cd "$HERE/tools/k8s-oldest" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$(k8s_ldflags "$K8S_OLDEST_VERSION")" \
      -o "$out.tmp/" k8s.io/kubernetes/cmd/kube-apiserver)
  "$out.tmp/kube-apiserver" --version >&2
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "k8s-oldest $K8S_OLDEST_VERSION: done"
}

# sha256 over "<path relative to the repo><content>" of each file, then the extra strings (lib.mjs computes the same)
files_hash() {
  local root; root=$(cd "$HERE/../.." && pwd)
  local extra=$1; shift
  { for f in "$@"; do printf '%s' "$f"; cat "$root/$f"; done; printf '%s' "$extra"; } | sha256sum | cut -c1-16
}
psscheck_hash() { files_hash "$PSS_VERSION" test/checks/psscheck/go.mod test/checks/psscheck/go.sum test/checks/psscheck/main.go; }
schemas_hash() { files_hash "$SCHEMA_K8S_VERSIONS" test/checks/gen-schemas.mjs; }

# go install MODULE/CMD@VERSION into $CACHE/NAME-VERSION/ (pinned; nothing from the repo's modules)
build_go_install() { # name pkg version
  local out="$CACHE/$1-$3"
  [[ -f $out/.complete ]] && { log "$1 $3: cached in $out"; return; }
  need_go
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  log "$1 $3: go install $2@$3"
  GOBIN="$out.tmp" GOFLAGS="$GOFLAGS -trimpath" go install -ldflags "-s -w" "$2@$3"
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "$1 $3: done"
}

build_psscheck() {
  local out; out="$CACHE/psscheck-$(psscheck_hash)"
  [[ -f $out/.complete ]] && { log "psscheck: cached in $out"; return; }
  need_go
  grep -q "k8s.io/pod-security-admission $PSS_VERSION" "$HERE/../checks/psscheck/go.mod" \
    || die "test/checks/psscheck/go.mod does not require k8s.io/pod-security-admission $PSS_VERSION"
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  log "psscheck: building (k8s.io/pod-security-admission $PSS_VERSION)"
  (cd "$HERE/../checks/psscheck" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/psscheck" .)
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "psscheck: done"
}

build_schemas() {
  local out; out="$CACHE/kube-schemas-$(schemas_hash)"
  [[ -f $out/.complete ]] && { log "kube-schemas: cached in $out"; return; }
  need_go
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  local v dir
  for v in ${SCHEMA_K8S_VERSIONS//,/ }; do
    log "kube-schemas: k8s.io/kubernetes@$v (module download, then api/openapi-spec/swagger.json)"
    dir=$(cd "$out.tmp" && go mod download -json "k8s.io/kubernetes@$v" | node -e \
      'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}console.log(j.Dir)})')
    node "$HERE/../checks/gen-schemas.mjs" builtin "$dir/api/openapi-spec/swagger.json" "$v" "$out.tmp" >&2
  done
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "kube-schemas: done"
}

build_checkers() {
  build_go_install kube-score github.com/zegl/kube-score/cmd/kube-score "$KUBE_SCORE_VERSION"
  build_go_install kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
  build_psscheck
  build_schemas
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

build_kube_proxy() {
  local out="$CACHE/kube-proxy-$K8S_VERSION"
  [[ -f $out/.complete ]] && { log "kube-proxy $K8S_VERSION: cached in $out"; return; }
  need_go; check_pin k8s k8s.io/kubernetes "$K8S_VERSION"
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  log "kube-proxy $K8S_VERSION: building"
  (cd "$HERE/tools/k8s" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$(k8s_ldflags)" -o "$out.tmp/" \
      k8s.io/kubernetes/cmd/kube-proxy)
  "$out.tmp/kube-proxy" --version >&2
  touch "$out.tmp/.complete"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "kube-proxy $K8S_VERSION: done"
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

comps=("$@"); [[ ${#comps[@]} -eq 0 ]] && comps=(etcd kwok k8s kubelet kube-proxy nodetools k8s-oldest checkers)
mkdir -p "$CACHE"
for c in "${comps[@]}"; do
  case $c in
    k8s) build_k8s ;; etcd) build_etcd ;; kwok) build_kwok ;; kubelet) build_kubelet ;; kube-proxy) build_kube_proxy ;;
    nodetools) build_nodetools ;;
    k8s-oldest) build_k8s_oldest ;; checkers) build_checkers ;;
    *) die "unknown component $c (k8s|etcd|kwok|kubelet|kube-proxy|nodetools|k8s-oldest|checkers)" ;;
  esac
done
echo "$CACHE"
