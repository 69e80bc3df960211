#!/usr/bin/env bash
# Brings up the project's own single-node Kubernetes from the cached binaries:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd
# (Debian's 1.6), kubelet and kube-proxy, with bridge CNI; Prometheus and room
# mode's image registry beside it. Everything listens on
# 127.0.0.1. Writes a kubeconfig to ${STATE}/kubeconfig. Run as root.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

on_failure() {
  local status=$?
  if ((status != 0)); then
    say "✗ bring-up failed: the last log lines of each component"
    for component in "${COMPONENTS[@]}"; do
      [[ -f "$(logfile "${component}")" ]] || continue
      say "--- ${component}"
      tail -n 8 "$(logfile "${component}")" >&2
    done
    if [[ -x "${K8S_BIN}/kubectl" && -f "${KUBECONFIG_OUT}" ]]; then
      say "--- node conditions"
      kubectl_ get nodes -o jsonpath='{range .items[*].status.conditions[*]}{.type}={.status} {.message}{"\n"}{end}' >&2 || true
      say "--- add-ons (kube-system)"
      kubectl_ -n kube-system get pods -o wide >&2 || true
      kubectl_ -n kube-system get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 10 >&2 || true
    fi
  fi
}
trap on_failure EXIT

# Each daemon in a session of its own: a Ctrl-C (SIGINT) or SIGTERM sent to the
# caller's process group would otherwise reach containerd's shims first, and the
# pods' processes they supervise would outlive the teardown, reparented to init.
# The caller's exit trap stops them in order (down.sh). setsid does not fork here
# (a background job is no group leader), so $! is the daemon's own pid.
start() { # name command...
  local name="$1"
  shift
  if running "${name}"; then return 0; fi
  setsid "$@" >"$(logfile "${name}")" 2>&1 </dev/null &
  echo $! >"$(pidfile "${name}")"
}

# A cluster CA signs the API server's certificate, which pods check through the
# kube-root-ca.crt ConfigMap; a second CA signs the client certificate that the
# API server presents to aggregated APIs (metrics.k8s.io).
make_certs() {
  local pki="${STATE}/pki"
  [[ -f "${pki}/sa.key" ]] && return 0
  mkdir -p "${pki}"
  openssl genrsa -out "${pki}/sa.key" 2048 2>/dev/null
  openssl rsa -in "${pki}/sa.key" -pubout -out "${pki}/sa.pub" 2>/dev/null
  # One admin token, in system:masters, for every component on this test node.
  printf '%s,admin,admin,system:masters\n' "$(openssl rand -hex 24)" >"${pki}/tokens.csv"
  local ca
  for ca in ca front-proxy-ca; do
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=workshop-${ca}" \
      -keyout "${pki}/${ca}.key" -out "${pki}/${ca}.crt" 2>/dev/null
  done
  sign_cert "${pki}" ca apiserver "/CN=kube-apiserver" \
    "subjectAltName=IP:${NODE_IP},IP:127.0.0.1,IP:${APISERVER_SERVICE_IP},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign_cert "${pki}" front-proxy-ca front-proxy-client "/CN=front-proxy-client" "extendedKeyUsage=clientAuth"
}

sign_cert() { # pki-dir ca name subject extension
  local pki="$1"
  openssl req -newkey rsa:2048 -nodes -subj "$4" -keyout "${pki}/$3.key" -out "${pki}/$3.csr" 2>/dev/null
  openssl x509 -req -in "${pki}/$3.csr" -CA "${pki}/$2.crt" -CAkey "${pki}/$2.key" -CAcreateserial \
    -days 30 -extfile <(printf '%s\n' "$5") -out "${pki}/$3.crt" 2>/dev/null
}

write_kubeconfig() {
  local token
  token="$(cut -d, -f1 "${STATE}/pki/tokens.csv")"
  cat >"${KUBECONFIG_OUT}" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: workshop-ci, cluster: {server: "https://${NODE_IP}:6443", certificate-authority: "${STATE}/pki/ca.crt"}}]
users: [{name: admin, user: {token: "${token}"}}]
contexts: [{name: workshop-ci, context: {cluster: workshop-ci, user: admin}}]
current-context: workshop-ci
KUBECONFIG
  chmod 0600 "${KUBECONFIG_OUT}"
}

# One node's containerd, CNI and kubelet configuration, in its own folder.
write_node_config() { # dir containerd-root containerd-state socket bridge subnet kubelet-extra
  local dir="$1"
  mkdir -p "${dir}/cni" "$3"
  cat >"${dir}/containerd.toml" <<TOML
version = 2
root = "$2"
state = "$3"
[grpc]
  address = "$4"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # This machine refuses a negative oom_score_adj, and kubelet asks -998 for
  # every pod sandbox: without this, runc fails with "can't get final child's PID".
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${STATE}/certs.d"
TOML
  cat >"${dir}/cni/10-workshop.conflist" <<CNI
{"cniVersion": "1.0.0", "name": "workshop", "plugins": [
  {"type": "bridge", "bridge": "$5", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$6"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "loopback"}]}
CNI
  cat >"${dir}/kubelet.yaml" <<KUBELET
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubernetes 1.35 refuses cgroup v1 unless told otherwise; this machine is v1.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$4
address: ${NODE_IP}
readOnlyPort: 0
failSwapOn: false
serverTLSBootstrap: false
# Test node only: kubelet listens on the node's local address, and the
# apiserver (for logs and exec) reaches it there without a client certificate.
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
resolvConf: /etc/resolv.conf
clusterDNS: [${DNS_IP}]
clusterDomain: cluster.local
# A shared CI disk may already be 85% full: evict and collect images only when
# it is nearly exhausted, or the node's disk-pressure taint stops all scheduling.
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
imageGCHighThresholdPercent: 98
imageGCLowThresholdPercent: 95
$7
KUBELET
}

write_runtime_config() {
  mkdir -p "${RUNDIR}"
  write_node_config "${STATE}" "${STATE}/containerd" "${RUNDIR}/containerd" "${SOCK}" workshop0 "${POD_CIDR}" ""
  # Room mode's registry speaks plain HTTP on this host.
  mkdir -p "${STATE}/certs.d/${REGISTRY_ADDRESS}"
  cat >"${STATE}/certs.d/${REGISTRY_ADDRESS}/hosts.toml" <<TOML
server = "http://${REGISTRY_ADDRESS}"
[host."http://${REGISTRY_ADDRESS}"]
  capabilities = ["pull", "resolve"]
TOML
}

# A room node: its own ports, and its pods in a cgroup tree of their own (the first
# node's kubelet removes pod cgroups under /kubepods that it does not know).
write_room_node_config() { # node number
  local node="$1" n="$2" dir
  dir="$(node_dir "${node}")"
  write_node_config "${dir}" "${dir}/containerd" "${RUNDIR}/${node}" "$(node_sock "${node}")" \
    "$(node_bridge "${node}")" "10.244.${n}.0/24" "port: $((10350 + n))
healthzPort: $((10360 + n))
cgroupRoot: /${node}
podLogsDir: ${dir}/pod-logs
registerWithTaints: [{key: ${ROOM_TAINT}, value: \"true\", effect: NoSchedule}]"
  local controller
  for controller in /sys/fs/cgroup/*/; do
    [[ -f "${controller}cgroup.procs" && "${controller}" != */unified/ ]] || continue
    mkdir -p "${controller}${node}"
    # A new cpuset is empty: it takes its parent's CPUs and memory nodes.
    if [[ -f "${controller}cpuset.cpus" ]]; then
      cat "${controller}cpuset.cpus" >"${controller}${node}/cpuset.cpus"
      cat "${controller}cpuset.mems" >"${controller}${node}/cpuset.mems"
    fi
  done
}

# Builds a one-binary image FROM scratch with Docker and imports it into the
# cluster's containerd: no registry is involved.
import_image() { # image binary user
  local image="$1" binary="$2" user="$3" dir
  if "${CTR[@]}" images check "name==${image}" 2>/dev/null | grep -q complete; then return 0; fi
  dir="$(mktemp -d)"
  cp "${binary}" "${dir}/entrypoint"
  printf 'FROM scratch\nCOPY entrypoint /%s\nUSER %s\nENTRYPOINT ["/%s"]\n' \
    "$(basename "${binary}")" "${user}" "$(basename "${binary}")" >"${dir}/Dockerfile"
  # Quiet unless it fails: the legacy builder warns about itself on every build.
  docker build -q -t "${image}" "${dir}" >"${dir}/build.log" 2>&1 || { cat "${dir}/build.log" >&2 && return 1; }
  docker save "${image}" | "${CTR[@]}" images import - >/dev/null
  rm -rf "${dir}"
}

# True once kube-proxy routes the ClusterIP to metrics-server itself, which
# answers /livez with "ok".
service_answers() { # cluster-ip
  [[ "$(curl -sk --max-time 2 "https://$1/livez")" == ok ]]
}

install_addons() {
  import_image "${METRICS_SERVER_IMAGE}" "${METRICS_SERVER_BIN}/metrics-server" 65532:65532
  import_image "${COREDNS_IMAGE}" "${COREDNS_BIN}/coredns" 65532:65532
  sed -e "s#@@METRICS_SERVER_IMAGE@@#${METRICS_SERVER_IMAGE}#" -e "s#@@COREDNS_IMAGE@@#${COREDNS_IMAGE}#" \
    -e "s#@@DNS_IP@@#${DNS_IP}#" "$(dirname "${BASH_SOURCE[0]}")/addons.yaml" | kubectl_ apply -f - >/dev/null
  wait_for "CoreDNS available" 120 kubectl_ -n kube-system rollout status deployment/coredns --timeout=2s
  wait_for "metrics-server available" 120 kubectl_ -n kube-system rollout status deployment/metrics-server --timeout=2s
  local service_ip
  service_ip="$(kubectl_ -n kube-system get service metrics-server -o jsonpath='{.spec.clusterIP}')"
  wait_for "metrics-server Service routed" 60 service_answers "${service_ip}"
  kubectl_ apply -f "$(dirname "${BASH_SOURCE[0]}")/metrics-apiservice.yaml" >/dev/null
  wait_for "metrics.k8s.io served" 120 kubectl_ wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout=2s
}

prometheus_ready() { curl -sf "http://${PROMETHEUS_ADDRESS}/-/ready"; }
prometheus_has_rules() { curl -sf "http://${PROMETHEUS_ADDRESS}/api/v1/status/config" | grep -q rule_files; }

# The CRDs, Prometheus, and the loop that feeds it ServiceMonitors and
# PrometheusRules labelled release=monitoring, as kube-prometheus-stack does.
install_monitoring() {
  kubectl_ apply --server-side -f "${CRDS_DIR}/" >/dev/null
  kubectl_ wait --for=condition=Established --timeout=60s \
    crd/servicemonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com >/dev/null
  mkdir -p "${PROMETHEUS_DIR}/rules" "${PROMETHEUS_DIR}/data"
  [[ -f "${PROMETHEUS_DIR}/prometheus.json" ]] || echo '{"global": {"scrape_interval": "15s"}}' >"${PROMETHEUS_DIR}/prometheus.json"
  start prometheus "${PROMETHEUS_BIN}/prometheus" --config.file="${PROMETHEUS_DIR}/prometheus.json" \
    --storage.tsdb.path="${PROMETHEUS_DIR}/data" --storage.tsdb.retention.time=6h \
    --web.listen-address="${PROMETHEUS_ADDRESS}" --web.listen-address="${NODE_IP}:${PROMETHEUS_ADDRESS##*:}" \
    --web.enable-lifecycle
  wait_for "Prometheus ready" 60 prometheus_ready
  PATH="${K8S_BIN}:${PROMETHEUS_BIN}:${PATH}" start prometheus-sync python3 "$(dirname "${BASH_SOURCE[0]}")/prometheus_sync.py" \
    "${KUBECONFIG_OUT}" "${PROMETHEUS_DIR}" "http://${PROMETHEUS_ADDRESS}"
  wait_for "Prometheus fed by prometheus-sync" 60 prometheus_has_rules
  # Pods (lab 10's Prometheus Adapter) reach it by the name kube-prometheus-stack
  # gives its Service on kind.
  sed -e "s#@@NODE_IP@@#${NODE_IP}#" -e "s#@@PORT@@#${PROMETHEUS_ADDRESS##*:}#" \
    "$(dirname "${BASH_SOURCE[0]}")/prometheus-service.yaml" | kubectl_ apply -f - >/dev/null
  import_image "${ADAPTER_IMAGE}" "${ADAPTER_BIN}/adapter" 65532:65532
}

# NetworkPolicies, enforced: the enforcer marks the first packet of a connection
# to or from a pod that a policy selects, and this rule hands it to the enforcer's
# queue (no listener: dropped, as the enforcer is fail-closed by default).
install_network_policies() {
  import_image "${NETWORK_POLICIES_IMAGE}" "${NETWORK_POLICIES_BIN}/kube-network-policies" 0:0
  local rule=(POSTROUTING -m mark --mark "${NETWORK_POLICIES_MARK}/${NETWORK_POLICIES_MARK}"
    -m comment --comment workshop-cluster -j NFQUEUE --queue-num "${NETWORK_POLICIES_QUEUE}")
  iptables -t mangle -C "${rule[@]}" 2>/dev/null || iptables -t mangle -A "${rule[@]}"
  local nodes
  nodes="$(IFS=,; echo "workshop-ci,${ROOM_NODES[*]}")"
  sed -e "s#@@IMAGE@@#${NETWORK_POLICIES_IMAGE}#" -e "s#@@QUEUE@@#${NETWORK_POLICIES_QUEUE}#" -e "s#@@NODES@@#${nodes}#" \
    "$(dirname "${BASH_SOURCE[0]}")/network-policies.yaml" | kubectl_ apply -f - >/dev/null
  wait_for "NetworkPolicy enforcer running" 90 kubectl_ -n kube-system rollout status daemonset/kube-network-policies --timeout=2s
}

registry_answers() { curl -sf "http://${REGISTRY_ADDRESS}/v2/" >/dev/null; }

# Room mode's registry: learners' Docker pushes to it and this node's containerd
# pulls from it, both over plain HTTP on a loopback address.
install_registry() {
  mkdir -p "${REGISTRY_DIR}/data"
  cat >"${REGISTRY_DIR}/config.yml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: ${REGISTRY_DIR}/data}, delete: {enabled: true}}
http: {addr: ${REGISTRY_ADDRESS}, debug: {addr: ""}}
YAML
  OTEL_TRACES_EXPORTER=none start registry "${REGISTRY_BIN}/registry" serve "${REGISTRY_DIR}/config.yml"
  wait_for "registry on ${REGISTRY_ADDRESS}" 30 registry_answers
}

# Room mode's nodes (lib.sh says why), each with the pause image and nothing
# else: the room's pods pull their images from the room's registry.
start_room_nodes() {
  local node n=0 dir
  for node in "${ROOM_NODES[@]}"; do
    n=$((n + 1))
    dir="$(node_dir "${node}")"
    write_room_node_config "${node}" "${n}"
    start "containerd-${node}" containerd --config "${dir}/containerd.toml"
    CTR=(ctr --address "$(node_sock "${node}")" -n k8s.io)
    wait_for "containerd of ${node}" 30 "${CTR[@]}" version
    import_image "${PAUSE_IMAGE}" "${K8S_BIN}/pause" 65535:65535
    start "kubelet-${node}" "${K8S_BIN}/kubelet" --config "${dir}/kubelet.yaml" \
      --kubeconfig "${KUBECONFIG_OUT}" --hostname-override "${node}" --node-ip "${NODE_IP}" \
      --root-dir "${dir}/kubelet" --cert-dir "${dir}/pki"
  done
  CTR=(ctr --address "${SOCK}" -n k8s.io)
}

main() {
  [[ ${EUID} -eq 0 ]] || die "run as root" "sudo scripts/testcluster/up.sh"
  for tool in containerd runc openssl docker iptables; do
    command -v "${tool}" >/dev/null || die "${tool} is not installed" "apt-get install containerd runc containernetworking-plugins docker.io iptables"
  done
  [[ -x /usr/lib/cni/bridge ]] || die "CNI plugins missing" "apt-get install containernetworking-plugins"
  "$(dirname "${BASH_SOURCE[0]}")/build.sh"
  mkdir -p "${STATE}/logs"
  local started=${SECONDS}
  CTR=(ctr --address "${SOCK}" -n k8s.io)
  make_certs
  write_runtime_config
  local pki="${STATE}/pki"
  # Pods reach the API server at the node's address (through the kubernetes
  # Service), so it listens there rather than on 127.0.0.1.
  ip addr show dev lo | grep -q "inet ${NODE_IP}/" || ip addr add "${NODE_IP}/32" dev lo
  say "… etcd"
  start etcd "${ETCD_BIN}/etcd" --data-dir "${STATE}/etcd" --listen-client-urls http://127.0.0.1:2379 \
    --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380
  say "… kube-apiserver"
  start kube-apiserver "${K8S_BIN}/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
    --bind-address="${NODE_IP}" --advertise-address="${NODE_IP}" --secure-port=6443 \
    --tls-cert-file="${pki}/apiserver.crt" --tls-private-key-file="${pki}/apiserver.key" \
    --client-ca-file="${pki}/ca.crt" \
    --service-account-key-file="${pki}/sa.pub" --service-account-signing-key-file="${pki}/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc --token-auth-file="${pki}/tokens.csv" \
    --authorization-mode=Node,RBAC --service-cluster-ip-range="${SERVICE_CIDR}" \
    --enable-admission-plugins=NodeRestriction,PodSecurity,PodTolerationRestriction \
    --kubelet-preferred-address-types=InternalIP \
    --requestheader-client-ca-file="${pki}/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="${pki}/front-proxy-client.crt" \
    --proxy-client-key-file="${pki}/front-proxy-client.key"
  write_kubeconfig
  wait_for "kube-apiserver /readyz" 90 kubectl_ get --raw /readyz
  say "… controller-manager, scheduler"
  # One of each, unsupervised: no leader election. With it, a lease renewal the busy
  # API server answers late (5 s) makes the scheduler exit, and no pod is placed again.
  start kube-controller-manager "${K8S_BIN}/kube-controller-manager" --kubeconfig="${KUBECONFIG_OUT}" \
    --bind-address=127.0.0.1 --service-account-private-key-file="${pki}/sa.key" \
    --root-ca-file="${pki}/ca.crt" --use-service-account-credentials --controllers='*,-nodeipam' \
    --horizontal-pod-autoscaler-sync-period=5s --leader-elect=false
  start kube-scheduler "${K8S_BIN}/kube-scheduler" --kubeconfig="${KUBECONFIG_OUT}" --bind-address=127.0.0.1 \
    --leader-elect=false
  # Docker sets the FORWARD policy to DROP: let pod traffic routed back onto a
  # bridge (pod -> ClusterIP -> pod) or between the nodes' bridges through.
  for direction in -i -o; do
    iptables -C FORWARD "${direction}" workshop+ -m comment --comment workshop-cluster -j ACCEPT 2>/dev/null ||
      iptables -I FORWARD "${direction}" workshop+ -m comment --comment workshop-cluster -j ACCEPT
  done
  say "… containerd, kubelet, kube-proxy"
  start containerd containerd --config "${STATE}/containerd.toml"
  wait_for "containerd" 30 "${CTR[@]}" version
  import_image "${PAUSE_IMAGE}" "${K8S_BIN}/pause" 65535:65535
  start kubelet "${K8S_BIN}/kubelet" --config "${STATE}/kubelet.yaml" --kubeconfig "${KUBECONFIG_OUT}" \
    --hostname-override workshop-ci --node-ip "${NODE_IP}" --root-dir "${STATE}/kubelet"
  start kube-proxy "${K8S_BIN}/kube-proxy" --kubeconfig "${KUBECONFIG_OUT}" --hostname-override workshop-ci \
    --cluster-cidr "${CLUSTER_CIDR}" --bind-address=127.0.0.1 --metrics-bind-address=127.0.0.1:10249
  wait_for "node Ready" 120 kubectl_ wait --for=condition=Ready node/workshop-ci --timeout=2s
  say "… room nodes: ${ROOM_NODES[*]}"
  start_room_nodes
  say "… CoreDNS, metrics-server"
  install_addons
  say "… Prometheus Operator CRDs, Prometheus"
  install_monitoring
  say "… the room's registry and NetworkPolicy enforcer"
  install_registry
  install_network_policies
  local node
  for node in "${ROOM_NODES[@]}"; do
    wait_for "${node} Ready" 120 kubectl_ wait --for=condition=Ready "node/${node}" --timeout=2s
  done
  say "✓ cluster up in $((SECONDS - started)) s; export KUBECONFIG=${KUBECONFIG_OUT}"
}

main "$@"
