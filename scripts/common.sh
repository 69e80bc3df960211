# shellcheck shell=bash
# Shared by the scripts: messages on stderr, a fatal error with a hint (exit 2),
# and scratch directories removed however the script ends. Bash 3.2 compatible
# (macOS's /bin/bash runs the learners' make targets).
say() { printf '%s\n' "$*" >&2; }
die() {
  say "✗ $1"
  [[ $# -gt 1 ]] && say "  hint: $2"
  exit 2
}

SCRATCH_DIRS=()
remove_scratch() {
  local dir
  for dir in ${SCRATCH_DIRS[@]+"${SCRATCH_DIRS[@]}"}; do rm -rf "${dir}"; done
  return 0
}
trap remove_scratch EXIT
# scratch_dir NAME: a new temporary directory, in the variable NAME.
scratch_dir() {
  local dir
  dir="$(mktemp -d)"
  SCRATCH_DIRS+=("${dir}")
  printf -v "$1" '%s' "${dir}"
}
