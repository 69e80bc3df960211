#!/usr/bin/env bash
# Lab 10: installs the Prometheus Adapter with a lab folder's
# monitoring/adapter-values.yaml, and waits until custom.metrics.k8s.io is served.
# On kind: the prometheus-adapter Helm chart at the pinned version. On the
# project's test cluster (no chart can be downloaded there): the same adapter
# version built from source, rendered from the same values (scripts/testcluster/adapter.py).
#   scripts/learner/adapter-up.sh DIR
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
export PATH="${REPO}/.tools/bin:${PATH}"
CHART_REPO=https://prometheus-community.github.io/helm-charts
APISERVICE=v1beta1.custom.metrics.k8s.io
# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

# The test cluster labels the Prometheus Service it stands in for (testcluster/up.sh).
on_test_cluster() {
  [[ "$(kubectl -n "${MONITORING_NAMESPACE}" get service "${MONITORING_RELEASE}-kube-prometheus-prometheus" \
    -o jsonpath='{.metadata.labels.app\.kubernetes\.io/part-of}' 2>/dev/null)" == workshop-testcluster ]]
}

install_chart() { # values
  command -v helm >/dev/null || die "helm is not installed" "make tools"
  say "… prometheus-adapter chart ${PROMETHEUS_ADAPTER_CHART_VERSION:-(newest)} into namespace ${MONITORING_NAMESPACE}"
  # An empty version (the nightly "latest" channel) takes the newest chart.
  helm upgrade --install "${ADAPTER_RELEASE}" prometheus-adapter --repo "${CHART_REPO}" \
    ${PROMETHEUS_ADAPTER_CHART_VERSION:+--version "${PROMETHEUS_ADAPTER_CHART_VERSION}"} \
    --namespace "${MONITORING_NAMESPACE}" --values "$1" >&2
  # Waited for here rather than by helm --wait, which shows nothing for minutes.
  kubectl -n "${MONITORING_NAMESPACE}" rollout status "deployment/${ADAPTER_RELEASE}" --timeout=300s >&2
}

# True once the adapter's ClusterIP reaches the adapter itself (its /healthz says ok).
service_answers() { # cluster-ip
  [[ "$(curl -sk --max-time 2 "https://$1/healthz")" == ok ]]
}

install_rendered() { # values
  local render=("${REPO}/.venv/bin/python" "${REPO}/scripts/testcluster/adapter.py" "$1"
    "workshop.local/prometheus-adapter:${PROMETHEUS_ADAPTER_VERSION}") rendered ip waited=0
  rendered="$(mktemp)"
  "${render[@]}" >"${rendered}" ||
    { rm -f "${rendered}" && die "$1 cannot be rendered (above)" "make check-lab 10 shows what is wrong in it"; }
  say "… prometheus-adapter ${PROMETHEUS_ADAPTER_VERSION} (test cluster) into namespace ${MONITORING_NAMESPACE}"
  kubectl apply -f "${rendered}" >/dev/null
  kubectl -n "${MONITORING_NAMESPACE}" rollout status "deployment/${ADAPTER_RELEASE}" --timeout=120s >&2
  # The APIService only once the Service routes (adapter.py --apiservice says why).
  ip="$(kubectl -n "${MONITORING_NAMESPACE}" get service "${ADAPTER_RELEASE}" -o jsonpath='{.spec.clusterIP}')"
  until service_answers "${ip}"; do
    ((waited < 60)) || { rm -f "${rendered}" && die "the adapter's Service does not route after 60 s" "kubectl -n ${MONITORING_NAMESPACE} get endpointslices"; }
    sleep 1
    ((waited++)) || true
  done
  "${render[@]}" --apiservice >"${rendered}"
  kubectl apply -f "${rendered}" >/dev/null
  rm -f "${rendered}"
}

main() {
  local dir="${1:-}" values started=${SECONDS}
  values="${dir}/monitoring/adapter-values.yaml"
  if [[ "${WORKSHOP_ROOM:-}" == 1 ]]; then
    die "room mode: the room has one Prometheus Adapter, your instructor's (it serves a cluster-wide API)" \
      "make check-lab 10 compares your rule with the room's; README → Room mode"
  fi
  [[ -n "${dir}" && -f "${values}" ]] || die "no monitoring/adapter-values.yaml in ${dir:-(no folder given)}" "make adapter-up N=10"
  command -v kubectl >/dev/null || die "kubectl is not installed" "make tools"
  kubectl version --request-timeout=5s >/dev/null 2>&1 || die "the cluster does not answer" "make cluster-up"
  kubectl get namespace "${MONITORING_NAMESPACE}" >/dev/null 2>&1 ||
    die "no namespace ${MONITORING_NAMESPACE}: the adapter reads lab 07's Prometheus" "make monitoring-up"
  if on_test_cluster; then install_rendered "${values}"; else install_chart "${values}"; fi
  local waited=0
  until kubectl wait --for=condition=Available "apiservice/${APISERVICE}" --timeout=2s >/dev/null 2>&1; do
    if ((waited >= 90)); then
      kubectl get apiservice "${APISERVICE}" >&2 || true
      die "${APISERVICE} is not available after 90 s" "kubectl -n ${MONITORING_NAMESPACE} logs deploy/${ADAPTER_RELEASE}"
    fi
    ((waited % 10 == 0)) && say "  … waiting for ${APISERVICE} (${waited} s of at most 90 s)"
    sleep 1
    ((waited++)) || true
  done
  say "✓ custom.metrics.k8s.io served by the Prometheus Adapter in $((SECONDS - started)) s"
}

main "$@"
