#!/usr/bin/env bash
# Runs the project's own test suite.
#   quick: the engine, the manifest and every static rule (seconds)
#   full:  quick, plus every solution and starter through its checker and the
#          seeded-mistake catalogue (minutes; what CI runs)
#   lab N: the full tier's tests for one lab (the maintainers' matrix on kind)
#   hog:   labs 05 and 10 and the room test under a CPU hog (tests/project/hog.py),
#          one case at a time: two hogs at once would judge a machine busier than asked
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
    full) marker=(-m "not hog") ;;
    hog)
      # -rP: what each check said under the hog, in the summary of every passed case.
      marker=(-m "hog or room_board" -rP) workers=()
      export WORKSHOP_TEST_HOG=1
      ;;
    lab)
      [[ $# -ge 2 ]] || { printf 'usage: scripts/maintainer/test.sh lab N\n' >&2 && exit 2; }
      printf -v slug '%02d' "$((10#$2))"
      # Test ids carry the lab's folder name (04-deploy) or its number (lab04-...).
      marker=(-k "$(basename labs/"${slug}"-*) or lab${slug}")
      ;;
    *) printf 'unknown tier %s (quick, full, hog or lab N)\n' "${tier}" >&2 && exit 2 ;;
  esac
  printf '… test tier: %s\n' "${tier}"
  # -p no:cacheprovider keeps a read-only clone clean; skips are reported (-rs)
  # and turned into failures by tests/project/conftest.py.
  # --durations: the 20 slowest tests; tests/project/conftest.py adds each tier's time.
  .venv/bin/python -m pytest -p no:cacheprovider -rs --durations=20 \
    ${workers[@]+"${workers[@]}"} "${marker[@]}" tests/project
}

main "$@"
