#!/usr/bin/env bash
# Joins this folder to an instructor's room: every make target and checker then
# works in the learner's namespace on the room's cluster, with the kubeconfig the
# instructor handed out.
#   scripts/room/join.sh KUBECONFIG_FILE     scripts/room/join.sh --leave
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="${REPO}/.tools/bin:${PATH}"
# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"
# The Makefile reads .workshop/room.env; tests point WORKSHOP_STATE elsewhere.
STATE_ROOT="${WORKSHOP_STATE:-${REPO}/.workshop}"
STATE="${STATE_ROOT}/room"
ENV_FILE="${STATE_ROOT}/room.env"
ROOM_MAP=ml-workshop-room

leave() {
  rm -f "${ENV_FILE}" "${STATE}/kubeconfig"
  say "✓ left the room: make targets use your own kubeconfig (kind) again"
}

join() {
  local given="$1" namespace
  [[ -f "${given}" ]] || die "no kubeconfig at ${given}" "make join KUBECONFIG_FILE=path/to/the/file/your/instructor/gave"
  command -v kubectl >/dev/null || die "kubectl is not installed" "make tools"
  namespace="$(kubectl --kubeconfig "${given}" config view --minify -o jsonpath='{.contexts[0].context.namespace}' 2>/dev/null)" ||
    die "${given} is not a kubeconfig file" "ask your instructor for your room kubeconfig"
  [[ -n "${namespace}" ]] || die "${given} names no namespace" "ask your instructor for your room kubeconfig"
  local answer
  if ! answer="$(kubectl --kubeconfig "${given}" --request-timeout=10s auth can-i create deployments -n "${namespace}" 2>&1)"; then
    case "${answer}" in
      *Unauthorized* | *unauthorized*) die "the room's cluster refused your token: it has expired" \
        "ask your instructor for a new one (make room-tokens ROOM=... LEARNER=you), then make join again" ;;
      *) die "the room's cluster does not answer: ${answer##*$'\n'}" "check the network (VPN, Wi-Fi), then make join again" ;;
    esac
  fi
  [[ "${answer}" == yes ]] || die "your token may not deploy in ${namespace}" "ask your instructor to run make room-up again"
  # Where this learner's images go: room-up wrote it into the namespace.
  local repository
  repository="$(kubectl --kubeconfig "${given}" --request-timeout=10s -n "${namespace}" get configmap "${ROOM_MAP}" \
    -o jsonpath='{.data.repository}' 2>/dev/null)" || true
  mkdir -p "${STATE}"
  install -m 600 "${given}" "${STATE}/kubeconfig"
  {
    printf 'KUBECONFIG := %s\n' "${STATE}/kubeconfig"
    printf 'WORKSHOP_NAMESPACE := %s\n' "${namespace}"
    printf 'WORKSHOP_ROOM := 1\n'
    printf 'WORKSHOP_REPOSITORY := %s\n' "${repository}"
  } >"${ENV_FILE}"
  say "✓ joined: namespace ${namespace} on $(kubectl --kubeconfig "${given}" config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
  say "  every make target now works there; make leave goes back to kind"
  if [[ -n "${repository}" ]]; then
    say "  your images go to ${repository} (make deploy N pushes them)"
  else
    say "  ! this room has no image registry: make deploy will say so (ask your instructor)"
  fi
}

main() {
  case "${1:-}" in
    --leave) leave ;;
    "") die "no kubeconfig given" "make join KUBECONFIG_FILE=path/to/your/room.kubeconfig" ;;
    *) join "$1" ;;
  esac
}

main "$@"
