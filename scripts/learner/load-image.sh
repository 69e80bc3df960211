#!/usr/bin/env bash
# Loads a locally built image into the cluster of the current kube context, so
# pods can run it with imagePullPolicy: IfNotPresent or Never. Works on the
# learners' kind cluster and on the project's own test cluster.
# WORKSHOP_KIND_DOCKER_HOST: the engine kind's nodes run on, when it is not the one
# that builds (make test-kind; scripts/learner/cluster-up.sh).
#   scripts/learner/load-image.sh IMAGE[:TAG]
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="${REPO}/.tools/bin:${PATH}"
# The test cluster's containerd (scripts/testcluster/lib.sh).
TEST_CLUSTER_SOCK=/run/workshop-cluster/containerd.sock
WORK=""
# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

docker_platform() {
  docker version --format '{{.Server.Os}}/{{.Server.Arch}}'
}

load_into_kind() { # image cluster
  if [[ -n "${WORKSHOP_KIND_DOCKER_HOST:-}" ]]; then
    # kind's nodes run on an engine of their own (make test-kind): the image, built
    # on this one, goes across as an archive.
    scratch_dir WORK
    docker save -o "${WORK}/image.tar" "$1"
    DOCKER_HOST="${WORKSHOP_KIND_DOCKER_HOST}" kind load image-archive "${WORK}/image.tar" --name "$2"
    return 0
  fi
  if kind load docker-image "$1" --name "$2"; then return 0; fi
  # With Docker's containerd image store, `kind load docker-image` can fail
  # with "ctr: content digest not found": an archive of one platform loads.
  say "… kind load docker-image failed; retrying through a single-platform archive"
  scratch_dir WORK
  docker save --platform "$(docker_platform)" -o "${WORK}/image.tar" "$1" 2>/dev/null ||
    docker save -o "${WORK}/image.tar" "$1"
  kind load image-archive "${WORK}/image.tar" --name "$2"
}

load_into_test_cluster() { # image
  [[ -S "${TEST_CLUSTER_SOCK}" ]] || die "the test cluster's containerd is not running" "sudo scripts/testcluster/up.sh"
  local ctr=(ctr --address "${TEST_CLUSTER_SOCK}" -n k8s.io) name="$1"
  [[ "${name}" == */* ]] || name="docker.io/library/${name}"
  # The tag is the image ID's start (scripts/learner/image.sh): the same tag is the same image.
  if "${ctr[@]}" images ls -q | grep -qxF "${name}"; then
    say "  (already there)"
    return 0
  fi
  docker save "$1" | "${ctr[@]}" images import - >/dev/null
}

main() {
  local image="${1:-}" context
  if [[ "${WORKSHOP_ROOM:-}" == 1 ]]; then
    die "room mode: images reach the room's cluster through its registry, not by loading" \
      "make deploy N pushes your image there and deploys it"
  fi
  [[ -n "${image}" ]] || die "no image given" "make load-image IMAGE=name:tag"
  [[ "${image}" == *:* && "${image##*:}" != latest ]] ||
    die "${image} has no version tag" "tag images uniquely (not :latest), or Kubernetes may run a stale one"
  docker image inspect "${image}" >/dev/null 2>&1 || die "no local image ${image}" "build it first (make image)"
  command -v kubectl >/dev/null || die "kubectl is not installed" "make tools"
  context="$(kubectl config current-context 2>/dev/null)" ||
    die "no current kube context" "make cluster-up"
  local started=${SECONDS}
  say "… loading ${image} into ${context}"
  case "${context}" in
    kind-*) load_into_kind "${image}" "${context#kind-}" ;;
    workshop-ci) load_into_test_cluster "${image}" ;;
    *) die "context ${context} is neither kind nor the test cluster" "kubectl config use-context kind-workshop" ;;
  esac
  say "✓ ${image} loaded into ${context} in $((SECONDS - started)) s"
}

main "$@"
