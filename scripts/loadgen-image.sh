#!/usr/bin/env bash
# Builds lab 10's load generator image (scripts/loadgen/Dockerfile) once, and
# loads it into the cluster of the current kube context.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "${REPO}/scripts/versions.env"
# shellcheck source=common.sh
source "${REPO}/scripts/common.sh"

main() {
  command -v docker >/dev/null || die "docker is not installed" "labs/00-preflight"
  if ! docker image inspect "${LOADGEN_IMAGE}" >/dev/null 2>&1; then
    say "… docker build ${LOADGEN_IMAGE} (wrk from Debian on ${BASE_IMAGE})"
    local started=${SECONDS}
    DOCKER_BUILDKIT=1 docker build --quiet --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
      -t "${LOADGEN_IMAGE}" "${REPO}/scripts/loadgen" >/dev/null ||
      die "the load generator image did not build" "check that docker pull ${BASE_IMAGE} works (lab 03)"
    say "✓ built ${LOADGEN_IMAGE} in $((SECONDS - started)) s"
  fi
  "${REPO}/scripts/load-image.sh" "${LOADGEN_IMAGE}"
}

main "$@"
