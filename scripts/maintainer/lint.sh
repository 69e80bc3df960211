#!/usr/bin/env bash
# Static checks of the project itself: ruff on the engine, the checker suites
# and the solutions, and bash's own parser on every script.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

main() {
  cd "${REPO}"
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
  local script
  for script in scripts/*.sh scripts/*/*.sh .ci/run; do
    bash -n "${script}"
  done
  printf '✓ lint clean\n'
}

main "$@"
