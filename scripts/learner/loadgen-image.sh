#!/usr/bin/env bash
# Builds lab 10's load generator image (scripts/learner/loadgen/Dockerfile) once, and
# loads it into the cluster of the current kube context (in room mode: pushes it
# to the learner's own repository of the room's registry).
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

main() {
  command -v docker >/dev/null || die "docker is not installed" "labs/00-preflight"
  if ! docker image inspect "${LOADGEN_IMAGE}" >/dev/null 2>&1; then
    say "… docker build ${LOADGEN_IMAGE} (wrk from Debian on ${BASE_IMAGE})"
    local started=${SECONDS}
    DOCKER_BUILDKIT=1 docker build --quiet --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
      -t "${LOADGEN_IMAGE}" "${REPO}/scripts/learner/loadgen" >/dev/null ||
      die "the load generator image did not build" "check that docker pull ${BASE_IMAGE} works (lab 03)"
    say "✓ built ${LOADGEN_IMAGE} in $((SECONDS - started)) s"
  fi
  if [[ "${WORKSHOP_ROOM:-}" == 1 ]]; then
    # Room mode: into this learner's own repository beside diabetes-api; the checker
    # runs what this push sent, by digest (.workshop/pushed-loadgen).
    WORKSHOP_REPOSITORY="${WORKSHOP_REPOSITORY%/*}/loadgen" \
      WORKSHOP_LAST_PUSH="${WORKSHOP_LAST_LOADGEN_PUSH:-${REPO}/.workshop/pushed-loadgen}" \
      "${REPO}/scripts/learner/push-image.sh" "${LOADGEN_IMAGE}" >/dev/null
  else
    "${REPO}/scripts/learner/load-image.sh" "${LOADGEN_IMAGE}"
  fi
}

main "$@"
