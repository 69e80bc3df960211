#!/usr/bin/env bash
# Builds the service image from a lab tree and tags it uniquely: the tag is the
# start of the image ID, so the same source gives the same tag and any change a
# new one (never :latest). Prints the image on stdout and remembers it in
# .workshop/image for make load-image, make deploy and the checkers.
#   scripts/learner/image.sh DIR
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IMAGE_NAME="${IMAGE_NAME:-diabetes-api}"
# WORKSHOP_LAST_IMAGE: where the tag is remembered (the project's tests give
# each case its own file, so parallel cases never read each other's).
LAST_IMAGE="${WORKSHOP_LAST_IMAGE:-${REPO}/.workshop/image}"

# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

main() {
  local dir="${1:-}"
  [[ -n "${dir}" && -f "${dir}/Dockerfile" ]] || die "no Dockerfile in ${dir:-(no folder given)}" "make image N=4 (lab 04's folder)"
  command -v docker >/dev/null || die "docker is not installed" "labs/00-preflight"
  docker info >/dev/null 2>&1 || die "Docker is not running" "start Docker Desktop, or on Linux: sudo systemctl start docker"
  local iidfile
  scratch_dir iidfile
  iidfile="${iidfile}/id"
  # The image ID comes from --iidfile, not a shared temporary tag: two builds at
  # once never take each other's image.
  local build=(docker build --progress=plain --iidfile "${iidfile}"
    --build-arg "REVISION=$(git -C "${REPO}" rev-parse --short HEAD 2>/dev/null || echo unknown)")
  # Only for machines that need their own CA to reach PyPI (see lab 03).
  if [[ -n "${WORKSHOP_BUILD_CA:-}" ]]; then build+=(--secret "id=ca-bundle,src=${WORKSHOP_BUILD_CA}"); fi
  say "… docker build ${dir} (a few minutes the first time, seconds after)"
  local started=${SECONDS} log
  log="$(mktemp)"
  # One line per build step, the full log only on failure.
  if ! DOCKER_BUILDKIT=1 "${build[@]}" "${dir}" 2>&1 | tee "${log}" | grep --line-buffered -E '^#[0-9]+ \[' >&2; then
    :
  fi
  if [[ ! -s "${iidfile}" ]] || grep -q '^ERROR' "${log}"; then
    tail -n 25 "${log}" >&2
    if grep -q 'buildx component is missing' "${log}"; then
      rm -f "${log}"
      die "this Docker has no BuildKit (buildx)" "Docker Desktop has it; on Linux install docker-buildx (or docker-buildx-plugin)"
    fi
    rm -f "${log}"
    die "docker build failed" "fix the Dockerfile (lab 03), then run this again"
  fi
  rm -f "${log}"
  local id image
  id="$(cat "${iidfile}")"
  image="${IMAGE_NAME}:${id#sha256:}"
  image="${image:0:$((${#IMAGE_NAME} + 13))}"
  docker tag "${id}" "${image}"
  mkdir -p "$(dirname "${LAST_IMAGE}")"
  printf '%s\n' "${image}" >"${LAST_IMAGE}"
  say "✓ built ${image} in $((SECONDS - started)) s"
  printf '%s\n' "${image}"
}

main "$@"
