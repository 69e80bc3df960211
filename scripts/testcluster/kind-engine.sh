#!/usr/bin/env bash
# A Docker engine of kind's own, for make test-kind: kind needs --privileged, which the
# shared engine (Debian's Docker 20.10) cannot give on this host, and the lab 03 tier
# needs the shared engine and its docker0 exactly as they are.
#   up:     start it (idempotent); print the DOCKER_HOST that reaches it
#   down:   stop it; its images stay in its data root for the next run
#   guard:  fail if the shared engine's docker0 or iptables changed since up
#
# What keeps the shared engine whole (../../README.md of this folder says why):
# - its own socket, data root, exec root, pid file, cgroup parent and bridge
#   (workshop-kind0, made here): Docker 20.10 deletes the interface named docker0 when
#   it starts with --bridge=none, or with --default-address-pool over an old network;
# - no iptables, ip forwarding or masquerading: a dockerd with --iptables flushes the
#   DOCKER chains the shared engine owns. Published ports (kind's API server, the
#   NodePort mapping) go through docker-proxy instead. Without NAT nothing it runs
#   reaches the internet: images are built on the shared engine and moved across;
# - kind's network created here with a subnet of its own, so that kind reuses it;
# - its runtime, kind-runc, drops the capabilities this host cannot grant.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

docker_here() { DOCKER_HOST="${KIND_DOCKER_HOST}" docker "$@"; }

# docker0 as the shared engine left it (its MAC and addresses, not its carrier, which
# follows the shared engine's own containers), and its iptables chains (not their
# rules, which follow its published ports).
shared_state() {
  printf 'docker0 %s\n' "$(cat /sys/class/net/docker0/address 2>/dev/null || echo missing)"
  ip -o -4 addr show docker0 2>/dev/null | awk '{print "docker0 " $4}'
  local table
  for table in filter nat; do
    iptables -t "${table}" -S 2>/dev/null | awk -v t="${table}" '$1 == "-N" && $2 ~ /DOCKER/ {print t, $2}'
  done
}

engine_answers() { docker_here info >/dev/null 2>&1; }

up() {
  mkdir -p "${KIND_ENGINE_RUN}" "${KIND_ENGINE_DATA}"
  if engine_answers; then
    say "✓ kind's Docker engine answers on ${KIND_DOCKER_HOST}"
    printf 'export DOCKER_HOST=%s\n' "${KIND_DOCKER_HOST}"
    return 0
  fi
  # dockerd 20.10 uses a system containerd when one answers there, instead of its own.
  [[ ! -S /run/containerd/containerd.sock ]] ||
    die "a system containerd answers on /run/containerd/containerd.sock: kind's engine would share it" \
      "stop it (systemctl stop containerd), then run this again"
  shared_state >"${KIND_ENGINE_RUN}/shared.before"
  if ! ip link show "${KIND_BRIDGE}" >/dev/null 2>&1; then
    ip link add "${KIND_BRIDGE}" type bridge
    ip addr add "${KIND_BRIDGE_CIDR}" dev "${KIND_BRIDGE}"
  fi
  ip link set "${KIND_BRIDGE}" up
  say "… kind's Docker engine (socket ${KIND_DOCKER_HOST#unix://}, data ${KIND_ENGINE_DATA})"
  # A session of its own: a Ctrl-C to the caller's group does not stop it mid-run.
  setsid dockerd --host "${KIND_DOCKER_HOST}" --data-root "${KIND_ENGINE_DATA}" \
    --exec-root "${KIND_ENGINE_RUN}/exec" --pidfile "${KIND_ENGINE_RUN}/docker.pid" \
    --bridge "${KIND_BRIDGE}" --cgroup-parent /workshop-kind \
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --add-runtime "kind-runc=${HERE}/kind-runc" --default-runtime kind-runc \
    >"${KIND_ENGINE_RUN}/dockerd.log" 2>&1 </dev/null &
  local waited=0
  until engine_answers; do
    ((waited++ < 60)) || die "kind's Docker engine did not answer within 60 s" "its log: ${KIND_ENGINE_RUN}/dockerd.log"
    sleep 1
  done
  if ! docker_here network inspect kind >/dev/null 2>&1; then
    docker_here network create --driver bridge --subnet "${KIND_NETWORK_SUBNET}" \
      --opt "com.docker.network.bridge.name=${KIND_NETWORK_BRIDGE}" kind >/dev/null
  fi
  guard
  say "✓ kind's Docker engine is up; the shared engine's docker0 and iptables are unchanged"
  printf 'export DOCKER_HOST=%s\n' "${KIND_DOCKER_HOST}"
}

guard() {
  [[ -f "${KIND_ENGINE_RUN}/shared.before" ]] || die "no record of the shared engine's state" "run scripts/testcluster/kind-engine.sh up first"
  local now
  now="$(shared_state)"
  if [[ "${now}" != "$(cat "${KIND_ENGINE_RUN}/shared.before")" ]]; then
    say "✗ the shared engine's docker0 or iptables changed since kind's engine started:"
    diff <(cat "${KIND_ENGINE_RUN}/shared.before") <(printf '%s\n' "${now}") | sed 's/^/  /' >&2 || true
    return 1
  fi
}

down() {
  local pid="" status=0
  [[ -f "${KIND_ENGINE_RUN}/docker.pid" ]] && pid="$(cat "${KIND_ENGINE_RUN}/docker.pid")"
  if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
    kill "${pid}"
    local waited=0
    while kill -0 "${pid}" 2>/dev/null && ((waited++ < 30)); do sleep 1; done
    kill -0 "${pid}" 2>/dev/null && kill -9 "${pid}"
  fi
  ip link del "${KIND_BRIDGE}" 2>/dev/null || true
  ip link del "${KIND_NETWORK_BRIDGE}" 2>/dev/null || true
  if [[ -f "${KIND_ENGINE_RUN}/shared.before" ]]; then
    guard || status=1
  fi
  ((status == 0)) && say "✓ kind's Docker engine is down; the shared engine's docker0 and iptables are as they were"
  return "${status}"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  guard) guard ;;
  *) die "usage: scripts/testcluster/kind-engine.sh up|down|guard" "make test-kind runs it" ;;
esac
