#!/usr/bin/env bash
# Proves that an interrupted run leaves nothing behind. A run shaped like .ci/run (an
# exit trap that tears the cluster down) brings the cluster up and deploys lab 04's
# solution; mid-rollout its whole process group gets SIGTERM, as Ctrl-C sends SIGINT
# to a terminal's. Then no process of the cluster's or of its pods, no mount and no
# network namespace may be left. Ends with the cluster down. Run as root (.ci/run's
# last phase, or by hand after scripts/testcluster/down.sh).
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_LOG="${TMPDIR:-/tmp}/workshop-interrupted-run.log"
NAMESPACE="interrupted"

# The run that gets interrupted, in a process group (a session) of its own.
interrupted_run() {
  setsid bash -c '
    trap "\"$1/scripts/testcluster/down.sh\"" EXIT
    "$1/scripts/testcluster/up.sh"
    eval "$("$1/scripts/testcluster/env.sh")"
    WORKSHOP_NAMESPACE="$2" ROLLOUT_TIMEOUT=300s "$1/scripts/learner/deploy.sh" "$1/solutions/04-deploy"
    sleep 600 # never reached: the group is stopped mid-rollout
  ' interrupted "${REPO}" "${NAMESPACE}" >"${RUN_LOG}" 2>&1 &
  echo $!
}

# Some of lab 04's pods have started (their processes run), the rollout has not ended.
mid_rollout() {
  local pods
  pods="$(kubectl_ -n "${NAMESPACE}" get pods -l app.kubernetes.io/name=diabetes-api \
    -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' 2>/dev/null)" || return 1
  grep -q Running <<<"${pods}"
}

main() {
  say "… an interrupted run: cluster up, lab 04 deploying, then SIGTERM to the run's process group"
  scripts/testcluster/down.sh >/dev/null 2>&1 || true
  local group waited=0
  group="$(interrupted_run)"
  until mid_rollout; do
    if ((waited++ > 300)) || ! kill -0 "${group}" 2>/dev/null; then
      tail -n 30 "${RUN_LOG}" >&2
      die "the run never reached its rollout (log: ${RUN_LOG})"
    fi
    sleep 1
  done
  say "  … pods running after ${waited} s: SIGTERM to process group ${group}"
  kill -TERM -- "-${group}"
  for _ in $(seq 1 120); do kill -0 "${group}" 2>/dev/null || break; sleep 1; done
  kill -0 "${group}" 2>/dev/null && die "the interrupted run did not end within 120 s"
  tail -n 3 "${RUN_LOG}" >&2
  local left
  left="$(scripts/testcluster/down.sh 2>&1 | grep -v '^✓' || true)"
  # The pods' own user (a zombie has ended: it only waits to be reaped by init).
  left+="$(ps -u 10001 -o pid=,stat=,args= 2>/dev/null | awk '$2 !~ /^Z/' |
    sed 's/^ */process of uid 10001: /' || true)"
  if [[ -n "${left}" ]]; then
    say "✗ the interrupted run left these behind:"
    say "${left}"
    exit 1
  fi
  say "✓ interrupted mid-rollout: no process, mount, network namespace or rule left behind"
}

cd "${REPO}"
main "$@"
