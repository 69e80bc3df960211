#!/usr/bin/env bash
# Runs the project's own test suite.
#   quick: the engine, the manifest and every static rule (seconds)
#   full:  quick, plus every solution and starter through its checker and the
#          seeded-mistake catalogue (minutes; what CI runs)
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

main() {
  local tier="${1:-full}" marker=()
  cd "${REPO}"
  case "${tier}" in
    quick) marker=(-m "not full") ;;
    full) ;;
    *) printf 'unknown tier %s (quick or full)\n' "${tier}" >&2 && exit 2 ;;
  esac
  printf '… test tier: %s\n' "${tier}"
  # -p no:cacheprovider keeps a read-only clone clean; skips are reported (-rs)
  # and turned into failures by tests/project/conftest.py.
  PYTHONPATH=tests .venv/bin/python -m pytest -p no:cacheprovider -rs "${marker[@]}" tests/project
}

main "$@"
