#!/usr/bin/env bash
# Creates .venv from uv.lock the first time a target needs it, and again
# whenever the lock file changes. Needs only python3 and PyPI.
#   scripts/learner/bootstrap.sh [GROUP...]   also installs optional dependency groups
#   (notebook, profile); a group once installed stays, across later syncs.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
UV_HOME="${REPO}/.tools/uv-${UV_VERSION}"
STAMP="${REPO}/.venv/.workshop-lock"
GROUPS_FILE="${REPO}/.venv/.workshop-groups"

# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3 python; do
    [[ -n "${candidate}" ]] || continue
    if command -v "${candidate}" >/dev/null 2>&1 &&
      "${candidate}" -c "import sys; sys.exit(sys.version_info < (${PYTHON_MIN/./, }))" 2>/dev/null; then
      command -v "${candidate}"
      return 0
    fi
  done
  return 1
}

ensure_uv() {
  [[ -x "${UV_HOME}/bin/uv" ]] && return 0
  say "… installing uv ${UV_VERSION} into .tools (once)"
  "${PY}" -m venv "${UV_HOME}"
  "${UV_HOME}/bin/python" -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
}

main() {
  local groups=() lock_hash group missing=""
  PY="$(find_python)" || {
    say "✗ Python ${PYTHON_MIN} or newer was not found."
    say "  hint: install it (python.org, brew install python, or apt install python3 python3-venv), then re-run."
    exit 2
  }
  lock_hash="$(cat "${REPO}/uv.lock" "${REPO}/pyproject.toml" | "${PY}" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  # The groups asked for now, and every group installed before: a sync never
  # removes what an earlier make notebook (or make profiler) installed.
  if [[ -f "${GROUPS_FILE}" ]]; then
    while read -r group; do [[ -n "${group}" ]] && groups+=("${group}"); done <"${GROUPS_FILE}"
  fi
  for group in "$@"; do
    [[ " ${groups[*]:-} " == *" ${group} "* ]] || { groups+=("${group}"); missing=1; }
  done
  if [[ -z "${missing}" && -f "${STAMP}" && "$(cat "${STAMP}")" == "${lock_hash}" ]]; then
    return 0
  fi
  ensure_uv
  say "… installing the locked Python packages into .venv"
  local args=(sync --frozen --project "${REPO}" --python "${PY}")
  for group in ${groups[@]+"${groups[@]}"}; do args+=(--group "${group}"); done
  UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT="${REPO}/.venv" "${UV_HOME}/bin/uv" "${args[@]}" || {
    say "✗ installing the packages failed (see above)."
    say "  hint: check your internet access to PyPI, then run make setup again."
    exit 2
  }
  printf '%s' "${lock_hash}" >"${STAMP}"
  printf '%s\n' ${groups[@]+"${groups[@]}"} >"${GROUPS_FILE}"
  say "✓ .venv is ready"
}

main "$@"
