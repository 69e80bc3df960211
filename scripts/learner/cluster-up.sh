#!/usr/bin/env bash
# The learners' cluster: creates a kind cluster from k8s/kind-config.yaml with the
# pinned node image, installs metrics-server from its pinned Helm chart, and
# waits until the node and metrics.k8s.io are ready. Safe to run again: a second run
# changes nothing.
#
# Settings for machines that cannot reach the internet (make test-kind sets them; the
# README's "The learners' path, run here" says why each exists):
#   WORKSHOP_KIND_NODE_IMAGE      a node image to use instead of KIND_NODE_IMAGE
#   WORKSHOP_ALLOW_CGROUP_V1=1    go on, with a warning, on a cgroup v1 Docker: only for a
#                                 node image whose kubelet allows it (the CI one does)
#   WORKSHOP_METRICS_SERVER_CHART a metrics-server chart directory instead of the pinned
#                                 chart's download (its image tag is set to METRICS_SERVER_VERSION)
#   WORKSHOP_KIND_DOCKER_HOST     the Docker engine kind's nodes run on, if not DOCKER_HOST's
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
export PATH="${REPO}/.tools/bin:${PATH}"
# kind's nodes may run on an engine of their own (make test-kind): kind and the
# preflight's docker info talk to that one.
if [[ -n "${WORKSHOP_KIND_DOCKER_HOST:-}" ]]; then export DOCKER_HOST="${WORKSHOP_KIND_DOCKER_HOST}"; fi
NODE_PORT_HOST_PORT=8080
METRICS_SERVER_REPO=https://kubernetes-sigs.github.io/metrics-server/
KIND_NODE_IMAGE="${WORKSHOP_KIND_NODE_IMAGE:-${KIND_NODE_IMAGE}}"

# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"
step() { say "… $*"; }

on_exit() {
  local status=$?
  if ((status != 0 && status != 2)); then
    # kind deletes a node that failed to start, and its context with it: then kubectl
    # has nothing to ask, and kind's own message above is the cause.
    if [[ "$(kubectl config current-context 2>/dev/null)" != "kind-${KIND_CLUSTER_NAME}" ]]; then
      say "✗ make cluster-up failed (exit ${status}): kind's message above says why; no cluster is left"
      say "  hint: fix what it names, then make cluster-up again (README → Troubleshooting)"
      return
    fi
    say "✗ make cluster-up failed (exit ${status}); what the cluster reports:"
    kubectl get nodes -o wide 2>&1 | sed 's/^/  /' >&2 || true
    kubectl -n kube-system get pods 2>&1 | sed 's/^/  /' >&2 || true
    kubectl -n kube-system get events --sort-by=.lastTimestamp 2>&1 | tail -n 10 | sed 's/^/  /' >&2 || true
    say "  hint: make cluster-down, then make cluster-up again (README → Troubleshooting)"
  fi
}
trap on_exit EXIT

preflight() {
  local tool
  for tool in kind kubectl helm; do
    command -v "${tool}" >/dev/null || die "${tool} is not installed" "make tools (installs the pinned kind, kubectl and helm into .tools/bin)"
  done
  command -v docker >/dev/null || die "docker is not installed" "install Docker Desktop, or docker.io on Linux (labs/00-preflight)"
  docker info >/dev/null 2>&1 || die "Docker is not running" "start Docker Desktop, or on Linux: sudo systemctl start docker"
  local memory_mib floor_mib
  # Docker Desktop set to 4 GB reports a little less: accept what that setting reports.
  memory_mib="$(docker info --format '{{.MemTotal}}' | awk '{printf "%d", $1 / 1048576}')"
  floor_mib="$(awk -v gib="${MIN_DOCKER_MEMORY_GIB}" -v reserve="${DOCKER_MEMORY_RESERVE_GIB}" \
    'BEGIN {printf "%d", (gib - reserve) * 1024}')"
  ((memory_mib >= floor_mib)) ||
    die "Docker has ${memory_mib} MiB of memory; the cluster needs Docker set to ${MIN_DOCKER_MEMORY_GIB} GiB (${floor_mib} MiB reported)" \
      "raise it in Docker Desktop → Settings → Resources (${RECOMMENDED_DOCKER_MEMORY_GIB} GiB recommended)"
  if [[ "$(docker info --format '{{.CgroupVersion}}')" != "2" ]]; then
    [[ "${WORKSHOP_ALLOW_CGROUP_V1:-}" == 1 ]] ||
      die "Docker runs on cgroup v1; Kubernetes 1.35's kubelet (kind's node) needs cgroup v2" \
        "labs/00-preflight/README.md → cgroup v2"
    say "! Docker runs on cgroup v1: going on (WORKSHOP_ALLOW_CGROUP_V1=1), with ${KIND_NODE_IMAGE}"
  fi
}

port_taken() {
  python3 - "$1" <<'PY'
import socket, sys
with socket.socket() as s:
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(0)
sys.exit(1)
PY
}

create_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "${KIND_CLUSTER_NAME}"; then
    say "✓ kind cluster ${KIND_CLUSTER_NAME} exists"
    kubectl config use-context "kind-${KIND_CLUSTER_NAME}" >/dev/null
    return 0
  fi
  if port_taken "${NODE_PORT_HOST_PORT}"; then
    die "port ${NODE_PORT_HOST_PORT} is taken on localhost; the cluster maps its NodePort there" \
      "stop what uses it: lsof -i :${NODE_PORT_HOST_PORT} names it"
  fi
  step "creating kind cluster ${KIND_CLUSTER_NAME} (${KIND_NODE_IMAGE}; the first time downloads ~400 MB)"
  # An empty KIND_NODE_IMAGE means kind's own default.
  kind create cluster --name "${KIND_CLUSTER_NAME}" ${KIND_NODE_IMAGE:+--image "${KIND_NODE_IMAGE}"} \
    --config "${REPO}/k8s/kind-config.yaml" --wait 180s
}

install_metrics_server() {
  local chart=(metrics-server --repo "${METRICS_SERVER_REPO}" --version "${METRICS_SERVER_CHART_VERSION}")
  local wanted="metrics-server-${METRICS_SERVER_CHART_VERSION}"
  if [[ -n "${WORKSHOP_METRICS_SERVER_CHART:-}" ]]; then
    chart=("${WORKSHOP_METRICS_SERVER_CHART}" --set "image.tag=${METRICS_SERVER_VERSION}")
    wanted="$(awk '$1 == "name:" {n=$2} $1 == "version:" {v=$2} END {print n "-" v}' "${WORKSHOP_METRICS_SERVER_CHART}/Chart.yaml")"
  fi
  if [[ "$(helm list --namespace kube-system --deployed --filter '^metrics-server$' --output json |
    python3 -c 'import json,sys; print(" ".join(r["chart"] for r in json.load(sys.stdin)))')" == "${wanted}" ]]; then
    say "✓ metrics-server (chart ${wanted#metrics-server-}) is installed"
    return 0
  fi
  step "metrics-server (chart ${wanted#metrics-server-})"
  # kind's kubelets serve self-signed certificates: metrics-server must not verify them.
  helm upgrade --install metrics-server "${chart[@]}" --namespace kube-system \
    --set 'args={--kubelet-insecure-tls,--metric-resolution=15s}' --wait --timeout 5m
}

wait_ready() {
  step "waiting for the node and metrics.k8s.io"
  kubectl wait --for=condition=Ready nodes --all --timeout=180s >/dev/null
  kubectl -n kube-system rollout status deployment/metrics-server --timeout=180s
  kubectl wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout=180s >/dev/null
}

main() {
  local started=${SECONDS}
  preflight
  create_cluster
  install_metrics_server
  wait_ready
  say "✓ cluster ready in $((SECONDS - started)) s (context kind-${KIND_CLUSTER_NAME}); next: make load-image"
}

main "$@"
