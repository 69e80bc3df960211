#!/usr/bin/env bash
# Installs the pinned vegeta (open-loop HTTP load at a fixed rate, for make bench)
# into .tools/bin, built from the Go module proxy: go verifies the module against
# its checksum database. Go's own build cache makes a second install quick.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"
BIN="${REPO}/.tools/bin"
MODULE="github.com/tsenart/vegeta/v12"

installed_version() { "${BIN}/vegeta" -version 2>/dev/null | awk '/^Version:/ {print $2}'; }

main() {
  if [[ -x "${BIN}/vegeta" && "$(installed_version)" == "${VEGETA_VERSION}" ]]; then
    return 0
  fi
  mkdir -p "${BIN}"
  command -v go >/dev/null 2>&1 ||
    die "vegeta ${VEGETA_VERSION} is not installed, and there is no Go to build it" \
      "install Go 1.22 or newer (https://go.dev/dl), or brew install vegeta, then re-run make bench"
  say "… vegeta ${VEGETA_VERSION} (go install from the module proxy, once)"
  # The version is stamped the way vegeta's own release build does it.
  GOBIN="${BIN}" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X main.Version=${VEGETA_VERSION}" "${MODULE}@${VEGETA_VERSION}" ||
    die "could not build vegeta ${VEGETA_VERSION}" "check that the Go module proxy answers (go env GOPROXY)"
}

main "$@"
