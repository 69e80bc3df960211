#!/usr/bin/env bash
# make test-kind: the learners' own path, on a real kind cluster on this machine.
# kind runs on an engine of its own (scripts/testcluster/kind-engine.sh) with a node
# image built here (kind-node-image.sh); the learners' scripts run unchanged but for
# the settings this machine needs (README → "The learners' path, run here"):
#   make tools (from source), make cluster-up twice (the second changes nothing),
#   make deploy 4 (make load-image's kind branch), make check-lab 4 (the solution
#   passes, the starter fails with its hints), make load through NodePort 30080 on
#   127.0.0.1:8080, make cluster-down (nothing left behind), and then lab 03's tier
#   on the shared engine, which must be as it was. Each step's time, then a table.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../testcluster/lib.sh
source "${REPO}/scripts/testcluster/lib.sh"
WORK=""
STEPS=() CURRENT="" CURRENT_STARTED=0 RUN_STARTED=${SECONDS}

step() { # name command...
  CURRENT="$1" CURRENT_STARTED=${SECONDS}
  shift
  printf '\n=== %s (%s)\n' "${CURRENT}" "$(date -u +%H:%M:%S)" >&2
  "$@"
  STEPS+=("${CURRENT}|$((SECONDS - CURRENT_STARTED))")
  say "    (${CURRENT}: $((SECONDS - CURRENT_STARTED)) s)"
  CURRENT=""
}

table() {
  local row
  printf '\n%-34s %8s\n' "step" "seconds" >&2
  for row in ${STEPS[@]+"${STEPS[@]}"}; do
    printf '%-34s %8s\n' "${row%%|*}" "${row##*|}" >&2
  done
  [[ -z "${CURRENT}" ]] || printf '%-34s %8s  (failed here)\n' "${CURRENT}" "$((SECONDS - CURRENT_STARTED))" >&2
  printf '%-34s %8s\n' "total" "$((SECONDS - RUN_STARTED))" >&2
}

cleanup() {
  local status=$?
  table
  # Whatever ended the run: no cluster, no engine, and the shared engine as it was.
  if ((status != 0)); then
    DOCKER_HOST="${KIND_DOCKER_HOST}" "${REPO}/.tools/bin/kind" delete cluster --name "${KIND_CLUSTER_NAME}" >/dev/null 2>&1 || true
  fi
  "${REPO}/scripts/testcluster/kind-engine.sh" down || status=1
  exit "${status}"
}

# The learners' make targets, with this machine's settings.
learner_make() {
  WORKSHOP_KIND_DOCKER_HOST="${KIND_DOCKER_HOST}" WORKSHOP_KIND_NODE_IMAGE="${KIND_LOCAL_NODE_IMAGE}" \
    WORKSHOP_ALLOW_CGROUP_V1=1 WORKSHOP_METRICS_SERVER_CHART="${METRICS_SERVER_CHART}" \
    make -C "${REPO}" --no-print-directory "$@"
}

kind_here() { DOCKER_HOST="${KIND_DOCKER_HOST}" "${REPO}/.tools/bin/kind" "$@"; }
node_state() { DOCKER_HOST="${KIND_DOCKER_HOST}" docker inspect --format '{{.Id}} {{.State.StartedAt}}' "${KIND_CLUSTER_NAME}-control-plane"; }
helm_revision() { "${REPO}/.tools/bin/helm" status metrics-server --namespace kube-system --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }

cluster_up_again() {
  local before after revision
  before="$(node_state)"
  learner_make cluster-up 2>&1 | tee "${WORK}/cluster-up-again.log" >&2
  after="$(node_state)"
  revision="$(helm_revision)"
  [[ "${before}" == "${after}" ]] || die "the second make cluster-up replaced the node (${before} → ${after})" "cluster-up.sh must reuse the cluster"
  [[ "${revision}" == 1 ]] || die "the second make cluster-up upgraded metrics-server (revision ${revision})" "cluster-up.sh must leave an installed chart alone"
  grep -q "exists" "${WORK}/cluster-up-again.log" || die "the second make cluster-up did not say the cluster exists" "see its output above"
  say "✓ the second make cluster-up changed nothing (same node container, metrics-server revision 1)"
}

check_lab4() { # folder expected-exit
  local status=0
  # What make check-lab 4 runs, called directly: make turns every failure into exit 2.
  WORKSHOP_KIND_DOCKER_HOST="${KIND_DOCKER_HOST}" "${REPO}/scripts/learner/check-lab.sh" 4 --lab-dir "$1" \
    >"${WORK}/check.log" 2>&1 || status=$?
  cat "${WORK}/check.log" >&2
  [[ "${status}" == "$2" ]] || die "make check-lab 4 on $(basename "$1") exited ${status}, expected $2" "its output is above"
  if [[ "$2" != 0 ]]; then
    grep -q "✗" "${WORK}/check.log" && grep -q "hint:" "${WORK}/check.log" ||
      die "the starter's failures came without a hint" "its output is above"
  fi
}

deploy_starter() {
  # A starter's k8s/ may not apply at all: its checker says why, next.
  learner_make deploy 4 LAB_DIR="${WORK}/starter" >&2 || say "  (the starter's deploy failed, as a starter's may)"
}

load_through_nodeport() {
  learner_make load URL=http://127.0.0.1:8080 SECONDS=10 2>&1 | tee "${WORK}/load.log" >&2
  grep -qi "requests" "${WORK}/load.log" || die "make load reported no requests through NodePort 30080" "its output is above"
}

cluster_down_leaves_nothing() {
  learner_make cluster-down >&2
  local left
  left="$(DOCKER_HOST="${KIND_DOCKER_HOST}" docker ps -aq --filter "label=io.x-k8s.kind.cluster=${KIND_CLUSTER_NAME}")"
  [[ -z "${left}" ]] || die "containers of the cluster remain: ${left}" "scripts/learner/cluster-down.sh"
  left="$(DOCKER_HOST="${KIND_DOCKER_HOST}" docker volume ls -q --filter "label=io.x-k8s.kind.cluster=${KIND_CLUSTER_NAME}")"
  [[ -z "${left}" ]] || die "volumes of the cluster remain: ${left}" "scripts/learner/cluster-down.sh"
  ! kubectl config get-contexts "kind-${KIND_CLUSTER_NAME}" >/dev/null 2>&1 || die "the kubeconfig still has kind-${KIND_CLUSTER_NAME}" "kind delete cluster removes it"
  ! DOCKER_HOST="${KIND_DOCKER_HOST}" docker network inspect kind >/dev/null 2>&1 || die "the kind network remains" "cluster-down.sh removes it once no container uses it"
  ! ip link show "${KIND_NETWORK_BRIDGE}" >/dev/null 2>&1 || die "the kind network's bridge ${KIND_NETWORK_BRIDGE} remains" "cluster-down.sh"
  say "✓ make cluster-down left no container, volume, kubeconfig entry, network or bridge"
}

main() {
  cd "${REPO}"
  trap cleanup EXIT
  scratch_dir WORK
  # The learners' kubeconfig stays the learners': kind writes this run's into a file of its own.
  export KUBECONFIG="${WORK}/kubeconfig" PATH="${REPO}/.tools/bin:${PATH}"
  METRICS_SERVER_CHART="$(go mod download -json "sigs.k8s.io/metrics-server@${METRICS_SERVER_VERSION}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')/charts/metrics-server"
  step "make tools (from source)" make --no-print-directory tools WORKSHOP_TOOLS_FROM_SOURCE=1
  step "kind's engine" "${REPO}/scripts/testcluster/kind-engine.sh" up
  step "node image" "${REPO}/scripts/testcluster/kind-node-image.sh"
  step "make cluster-up" learner_make cluster-up
  step "make cluster-up, again" cluster_up_again
  cp -r "${REPO}/solutions/04-deploy" "${WORK}/solution"
  cp -r "${REPO}/labs/04-deploy/work" "${WORK}/starter"
  step "make deploy 4 (solution)" learner_make deploy 4 LAB_DIR="${WORK}/solution"
  step "make check-lab 4 (solution)" check_lab4 "${WORK}/solution" 0
  step "make load (NodePort 30080)" load_through_nodeport
  step "make deploy 4 (starter)" deploy_starter
  step "make check-lab 4 (starter)" check_lab4 "${WORK}/starter" 1
  step "make cluster-down" cluster_down_leaves_nothing
  step "kind's engine down" "${REPO}/scripts/testcluster/kind-engine.sh" down
  step "lab 03's tier (shared engine)" make --no-print-directory test-lab 3
}

main "$@"
