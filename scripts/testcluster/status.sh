#!/usr/bin/env bash
# Reports the project's own cluster: each component's process, the node's
# conditions, and, for anything down, its last log lines. Exit 0 when healthy.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  local component healthy=0
  for component in "${COMPONENTS[@]}"; do
    if running "${component}"; then
      say "✓ ${component} (pid $(cat "$(pidfile "${component}")"))"
    else
      healthy=1
      say "✗ ${component} is not running"
      [[ -f "$(logfile "${component}")" ]] && tail -n 5 "$(logfile "${component}")" >&2
    fi
  done
  if [[ -f "${KUBECONFIG_OUT}" ]] && kubectl_ get --raw /readyz >/dev/null 2>&1; then
    kubectl_ get nodes -o jsonpath='{range .items[*]}{.metadata.name}:{range .status.conditions[*]} {.type}={.status}{end}{"\n"}{end}' >&2
    kubectl_ -n kube-system get deployments,pods -o wide >&2 || healthy=1
    kubectl_ get apiservice v1beta1.metrics.k8s.io >&2 || healthy=1
  else
    healthy=1
    say "✗ the API server does not answer"
  fi
  return "${healthy}"
}

main "$@"
