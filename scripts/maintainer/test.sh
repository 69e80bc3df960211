#!/usr/bin/env bash
# Runs the project's own test suite.
#   quick: the engine, the manifest and every static rule (seconds)
#   full:  quick, plus every solution and starter through its checker and the
#          seeded-mistake catalogue; then the hog phase (what CI runs)
#   lab N: the full tier's tests for one lab (the maintainers' matrix on kind)
#   hog:   the hog phase alone: labs 05 and 10 and the room test under one CPU hog for
#          the whole phase (tests/project/hog.py, started by tests/project/conftest.py)
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

main() {
  local tier="${1:-full}" marker=() slug
  # Two workers by default (WORKSHOP_TEST_WORKERS=N to change): one runs the cases
  # that compute on this machine (notebooks, uvicorn, Docker builds), one after
  # another; the other the cluster cases, which mostly wait on rollouts and
  # scrapes (tests/project/conftest.py). A third worker on CI's 2 cores made
  # timing checks fail correct solutions; WORKSHOP_TEST_WORKERS=1 is serial.
  local workers=() count="${WORKSHOP_TEST_WORKERS:-2}"
  if ((count > 1)); then
    workers=(-n "${count}" --dist load)
  fi
  cd "${REPO}"
  case "${tier}" in
    quick) marker=(-m "not full") workers=() ;;
    full)
      # The hog phase comes after the rest: its hog would starve every case beside it.
      # It runs even when the first phase failed, so that one run shows every failure.
      local status=0
      run_tier "full" -m "not hog and not room_board" ${workers[@]+"${workers[@]}"} || status=$?
      hog_phase ${workers[@]+"${workers[@]}"} || status=$?
      return "${status}"
      ;;
    hog)
      hog_phase ${workers[@]+"${workers[@]}"}
      return
      ;;
    lab)
      [[ $# -ge 2 ]] || { printf 'usage: scripts/maintainer/test.sh lab N\n' >&2 && exit 2; }
      printf -v slug '%02d' "$((10#$2))"
      # Test ids carry the lab's folder name (04-deploy) or its number (lab04-...).
      marker=(-k "$(basename labs/"${slug}"-*) or lab${slug}")
      ;;
    *) printf 'unknown tier %s (quick, full, hog or lab N)\n' "${tier}" >&2 && exit 2 ;;
  esac
  run_tier "${tier}" "${marker[@]}" ${workers[@]+"${workers[@]}"}
}

# Labs 05 and 10 and the room test, each case beside another but all under one hog
# (WORKSHOP_TEST_HOG=1); -rP shows what each check said under it.
hog_phase() {
  WORKSHOP_TEST_HOG=1 run_tier "hog phase" -m "hog or room_board" -rP "$@"
}

run_tier() { # name pytest-arguments...
  local name="$1"
  shift
  printf '… test tier: %s\n' "${name}"
  # -p no:cacheprovider keeps a read-only clone clean; skips are reported (-rs)
  # and turned into failures by tests/project/conftest.py.
  # --durations: the 20 slowest tests; tests/project/conftest.py adds each tier's time.
  .venv/bin/python -m pytest -p no:cacheprovider -rs --durations=20 "$@" tests/project
}

main "$@"
