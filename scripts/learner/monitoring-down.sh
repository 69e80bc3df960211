#!/usr/bin/env bash
# Removes the monitoring stack (lab 07). Its CRDs stay: Helm never deletes them,
# and deleting them would also delete every ServiceMonitor in the cluster.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
export PATH="${REPO}/.tools/bin:${PATH}"

main() {
  if helm status "${MONITORING_RELEASE}" --namespace "${MONITORING_NAMESPACE}" >/dev/null 2>&1; then
    helm uninstall "${MONITORING_RELEASE}" --namespace "${MONITORING_NAMESPACE}" --wait
  fi
  printf '✓ monitoring removed\n' >&2
}

main "$@"
