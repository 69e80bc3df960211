#!/usr/bin/env bash
# Builds the test cluster's pinned binaries from the Go module proxy into a cache
# outside the repository, one directory per component and version: Kubernetes
# (and the pause binary), etcd, metrics-server and CoreDNS, Prometheus, the
# Prometheus Adapter, the Prometheus Operator's CRDs, and for room mode the image
# registry and the NetworkPolicy enforcer. A cached component is
# not rebuilt; a component is cached only once its build has finished.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK=""

build_kubernetes() {
  local out="$1" src="${WORK}/kubernetes" module version_pkg=k8s.io/component-base/version
  module_source "k8s.io/kubernetes@${K8S_VERSION}" "${src}"
  # The module zip has no staging/ tree: use the published staging modules.
  for module in $(awk '/=> \.\/staging/{print $1}' "${src}/go.mod"); do
    (cd "${src}" && go mod edit -dropreplace="${module}" -require="${module}@${K8S_STAGING_VERSION}")
  done
  (cd "${src}" && go build -trimpath -o "${out}/" -ldflags "-s -w \
      -X ${version_pkg}.gitVersion=${K8S_VERSION} -X ${version_pkg}.gitTreeState=clean" \
    ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler \
    ./cmd/kubelet ./cmd/kube-proxy ./cmd/kubectl)
  gcc -Os -static -DVERSION="${PAUSE_IMAGE##*:}" -o "${out}/pause" "${src}/build/pause/linux/pause.c"
}

build_etcd() {
  local out="$1" src="${WORK}/etcd" module
  module_source "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" "${src}"
  # The server module points at its sibling modules by relative path.
  for module in $(awk '$2 == "=>" && $3 ~ /^\.\.\// {print $1}' "${src}/go.mod"); do
    (cd "${src}" && go mod edit -dropreplace="${module}" -require="${module}@${ETCD_VERSION}")
  done
  (cd "${src}" && go mod edit -dropreplace=go.etcd.io/etcd -dropreplace=go.etcd.io/tests/v3 &&
    go build -trimpath -ldflags "-s -w" -o "${out}/etcd" .)
}

# The add-ons run in pods FROM scratch, so they are static binaries.
build_metrics_server() {
  local out="$1" src="${WORK}/metrics-server"
  module_source "sigs.k8s.io/metrics-server@${METRICS_SERVER_VERSION}" "${src}"
  (cd "${src}" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${out}/metrics-server" ./cmd/metrics-server)
}

build_prometheus_adapter() {
  local out="$1" src="${WORK}/prometheus-adapter"
  module_source "sigs.k8s.io/prometheus-adapter@${PROMETHEUS_ADAPTER_VERSION}" "${src}"
  (cd "${src}" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${out}/adapter" ./cmd/adapter)
}

build_coredns() {
  local out="$1" src="${WORK}/coredns"
  module_source "github.com/coredns/coredns@${COREDNS_VERSION}" "${src}"
  (cd "${src}" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${out}/coredns" .)
}

# Prometheus and promtool with Kubernetes service discovery only: the other
# discovery plugins would triple the build. No web UI assets: the API is enough.
build_prometheus() {
  local out="$1" src="${WORK}/prometheus"
  module_source "github.com/prometheus/prometheus@${PROMETHEUS_MODULE_VERSION}" "${src}"
  (cd "${src}" && CGO_ENABLED=0 go build -trimpath -tags remove_all_sd,enable_kubernetes_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION}" \
    -o "${out}/" ./cmd/prometheus ./cmd/promtool)
}

# The room's image registry (room mode): distribution's server from a small main
# beside this script, pinned by its go.mod and go.sum, with filesystem storage only.
build_registry() {
  local out="$1" src="${WORK}/registry"
  cp -r "${HERE}/registry" "${src}"
  (cd "${src}" && go mod edit -require="github.com/distribution/distribution/v3@${REGISTRY_VERSION}" &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${out}/registry" .)
}

# The NetworkPolicy enforcer kind runs, with one patch: this kernel has iptables'
# NFQUEUE target but not nftables' queue statement (CONFIG_NFT_QUEUE unset), so
# the enforcer marks the packets to judge and an iptables rule queues them (up.sh).
# kube-router, which needs no such patch, is served only at v2.1.0, a release
# with reported security flaws. A second patch lets one enforcer judge for every
# node of this host (the room's nodes share its network namespace).
build_network_policies() {
  local out="$1" src="${WORK}/kube-network-policies"
  module_source "sigs.k8s.io/kube-network-policies@${KUBE_NETWORK_POLICIES_VERSION}" "${src}"
  (cd "${src}" && git apply -p1 "${HERE}/kube-network-policies-mark.patch" &&
    git apply -p1 "${HERE}/kube-network-policies-nodes.patch" &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${out}/kube-network-policies" ./cmd)
}

# Only the two CRDs the labs use: the operator itself does not run here.
fetch_crds() {
  local out="$1" dir
  dir="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR_VERSION}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  for kind in servicemonitors prometheusrules; do
    cp "${dir}/example/prometheus-operator-crd/monitoring.coreos.com_${kind}.yaml" "${out}/"
  done
}

main() {
  command -v go >/dev/null || die "go is not installed" "install Go 1.25 or newer"
  command -v gcc >/dev/null || die "gcc is not installed" "apt-get install gcc libc6-dev (for the pause binary)"
  # GOGC=400: the compiler collects garbage a quarter as often, for more memory
  # (24 GiB here). CoreDNS from an empty build cache: 185 s at the default, 143 s.
  export GOWORK=off GOFLAGS=-mod=mod GOGC=400
  scratch_dir WORK
  local started=${SECONDS} status=0 lane
  # Two lanes side by side, the longest builds first: go build keeps both cores
  # busy while it compiles, but its downloads and each binary's link run on one,
  # and the other lane's compiling fills the gap.
  local lanes=()
  (cached prometheus "${PROMETHEUS_BIN}" build_prometheus &&
    cached metrics-server "${METRICS_SERVER_BIN}" build_metrics_server &&
    cached prometheus-adapter "${ADAPTER_BIN}" build_prometheus_adapter &&
    cached prometheus-operator-crds "${CRDS_DIR}" fetch_crds &&
    cached registry "${REGISTRY_BIN}" build_registry) &
  lanes+=($!)
  (cached kubernetes "${K8S_BIN}" build_kubernetes &&
    cached coredns "${COREDNS_BIN}" build_coredns &&
    cached etcd "${ETCD_BIN}" build_etcd &&
    cached kube-network-policies "${NETWORK_POLICIES_BIN}" build_network_policies) &
  lanes+=($!)
  for lane in "${lanes[@]}"; do
    wait "${lane}" || status=$?
  done
  ((status == 0)) || die "a component did not build (its output is above)" "run scripts/testcluster/build.sh again: what was built stays cached"
  say "✓ binaries ready in $((SECONDS - started)) s"
}

main "$@"
