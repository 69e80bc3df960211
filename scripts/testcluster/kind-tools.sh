#!/usr/bin/env bash
# kind's tools for make test-kind, built from the Go module proxy into the cache
# (this machine cannot download make tools' releases): kind, kubeadm (from the same
# Kubernetes module as the test cluster), crictl and helm (versions.env says which,
# and why crictl and helm differ from the learners' pins). Cached like build.sh's.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WORK=""

build_kind_tools() {
  local out="$1" src="${WORK}/src" module version_pkg=k8s.io/component-base/version
  mkdir -p "${src}"
  module_source "sigs.k8s.io/kind@${KIND_VERSION}" "${src}/kind"
  (cd "${src}/kind" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${out}/kind" .)
  module_source "sigs.k8s.io/cri-tools@${CRICTL_VERSION}" "${src}/cri-tools"
  (cd "${src}/cri-tools" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w \
      -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION}" -o "${out}/crictl" ./cmd/crictl)
  module_source "helm.sh/helm/v3@${HELM_MODULE_VERSION}" "${src}/helm"
  (cd "${src}/helm" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w \
      -X helm.sh/helm/v3/internal/version.version=${HELM_MODULE_VERSION}" -o "${out}/helm" ./cmd/helm)
  # kubeadm, as build.sh builds the other Kubernetes binaries (staging modules published).
  module_source "k8s.io/kubernetes@${K8S_VERSION}" "${src}/kubernetes"
  for module in $(awk '/=> \.\/staging/{print $1}' "${src}/kubernetes/go.mod"); do
    (cd "${src}/kubernetes" && go mod edit -dropreplace="${module}" -require="${module}@${K8S_STAGING_VERSION}")
  done
  # As build.sh builds the others (cgo and all): its Go build cache serves this one too.
  (cd "${src}/kubernetes" && go build -trimpath -o "${out}/kubeadm" -ldflags "-s -w \
      -X ${version_pkg}.gitVersion=${K8S_VERSION} -X ${version_pkg}.gitTreeState=clean" ./cmd/kubeadm)
}

main() {
  command -v go >/dev/null || die "go is not installed" "install Go 1.25 or newer"
  export GOWORK=off GOFLAGS=-mod=mod GOGC=400
  scratch_dir WORK
  cached "kind tools (kind ${KIND_VERSION}, kubeadm ${K8S_VERSION}, crictl ${CRICTL_VERSION}, helm ${HELM_MODULE_VERSION})" \
    "${KIND_TOOLS_BIN}" build_kind_tools
}

main "$@"
