#!/usr/bin/env bash
# Tears the project's own cluster down and leaves nothing behind: no process,
# mount, network namespace, bridge or iptables rule. Run as root.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_component() {
  local name="$1" pid
  [[ -f "$(pidfile "${name}")" ]] || return 0
  pid="$(cat "$(pidfile "${name}")")"
  if kill -0 "${pid}" 2>/dev/null; then
    kill "${pid}" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.25; done
    kill -9 "${pid}" 2>/dev/null || true
  fi
  rm -f "$(pidfile "${name}")"
}

remove_containers() { # containerd-socket
  [[ -S "$1" ]] || return 0
  local ctr=(ctr --address "$1" -n k8s.io) id
  for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do "${ctr[@]}" tasks kill -s KILL "${id}" >/dev/null 2>&1 || true; done
  sleep 1
  for id in $("${ctr[@]}" containers ls -q 2>/dev/null); do
    "${ctr[@]}" tasks rm -f "${id}" >/dev/null 2>&1 || true
    "${ctr[@]}" containers rm "${id}" >/dev/null 2>&1 || true
  done
}

# Every node's pod cgroups: /kubepods (the first node's kubelet) and each room node's
# own root. Whatever still runs there (a pod whose shim died before it) is the
# cluster's, whoever its parent is now.
pod_cgroups() {
  local node
  for node in kubepods "${ROOM_NODES[@]}"; do
    compgen -G "/sys/fs/cgroup/*/${node}" || true
  done
}

kill_pod_processes() {
  local pid
  for pid in $(pod_processes); do kill -9 "${pid}" 2>/dev/null || true; done
  # Killed processes leave their cgroup once reaped (by init, their parent now).
  for _ in $(seq 1 20); do [[ -z "$(pod_processes)" ]] && return 0; sleep 0.25; done
}

# The pods' processes still alive: a zombie has ended and waits only to be reaped.
pod_processes() {
  local tree pid
  for tree in $(pod_cgroups); do
    find "${tree}" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u | while read -r pid; do
    # The state follows the command's name, which may hold spaces: "(name) S ...".
    [[ "$(sed 's/.*) //' "/proc/${pid}/stat" 2>/dev/null | cut -d' ' -f1)" =~ ^(Z|X|)$ ]] || echo "${pid}"
  done
}

# The room nodes' cgroup trees, deepest first (pod, QoS, kubepods, the node's own).
remove_node_cgroups() {
  local node
  for node in "${ROOM_NODES[@]}"; do
    find /sys/fs/cgroup/*/"${node}" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

kill_matching() { # pattern: TERM, up to 10 s to exit, then KILL
  pkill -f "$1" 2>/dev/null || return 0
  for _ in $(seq 1 40); do pgrep -f "$1" >/dev/null || return 0; sleep 0.25; done
  pkill -9 -f "$1" 2>/dev/null || true
}

remove_kube_iptables() {
  local table rule chain
  for table in filter nat mangle; do
    # `|| true`: grep finds nothing once the rules are gone, and pipefail would stop us.
    { iptables -t "${table}" -S 2>/dev/null |
      grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*KUBE' || true; } |
      sed 's/^-A/-D/' | while read -r rule; do
        # eval: the rule carries quoted comments, as iptables -S prints them.
        eval "iptables -t ${table} ${rule}" || true
      done
    for chain in $(iptables -t "${table}" -S 2>/dev/null | awk '/^-N KUBE/{print $2}'); do
      iptables -t "${table}" -F "${chain}" || true
    done
    for chain in $(iptables -t "${table}" -S 2>/dev/null | awk '/^-N KUBE/{print $2}'); do
      iptables -t "${table}" -X "${chain}" || true
    done
  done
}

# Lists whatever the cluster left behind; empty when the teardown was complete.
leftovers() {
  local component
  for component in "${COMPONENTS[@]}"; do
    pgrep -f "^(${K8S_BIN}|${ETCD_BIN})/${component}( |$)" >/dev/null && echo "process ${component}"
  done
  pgrep -f "containerd --config ${STATE}/" >/dev/null && echo "process containerd"
  pgrep -f "^${PROMETHEUS_BIN}/prometheus " >/dev/null && echo "process prometheus"
  pgrep -f "testcluster/prometheus_sync.py" >/dev/null && echo "process prometheus-sync"
  pgrep -f "^${REGISTRY_BIN}/registry " >/dev/null && echo "process registry"
  pgrep -f "containerd-shim-runc-v2 -namespace k8s.io" >/dev/null && echo "process containerd-shim"
  local pid
  for pid in $(pod_processes); do
    echo "process ${pid} in a pod cgroup: $(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | cut -c1-80)"
  done
  mount | awk -v state="${STATE}" -v run="${RUNDIR}" '$3 ~ "^(" state "|" run ")" {print "mount " $3}'
  ip netns list 2>/dev/null | awk '/^cni-/{print "netns " $1}'
  ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^workshop/ {print "bridge " $2}'
  local node
  for node in "${ROOM_NODES[@]}"; do
    compgen -G "/sys/fs/cgroup/*/${node}" >/dev/null && echo "cgroups /sys/fs/cgroup/*/${node}"
  done
  nft list table inet kube-network-policies >/dev/null 2>&1 && echo "nftables table kube-network-policies"
  local table
  for table in filter nat mangle; do
    iptables -t "${table}" -S 2>/dev/null | grep -E 'KUBE|workshop-cluster' | sed "s/^/iptables ${table}: /"
  done
  true
}

main() {
  local component
  # Pods first, while kubelet and containerd can still stop them cleanly.
  if running kubelet && [[ -f "${KUBECONFIG_OUT}" ]]; then
    kubectl_ delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
  fi
  local node
  for component in registry prometheus-sync prometheus kube-proxy kubelet; do stop_component "${component}"; done
  for node in "${ROOM_NODES[@]}"; do stop_component "kubelet-${node}"; done
  remove_containers "${SOCK}"
  for node in "${ROOM_NODES[@]}"; do remove_containers "$(node_sock "${node}")"; done
  for node in "${ROOM_NODES[@]}"; do stop_component "containerd-${node}"; done
  for component in containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do
    stop_component "${component}"
  done
  # Orphans whose pid file is gone (an interrupted run): found by binary path.
  kill_matching "^(${K8S_BIN}|${ETCD_BIN})/"
  kill_matching "containerd --config ${STATE}/"
  kill_matching "^${PROMETHEUS_BIN}/prometheus "
  kill_matching "testcluster/prometheus_sync.py"
  kill_matching "^${REGISTRY_BIN}/registry "
  kill_matching "containerd-shim-runc-v2 -namespace k8s.io"
  kill_pod_processes
  mount | awk -v state="${STATE}" -v run="${RUNDIR}" '$3 ~ "^(" state "|" run ")" {print $3}' |
    sort -r | xargs -r -n1 umount -l
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/{print $1}'); do ip netns del "${ns}" || true; done
  ip link del workshop0 2>/dev/null || true
  for node in "${ROOM_NODES[@]}"; do ip link del "$(node_bridge "${node}")" 2>/dev/null || true; done
  remove_node_cgroups
  ip addr del "${NODE_IP}/32" dev lo 2>/dev/null || true
  remove_kube_iptables
  local bridges
  for direction in -i -o; do
    for bridges in workshop+ workshop0; do # workshop0: a cluster brought up before the room nodes
      iptables -D FORWARD "${direction}" "${bridges}" -m comment --comment workshop-cluster -j ACCEPT 2>/dev/null || true
    done
  done
  iptables -t mangle -D POSTROUTING -m mark --mark "${NETWORK_POLICIES_MARK}/${NETWORK_POLICIES_MARK}" \
    -m comment --comment workshop-cluster -j NFQUEUE --queue-num "${NETWORK_POLICIES_QUEUE}" 2>/dev/null || true
  nft delete table inet kube-network-policies 2>/dev/null || true
  rm -rf "${STATE}" "${RUNDIR}"
  local left
  left="$(leftovers)"
  if [[ -n "${left}" ]]; then
    say "✗ the teardown left these behind:"
    say "${left}"
    exit 1
  fi
  say "✓ cluster down: no process, mount, network namespace, bridge or iptables rule left"
}

main "$@"
