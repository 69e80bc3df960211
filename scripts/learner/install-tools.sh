#!/usr/bin/env bash
# Installs the pinned kind, kubectl, helm and promtool into .tools/bin, for linux or
# darwin on amd64 or arm64. Every download is checked against the SHA-256 that
# its publisher releases beside it. Never uses sudo.
#
# WORKSHOP_TOOLS_FROM_SOURCE=1 (a machine that reaches the Go module proxy but not the
# releases, as CI's): kind, kubectl and helm built from source instead
# (scripts/testcluster/kind-tools.sh, and the test cluster's kubectl); their versions
# are the ones scripts/versions.env says can be built there. No promtool.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
BIN="${REPO}/.tools/bin"
WORK=""
# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

platform() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "unsupported system $(uname -s)" "on Windows, run the workshop inside WSL2" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    arm64 | aarch64) arch=arm64 ;;
    *) die "unsupported CPU $(uname -m)" "the course supports amd64 and arm64" ;;
  esac
  printf '%s %s' "${os}" "${arch}"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

fetch() { # url destination
  command -v curl >/dev/null 2>&1 || die "curl is not installed" "install curl, then re-run make tools"
  curl --fail --silent --show-error --location --retry 3 --connect-timeout 15 \
    --output "$2" "$1" || die "could not download $1" "check your internet access, then re-run make tools"
}

verify() { # file checksum-url [name in a list of checksums]
  local expected actual
  fetch "$2" "${WORK}/checksum"
  if [[ -n "${3:-}" ]]; then
    expected="$(awk -v name="$3" '$2 == name {print $1}' "${WORK}/checksum")"
  else
    expected="$(cut -d' ' -f1 <"${WORK}/checksum" | head -n1)"
  fi
  actual="$(sha256_of "$1")"
  [[ -n "${expected}" && "${expected}" == "${actual}" ]] ||
    die "checksum mismatch for $(basename "$1"): got ${actual}, expected ${expected}" \
      "delete .tools and try again; if it persists, the download was tampered with"
}

install_kind() {
  local url="https://github.com/kubernetes-sigs/kind/releases/download/${KIND_VERSION}/kind-${OS}-${ARCH}"
  say "… kind ${KIND_VERSION}"
  fetch "${url}" "${WORK}/kind"
  verify "${WORK}/kind" "${url}.sha256sum"
  install -m 0755 "${WORK}/kind" "${BIN}/kind"
}

install_kubectl() {
  local url="https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/${OS}/${ARCH}/kubectl"
  say "… kubectl ${KUBECTL_VERSION}"
  fetch "${url}" "${WORK}/kubectl"
  verify "${WORK}/kubectl" "${url}.sha256"
  install -m 0755 "${WORK}/kubectl" "${BIN}/kubectl"
}

install_helm() {
  local name="helm-${HELM_VERSION}-${OS}-${ARCH}.tar.gz"
  local url="https://get.helm.sh/${name}"
  say "… helm ${HELM_VERSION}"
  fetch "${url}" "${WORK}/${name}"
  verify "${WORK}/${name}" "${url}.sha256sum"
  tar -xzf "${WORK}/${name}" -C "${WORK}"
  install -m 0755 "${WORK}/${OS}-${ARCH}/helm" "${BIN}/helm"
}

# Lab 07's rule unit tests (promtool test rules), from the Prometheus release the
# test cluster builds; its sha256sums.txt lists every archive.
install_promtool() {
  local dir="prometheus-${PROMETHEUS_VERSION}.${OS}-${ARCH}"
  local base="https://github.com/prometheus/prometheus/releases/download/v${PROMETHEUS_VERSION}"
  say "… promtool ${PROMETHEUS_VERSION}"
  fetch "${base}/${dir}.tar.gz" "${WORK}/${dir}.tar.gz"
  verify "${WORK}/${dir}.tar.gz" "${base}/sha256sums.txt" "${dir}.tar.gz"
  tar -xzf "${WORK}/${dir}.tar.gz" -C "${WORK}" "${dir}/promtool"
  install -m 0755 "${WORK}/${dir}/promtool" "${BIN}/promtool"
}

install_from_source() {
  # shellcheck source=../testcluster/lib.sh
  source "${REPO}/scripts/testcluster/lib.sh"
  [[ -x "${K8S_BIN}/kubectl" ]] || die "the test cluster's kubectl is not built" "scripts/testcluster/build.sh"
  "${REPO}/scripts/testcluster/kind-tools.sh"
  install -m 0755 "${KIND_TOOLS_BIN}/kind" "${KIND_TOOLS_BIN}/helm" "${K8S_BIN}/kubectl" "${BIN}/"
  say "✓ kind ${KIND_VERSION}, kubectl ${K8S_VERSION} and helm ${HELM_MODULE_VERSION}, built from source, are in .tools/bin"
}

main() {
  if [[ "${WORKSHOP_TOOLS_FROM_SOURCE:-}" == 1 ]]; then
    mkdir -p "${BIN}"
    install_from_source
    return 0
  fi
  read -r OS ARCH <<<"$(platform)"
  scratch_dir WORK
  mkdir -p "${BIN}"
  install_kind
  install_kubectl
  install_helm
  install_promtool
  say "✓ kind, kubectl, helm and promtool are in .tools/bin (the Makefile puts it first on PATH)"
}

main "$@"
