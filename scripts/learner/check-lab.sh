#!/usr/bin/env bash
# Runs lab N's checker and exits with its own code: 0 all passed, 1 something to
# fix, 2 could not run. (Through make, any failure becomes make's exit 2.)
# Usage: scripts/learner/check-lab.sh N [--lab-dir DIR] [--json FILE] [-v]
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

main() {
  if (($# < 1)); then
    printf 'usage: scripts/learner/check-lab.sh N [--lab-dir DIR] [--json FILE] [-v]\n' >&2
    exit 2
  fi
  "${REPO}/scripts/learner/bootstrap.sh"
  PATH="${REPO}/.tools/bin:${PATH}" exec "${REPO}/.venv/bin/python" -m checker check "$@"
}

main "$@"
