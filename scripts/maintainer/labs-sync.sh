#!/usr/bin/env bash
# Rewrites every carried file of every starter and solution from the one lab that
# owns it (labs/labs.toml: edits, provided, builds_on), and the README's course map
# and diagram from labs.toml. --check only says what differs (make test-quick).
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${REPO}"
exec "${REPO}/.venv/bin/python" -m checker labs-sync "$@"
