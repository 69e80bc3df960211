#!/usr/bin/env bash
# Builds a lab's image, loads it into the cluster (in room mode: pushes it to the
# room's registry), applies the lab's k8s/ folder with that image, creates the API key Secret if it is missing, and waits
# for the rollout.
#   scripts/learner/deploy.sh DIR [IMAGE]     (WORKSHOP_NAMESPACE picks the namespace)
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="${REPO}/.tools/bin:${PATH}"
NAMESPACE="${WORKSHOP_NAMESPACE:-workshop}"
APP=diabetes-api
SECRET=diabetes-api-key
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-150s}"
OVERLAY=""
# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

# An overlay beside nothing of yours: it points at your k8s/ folder and only sets
# the namespace and the image tag, like `kustomize edit set image` in a pipeline.
write_overlay() { # k8s-dir image
  scratch_dir OVERLAY
  local base
  base="$(python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$1" "${OVERLAY}")"
  cat >"${OVERLAY}/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ${NAMESPACE}
resources: ["${base}"]
$(image_entry "$2")
YAML
}

# name:tag from make image, or repository@sha256:... from a push in room mode.
image_entry() { # image
  if [[ "$1" == *@sha256:* ]]; then
    printf 'images: [{name: %s, newName: %s, digest: "%s"}]\n' "${APP}" "${1%@*}" "${1#*@}"
  else
    printf 'images: [{name: %s, newName: %s, newTag: "%s"}]\n' "${APP}" "${1%%:*}" "${1##*:}"
  fi
}

ensure_secret() {
  if kubectl -n "${NAMESPACE}" get secret "${SECRET}" >/dev/null 2>&1; then return 0; fi
  say "… creating Secret ${SECRET} with a random API key (never written to a file)"
  kubectl -n "${NAMESPACE}" create secret generic "${SECRET}" \
    --from-literal=api-key="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')" >/dev/null
  kubectl -n "${NAMESPACE}" label secret "${SECRET}" app.kubernetes.io/name="${APP}" \
    app.kubernetes.io/part-of=ml-workshop >/dev/null
}

# Handing the replica count to an HPA without losing pods. A client-side apply
# deletes every field that the last applied manifest had and the new one lacks:
# a Deployment that stops setting replicas (lab 05 -> lab 06) would drop from 3
# to 1 pod, the "one-time degradation" of Kubernetes' HPA docs. Removing replicas
# from the last-applied record first makes the apply leave the count alone; the
# HPA then owns it.
hand_replicas_to_hpa() { # rendered manifests
  # The venv's Python reads the YAML (make deploy bootstraps it); without it
  # (a pipeline calling this script directly) there is no earlier apply to hand over.
  local python="${REPO}/.venv/bin/python"
  [[ -x "${python}" ]] || return 0
  "${python}" - "$1" <<'PY' || return 0
import sys
import yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")) if isinstance(d, dict)]
deployments = [d for d in docs if d.get("kind") == "Deployment"]
sys.exit(0 if any("replicas" not in (d.get("spec") or {}) for d in deployments) else 1)
PY
  local last
  last="$(kubectl -n "${NAMESPACE}" apply view-last-applied "deployment/${APP}" -o json 2>/dev/null)" || return 0
  python3 -c 'import json,sys; sys.exit(0 if "replicas" in json.load(sys.stdin).get("spec", {}) else 1)' <<<"${last}" || return 0
  say "… the Deployment stops setting replicas: handing the count ($(kubectl -n "${NAMESPACE}" get "deployment/${APP}" -o jsonpath='{.spec.replicas}') pods) to the HPA, no pod lost"
  python3 -c 'import json,sys; d=json.load(sys.stdin); d["spec"].pop("replicas"); print(json.dumps(d))' <<<"${last}" |
    kubectl -n "${NAMESPACE}" apply set-last-applied -f - >/dev/null
}

# The Namespace (with its Pod Security labels) and the Secret before the pods that
# read it: a pod created first waits in CreateContainerConfigError until the
# kubelet retries, which the rollout wait would rightly call stuck.
namespace_first() { # rendered manifests
  local python="${REPO}/.venv/bin/python" namespaces
  [[ -x "${python}" ]] || return 0
  namespaces="$("${python}" - "$1" <<'PY'
import sys
import yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")) if isinstance(d, dict)]
found = [d for d in docs if d.get("kind") == "Namespace"]
print(yaml.safe_dump_all(found, sort_keys=False) if found else "", end="")
PY
)" || return 0
  if [[ -n "${namespaces}" ]]; then
    kubectl apply -f - <<<"${namespaces}" >&2 || die "kubectl apply failed" "make check-lab N shows which manifest is wrong"
  fi
  if kubectl get namespace "${NAMESPACE}" >/dev/null 2>&1; then ensure_secret; fi
}

# Room mode (make join): no Namespace object (the instructor's), no fixed nodePort,
# and a dashboard of the learner's own in the room's Grafana (scripts/room/fit.py).
fit_to_room() { # rendered manifests
  [[ "${WORKSHOP_ROOM:-}" == 1 ]] || return 0
  "${REPO}/.venv/bin/python" "${REPO}/scripts/room/fit.py" "$1" "${NAMESPACE}"
  say "… room mode: the room's namespace ${NAMESPACE} is used as it is; Services get a ClusterIP, no nodePort"
}

# Each object carries a hash of the folder's version of it: when the API server
# refuses one (kubectl apply still updates the others), the checker sees that the
# cluster runs an earlier version, and says so instead of judging it.
record_folder() { # rendered manifests, k8s folder
  local python="${REPO}/.venv/bin/python"
  [[ -x "${python}" ]] || return 0
  "${python}" -m checker stamp "$1" "$2" || die "could not record the folder's version on the objects" "make check-lab N shows which manifest is wrong"
}

# The checker's own judgement (python -m checker rollout): a pod that waiting will
# not fix (crash loop, image not found, a probe on a wrong path) ends the wait at
# once with its events. Without the venv, kubectl's rollout status.
rollout_seconds() {
  local seconds="${ROLLOUT_TIMEOUT%s}"
  [[ "${seconds}" =~ ^[0-9]+m$ ]] && seconds=$((${seconds%m} * 60))
  [[ "${seconds}" =~ ^[0-9]+$ ]] || die "ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT} is not a duration" "seconds (150s) or minutes (3m)"
  printf '%s\n' "${seconds}"
}

wait_for_rollout() {
  local python="${REPO}/.venv/bin/python" seconds
  seconds="$(rollout_seconds)"
  if [[ -x "${python}" ]]; then
    WORKSHOP_NAMESPACE="${NAMESPACE}" "${python}" -m checker rollout --timeout "${seconds}" >&2
    return
  fi
  say "… waiting for the rollout (at most ${ROLLOUT_TIMEOUT})"
  kubectl -n "${NAMESPACE}" rollout status "deployment/${APP}" --timeout="${ROLLOUT_TIMEOUT}" >&2 && return 0
  kubectl -n "${NAMESPACE}" get pods -l "app.kubernetes.io/name=${APP}" >&2 || true
  return 1
}

main() {
  local dir="${1:-}" image="${2:-}"
  [[ -n "${dir}" && -d "${dir}/k8s" ]] || die "no k8s/ folder in ${dir:-(no folder given)}" "make deploy N=4"
  rollout_seconds >/dev/null # a bad ROLLOUT_TIMEOUT stops here, before any build
  command -v kubectl >/dev/null || die "kubectl is not installed" "make tools"
  kubectl version --request-timeout=5s >/dev/null 2>&1 || die "the cluster does not answer" "make cluster-up"
  if [[ -z "${image}" ]]; then image="$("${REPO}/scripts/learner/image.sh" "${dir}")"; fi
  if [[ "${WORKSHOP_ROOM:-}" == 1 ]]; then
    # Room mode: through the room's registry, into this learner's own repository,
    # and run by digest.
    image="$("${REPO}/scripts/learner/push-image.sh" "${image}")"
  else
    "${REPO}/scripts/learner/load-image.sh" "${image}"
  fi
  write_overlay "$(cd "${dir}/k8s" && pwd)" "${image}"
  local rendered
  scratch_dir rendered
  rendered="${rendered}/manifests.yaml"
  kubectl kustomize "${OVERLAY}" >"${rendered}" || die "kubectl kustomize failed" "make check-lab N shows which manifest is wrong"
  fit_to_room "${rendered}"
  hand_replicas_to_hpa "${rendered}"
  record_folder "${rendered}" "${dir}/k8s"
  say "… kubectl apply -k ${dir}/k8s (namespace ${NAMESPACE}, image ${image})"
  namespace_first "${rendered}"
  kubectl apply -f "${rendered}" >&2 || die "kubectl apply failed: the API server refused what its message above names (the other objects were applied)" "fix that field in ${dir}/k8s, then run make deploy again"
  ensure_secret
  wait_for_rollout || die "the rollout did not finish" "make check-lab N explains why (events and pod logs)"
  say "✓ deployed ${image} to namespace ${NAMESPACE}"
  # Lab 10 on: the Prometheus Adapter with the folder's values, and the in-cluster
  # load generator that make capacity and the checker use. In room mode the
  # Adapter is the room's one, the instructor's (it serves a cluster-wide API).
  if [[ -f "${dir}/monitoring/adapter-values.yaml" ]]; then
    if [[ "${WORKSHOP_ROOM:-}" == 1 ]]; then
      say "room mode: the room's Prometheus Adapter serves custom.metrics.k8s.io; make check-lab 10 compares your rule with the room's"
    else
      "${REPO}/scripts/learner/adapter-up.sh" "${dir}"
    fi
    "${REPO}/scripts/learner/loadgen-image.sh"
  fi
}

main "$@"
