#!/usr/bin/env bash
# Room mode: pushes a built image into this learner's own repository of the
# room's registry and prints it pinned by digest (repository@sha256:...). The
# Deployment then runs exactly what this push sent: another learner pushing to
# the same name cannot change it. Remembers the reference in .workshop/pushed,
# where the checkers compare it with what the pods run.
#   scripts/learner/push-image.sh IMAGE:TAG     (WORKSHOP_REPOSITORY, from make join)
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# WORKSHOP_LAST_PUSH: the project's tests give each learner their own file.
LAST_PUSH="${WORKSHOP_LAST_PUSH:-${REPO}/.workshop/pushed}"
# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

# The digest the registry gave this push: Docker records it as a RepoDigest.
pushed_digest() { # repository log-of-the-push
  local found
  found="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$1:${TAG}" |
    grep -F "$1@" | head -n 1)" || true
  if [[ -n "${found}" ]]; then
    printf '%s\n' "${found#*@}"
    return 0
  fi
  # Docker's containerd image store keeps no RepoDigests: the push's own summary.
  sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\).*/\1/p' <<<"$2" | tail -n 1
}

explain_refusal() { # log registry
  case "$1" in
    *"server gave HTTP response to HTTPS client"*)
      die "the room's registry $2 speaks plain HTTP and your Docker expects HTTPS" \
        "ask your instructor: a registry with TLS, or add $2 to Docker's insecure-registries" ;;
    *"connection refused"* | *"no such host"* | *"i/o timeout"* | *"context deadline"*)
      die "the room's registry $2 does not answer" "check the network (VPN, Wi-Fi), then ask your instructor whether it is up" ;;
    *denied* | *unauthorized* | *"authentication required"*)
      die "the room's registry $2 refused your push" "docker login $2 with what your instructor gave you" ;;
  esac
  die "docker push to $2 failed (its last lines are above)" "make deploy N again; if it fails again, show your instructor"
}

main() {
  local image="${1:-}" repository="${WORKSHOP_REPOSITORY:-}"
  [[ -n "${image}" && "${image}" == *:* ]] || die "no image given" "scripts/learner/push-image.sh diabetes-api:TAG (make deploy N does this)"
  [[ -n "${repository}" ]] || die "your room has no image registry" \
    "ask your instructor to set registry = \"host:port\" in the room file and run make room-up; then make join again"
  docker image inspect "${image}" >/dev/null 2>&1 || die "no local image ${image}" "build it first (make image)"
  TAG="${image##*:}"
  local target="${repository}:${TAG}" started=${SECONDS} log
  docker tag "${image}" "${target}"
  say "… docker push ${target}"
  if ! log="$(docker push "${target}" 2>&1)"; then
    tail -n 4 <<<"${log}" >&2
    explain_refusal "${log}" "${repository%%/*}"
  fi
  local digest
  digest="$(pushed_digest "${repository}" "${log}")"
  [[ "${digest}" =~ ^sha256:[0-9a-f]{64}$ ]] || die "the registry gave no digest for ${target}" "make deploy N again"
  mkdir -p "$(dirname "${LAST_PUSH}")"
  printf '%s@%s\n' "${repository}" "${digest}" >"${LAST_PUSH}"
  say "✓ pushed ${target} as ${digest:0:19}… in $((SECONDS - started)) s"
  printf '%s@%s\n' "${repository}" "${digest}"
}

main "$@"
