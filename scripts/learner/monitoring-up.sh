#!/usr/bin/env bash
# Lab 07: installs kube-prometheus-stack (Prometheus, the Prometheus Operator,
# Grafana, kube-state-metrics, node-exporter) into the kind cluster, at the
# pinned chart version, with the course's laptop-sized values and the course's one
# Prometheus version (PROMETHEUS_VERSION, as promtool and the test cluster). Safe to
# run again.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
export PATH="${REPO}/.tools/bin:${PATH}"
CHART_REPO=https://prometheus-community.github.io/helm-charts
VALUES="${REPO}/k8s/monitoring-values.yaml"

# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

on_exit() {
  local status=$?
  if ((status != 0 && status != 2)); then
    say "✗ make monitoring-up failed (exit ${status}); what the namespace reports:"
    kubectl -n "${MONITORING_NAMESPACE}" get pods 2>&1 | sed 's/^/  /' >&2 || true
    kubectl -n "${MONITORING_NAMESPACE}" get events --sort-by=.lastTimestamp 2>&1 | tail -n 10 | sed 's/^/  /' >&2 || true
    say "  hint: a pod in ImagePullBackOff needs the internet; Pending often means Docker has too little memory (labs/00-preflight)"
  fi
}
trap on_exit EXIT

main() {
  local started=${SECONDS}
  for tool in kubectl helm; do
    command -v "${tool}" >/dev/null || die "${tool} is not installed" "make tools"
  done
  kubectl version --request-timeout=5s >/dev/null 2>&1 ||
    die "no cluster answers in the current kube context" "make cluster-up"
  say "… kube-prometheus-stack ${KUBE_PROMETHEUS_STACK_CHART_VERSION} into namespace ${MONITORING_NAMESPACE} (the first time downloads ~1 GB of images)"
  helm upgrade --install "${MONITORING_RELEASE}" kube-prometheus-stack --repo "${CHART_REPO}" \
    ${KUBE_PROMETHEUS_STACK_CHART_VERSION:+--version "${KUBE_PROMETHEUS_STACK_CHART_VERSION}"} \
    --namespace "${MONITORING_NAMESPACE}" \
    --create-namespace --values "${VALUES}" \
    --set-string "prometheus.prometheusSpec.image.tag=v${PROMETHEUS_VERSION}" \
    --wait --timeout 10m
  say "✓ monitoring ready in $((SECONDS - started)) s"
  say "  Prometheus: kubectl -n ${MONITORING_NAMESPACE} port-forward svc/${MONITORING_RELEASE}-kube-prometheus-prometheus 9090"
  say "  Grafana:    kubectl -n ${MONITORING_NAMESPACE} port-forward svc/${MONITORING_RELEASE}-grafana 3000:80  (admin / workshop)"
}

main "$@"
