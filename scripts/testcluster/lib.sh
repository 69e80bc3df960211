# Shared by scripts/testcluster/{build,up,down,status,env}.sh: paths and helpers for the
# project's own single-node Kubernetes, built from source (CI and maintainers).
# Learners use kind instead.
# shellcheck shell=bash
# shellcheck source=../versions.env
source "$(dirname "${BASH_SOURCE[0]}")/../versions.env"

CACHE="${WORKSHOP_CACHE:-/var/cache/workshop}"
# One directory per component and version: a version bump rebuilds only that one.
K8S_BIN="${CACHE}/kubernetes-${K8S_VERSION}"
ETCD_BIN="${CACHE}/etcd-${ETCD_VERSION}"
METRICS_SERVER_BIN="${CACHE}/metrics-server-${METRICS_SERVER_VERSION}"
COREDNS_BIN="${CACHE}/coredns-${COREDNS_VERSION}"
ADAPTER_BIN="${CACHE}/prometheus-adapter-${PROMETHEUS_ADAPTER_VERSION}"
CRDS_DIR="${CACHE}/prometheus-operator-crds-${PROMETHEUS_OPERATOR_VERSION}"
# Prometheus runs beside the cluster and finds the pods through Kubernetes
# service discovery.
PROMETHEUS_BIN="${CACHE}/prometheus-${PROMETHEUS_VERSION}"
PROMETHEUS_ADDRESS="127.0.0.1:9090"
PROMETHEUS_DIR="${WORKSHOP_CLUSTER_STATE:-/var/lib/workshop-cluster}/prometheus"
# Room mode's image registry: learners push to it, the node's containerd pulls
# from it (plain HTTP is allowed on a loopback address, by Docker and containerd).
REGISTRY_BIN="${CACHE}/registry-${REGISTRY_VERSION}"
REGISTRY_ADDRESS="127.0.0.1:5000"
REGISTRY_DIR="${WORKSHOP_CLUSTER_STATE:-/var/lib/workshop-cluster}/registry"
# The NetworkPolicy enforcer: marked packets go to its netfilter queue.
# Keyed by the patches too: a changed patch is a new build.
NETWORK_POLICIES_BIN="${CACHE}/kube-network-policies-${KUBE_NETWORK_POLICIES_VERSION}-$(cat "$(dirname "${BASH_SOURCE[0]}")"/kube-network-policies-*.patch | sha256sum | cut -c1-8)"
NETWORK_POLICIES_QUEUE=100
NETWORK_POLICIES_MARK=0x10000
# kind's tools (make test-kind), where make tools cannot download them: kind,
# kubeadm (from the Kubernetes module the test cluster builds), crictl and helm.
KIND_TOOLS_BIN="${CACHE}/kind-tools-${KIND_VERSION}-${K8S_VERSION}-${CRICTL_VERSION}-${HELM_MODULE_VERSION}"
# kind's own Docker engine (kind-engine.sh): apart from the shared one in every path,
# and on bridges and a subnet no other part of this machine uses.
KIND_ENGINE_DATA="${WORKSHOP_KIND_ENGINE_DATA:-/var/lib/workshop-kind/docker}"
KIND_ENGINE_RUN="/run/workshop-kind"
KIND_DOCKER_HOST="unix://${KIND_ENGINE_RUN}/docker.sock"
KIND_BRIDGE="workshop-kind0"
KIND_BRIDGE_CIDR="172.30.250.1/24"
KIND_NETWORK_BRIDGE="workshop-kind1"
KIND_NETWORK_SUBNET="172.30.251.0/24"
# kind's node image, built here (kind-node-image.sh) for Kubernetes K8S_VERSION.
KIND_LOCAL_NODE_IMAGE="workshop.local/kind-node:${K8S_VERSION}"
# Images of the add-ons, built from those binaries (never pulled).
METRICS_SERVER_IMAGE="workshop.local/metrics-server:${METRICS_SERVER_VERSION}"
COREDNS_IMAGE="workshop.local/coredns:${COREDNS_VERSION}"
ADAPTER_IMAGE="workshop.local/prometheus-adapter:${PROMETHEUS_ADAPTER_VERSION}"
NETWORK_POLICIES_IMAGE="workshop.local/kube-network-policies:${KUBE_NETWORK_POLICIES_VERSION}"
STATE="${WORKSHOP_CLUSTER_STATE:-/var/lib/workshop-cluster}"
RUNDIR="/run/workshop-cluster"
SOCK="${RUNDIR}/containerd.sock"
KUBECONFIG_OUT="${STATE}/kubeconfig"
# Pod addresses live in network namespaces this cluster creates on this host:
# 10.244.0.0/24 on the first node, 10.244.N.0/24 on room node N.
CLUSTER_CIDR="10.244.0.0/16"
POD_CIDR="10.244.0.0/24"
# Room mode's nodes: two more kubelets, each with a containerd of its own, on this
# host and in its network namespace. A room of 8 on lab 05 asks 2.4 CPUs and this
# host has 2. They are tainted: only pods that tolerate ROOM_TAINT go there (the
# room test's namespaces, through PodTolerationRestriction), so the rest of the
# suite never meets an image that is not on them.
ROOM_NODES=(workshop-ci-room-1 workshop-ci-room-2)
ROOM_TAINT="workshop.test/room"
node_dir() { printf '%s/nodes/%s' "${STATE}" "$1"; }
node_sock() { printf '%s/%s/containerd.sock' "${RUNDIR}" "$1"; }
node_bridge() { printf 'workshop-r%s' "${1##*-}"; }
SERVICE_CIDR="10.96.0.0/16"
APISERVER_SERVICE_IP="10.96.0.1"
DNS_IP="10.96.0.10"
# kubelet refuses a loopback node IP, so the node gets an address of its own,
# added to lo (this kernel has no dummy interfaces): local to this host, added by
# cluster-up and removed by cluster-down.
NODE_IP="10.242.255.1"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy prometheus prometheus-sync registry)
for node in "${ROOM_NODES[@]}"; do COMPONENTS+=("containerd-${node}" "kubelet-${node}"); done

# shellcheck source=../common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
pidfile() { printf '%s/%s.pid' "${STATE}" "$1"; }
logfile() { printf '%s/logs/%s.log' "${STATE}" "$1"; }
running() { [[ -f "$(pidfile "$1")" ]] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }
kubectl_() { "${K8S_BIN}/kubectl" --kubeconfig "${KUBECONFIG_OUT}" "$@"; }

# Waits for a command to succeed, showing that the wait is alive.
wait_for() { # what timeout-seconds command...
  local what="$1" timeout="$2" waited=0
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((waited >= timeout)); then
      say "✗ ${what}: not ready after ${timeout} s"
      return 1
    fi
    ((waited % 10 == 0)) && say "  … ${what} (${waited} s of at most ${timeout} s)"
    sleep 1
    ((waited++)) || true
  done
}

# -- building from the Go module proxy (build.sh, kind-tools.sh) --------------------
# Copies a module's source out of the read-only module cache.
module_source() { # module@version destination
  local dir
  dir="$(go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  cp -r "${dir}" "$2"
  chmod -R u+w "$2"
}

# Runs one component's build into a scratch directory, then moves it into place.
cached() { # name destination build-function
  local name="$1" destination="$2" started=${SECONDS}
  if [[ -f "${destination}/.complete" ]]; then
    say "✓ ${name} cached in ${destination}"
    return 0
  fi
  say "… ${name}: building from the Go module proxy"
  local out="${WORK}/out-${name}"
  mkdir -p "${out}"
  "$3" "${out}"
  touch "${out}/.complete"
  rm -rf "${destination}"
  mkdir -p "$(dirname "${destination}")"
  mv "${out}" "${destination}"
  say "✓ ${name} built in $((SECONDS - started)) s"
}
