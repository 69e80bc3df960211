#!/usr/bin/env bash
# Deletes the learners' kind cluster (and with it every lab's objects).
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
export PATH="${REPO}/.tools/bin:${PATH}"
# kind's nodes may run on an engine of their own (make test-kind): kind and the
# preflight's docker info talk to that one.
if [[ -n "${WORKSHOP_KIND_DOCKER_HOST:-}" ]]; then export DOCKER_HOST="${WORKSHOP_KIND_DOCKER_HOST}"; fi

main() {
  command -v kind >/dev/null || { printf '✗ kind is not installed\n  hint: make tools\n' >&2; exit 2; }
  docker info >/dev/null 2>&1 || { printf '✗ Docker is not running\n  hint: start Docker, then run make cluster-down again\n' >&2; exit 2; }
  if ! kind get clusters 2>/dev/null | grep -qx "${KIND_CLUSTER_NAME}"; then
    printf '✓ no kind cluster named %s\n' "${KIND_CLUSTER_NAME}" >&2
    return 0
  fi
  kind delete cluster --name "${KIND_CLUSTER_NAME}"
  printf '✓ cluster %s deleted\n' "${KIND_CLUSTER_NAME}" >&2
  remove_kind_network
}

# kind keeps its Docker network (and its bridge) for the next cluster: once no
# container uses it, it goes too, so that nothing of the workshop is left behind.
remove_kind_network() {
  docker network inspect kind >/dev/null 2>&1 || return 0
  if [[ -z "$(docker network inspect kind --format '{{range .Containers}}{{.Name}} {{end}}')" ]]; then
    docker network rm kind >/dev/null && printf '✓ Docker network kind removed (no container used it)\n' >&2
  fi
}

main "$@"
