#!/usr/bin/env bash
# Prints the node image the pinned kind (KIND_VERSION) creates clusters with when
# given none, read from kind's own source (pkg/apis/config/defaults/image.go),
# fetched through the Go module proxy: the nightly's "latest" node image, by digest.
#   kind-default-image.sh [--pin VERSIONS_FILE]
# --pin also writes it into the file as KIND_NODE_IMAGE, with KUBECTL_VERSION its
# Kubernetes version: kind's default alone (v1.37 for kind v0.33.0) beside the
# pinned kubectl (v1.35) would be two minors apart, past Kubernetes' skew policy.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

pin() { # versions.env image
  local version="${2#kindest/node:}"
  version="${version%%@*}"
  [[ "${version}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "not a kind node image: $2"
  sed -i -E -e "s|^KIND_NODE_IMAGE=.*|KIND_NODE_IMAGE=$2|" \
    -e "s|^KUBECTL_VERSION=.*|KUBECTL_VERSION=${version}|" "$1"
  say "✓ $1: KIND_NODE_IMAGE=$2, KUBECTL_VERSION=${version}"
}

main() {
  local dir image
  command -v go >/dev/null || die "go is not installed: it fetches kind's source" "install Go"
  dir="$(cd "${TMPDIR:-/tmp}" && go mod download -json "sigs.k8s.io/kind@${KIND_VERSION}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')" ||
    die "the Go module proxy has no sigs.k8s.io/kind@${KIND_VERSION}" "check KIND_VERSION"
  image="$(grep -oE 'kindest/node:v[0-9]+\.[0-9]+\.[0-9]+@sha256:[0-9a-f]{64}' \
    "${dir}/pkg/apis/config/defaults/image.go")" ||
    die "kind ${KIND_VERSION} names no default node image where this script looks" \
      "read ${dir}/pkg/apis/config/defaults/image.go"
  if [[ "${1:-}" == "--pin" ]]; then
    [[ -f "${2:-}" ]] || die "--pin needs a versions file" "kind-default-image.sh --pin scripts/versions.env"
    pin "$2" "${image}"
  fi
  printf '%s\n' "${image}"
}

main "$@"
