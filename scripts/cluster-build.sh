#!/usr/bin/env bash
# Builds the pinned Kubernetes and etcd binaries from the Go module proxy into a
# cache outside the repository, keyed by version. A warm cache makes this a no-op.
set -o errexit -o nounset -o pipefail
# shellcheck source=cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"
WORK=""

cleanup() {
  # An if, not &&: a false test would become the script's exit status.
  if [[ -n "${WORK}" ]]; then rm -rf "${WORK}"; fi
}
trap cleanup EXIT

module_dir() { # module@version
  GOFLAGS=-mod=mod go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

build_kubernetes() {
  local src="${WORK}/kubernetes" module version_pkg=k8s.io/component-base/version
  say "… Kubernetes ${K8S_VERSION} (the module's staging copies come from the proxy)"
  cp -r "$(module_dir "k8s.io/kubernetes@${K8S_VERSION}")" "${src}"
  chmod -R u+w "${src}"
  # The module zip has no staging/ tree: use the published staging modules.
  for module in $(awk '/=> \.\/staging/{print $1}' "${src}/go.mod"); do
    (cd "${src}" && go mod edit -dropreplace="${module}" -require="${module}@${K8S_STAGING_VERSION}")
  done
  (cd "${src}" && go build -trimpath -o "${BIN}/" -ldflags "-s -w \
      -X ${version_pkg}.gitVersion=${K8S_VERSION} -X ${version_pkg}.gitTreeState=clean" \
    ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler \
    ./cmd/kubelet ./cmd/kube-proxy ./cmd/kubectl)
  gcc -Os -static -DVERSION="${PAUSE_IMAGE##*:}" -o "${BIN}/pause" "${src}/build/pause/linux/pause.c"
}

build_etcd() {
  local src="${WORK}/etcd" module
  say "… etcd ${ETCD_VERSION}"
  cp -r "$(module_dir "go.etcd.io/etcd/server/v3@${ETCD_VERSION}")" "${src}"
  chmod -R u+w "${src}"
  for module in $(awk '$2 == "=>" && $3 ~ /^\.\.\// {print $1}' "${src}/go.mod"); do
    (cd "${src}" && go mod edit -dropreplace="${module}" -require="${module}@${ETCD_VERSION}")
  done
  (cd "${src}" && go mod edit -dropreplace=go.etcd.io/etcd -dropreplace=go.etcd.io/tests/v3 &&
    go build -trimpath -ldflags "-s -w" -o "${BIN}/etcd" .)
}

main() {
  if [[ -x "${BIN}/kubelet" && -x "${BIN}/etcd" && -x "${BIN}/pause" ]]; then
    say "✓ binaries cached in ${BIN}"
    return 0
  fi
  command -v go >/dev/null || die "go is not installed" "install Go 1.25 or newer"
  command -v gcc >/dev/null || die "gcc is not installed" "apt-get install gcc (for the pause binary)"
  export GOWORK=off GOFLAGS=-mod=mod
  WORK="$(mktemp -d)"
  mkdir -p "${BIN}"
  local started=${SECONDS}
  build_etcd
  build_kubernetes
  say "✓ built in $((SECONDS - started)) s into ${BIN}"
}

main "$@"
