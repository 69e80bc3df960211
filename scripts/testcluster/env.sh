#!/usr/bin/env bash
# Prints the shell lines that point kubectl (and the checkers) at the test
# cluster:  eval "$(scripts/testcluster/env.sh)"
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  printf 'export KUBECONFIG=%q\n' "${KUBECONFIG_OUT}"
  # kubectl, and promtool (lab 07's rule unit tests) from the Prometheus build.
  printf 'export PATH=%q:%q:"${PATH}"\n' "${K8S_BIN}" "${PROMETHEUS_BIN}"
  # The checkers' Prometheus: this one, beside the cluster, not a port-forward.
  printf 'export WORKSHOP_PROMETHEUS_URL=%q\n' "http://${PROMETHEUS_ADDRESS}"
}

main "$@"
