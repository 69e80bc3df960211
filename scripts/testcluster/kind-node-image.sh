#!/usr/bin/env bash
# kind's node image for make test-kind, built here: `kind build node-image` cannot run
# offline (it fetches images, and waits on a ctr that Debian's containerd 1.6 lacks).
# Made from what this machine can fetch, and from the test cluster's own builds:
#   - a Debian bookworm root (debootstrap) with the packages of kind's base image, and
#     Debian's containerd, runc and CNI plugins;
#   - kind's images/base/files (entrypoint, units, kubelet drop-ins) from the kind module;
#   - kubelet and kubectl from the test cluster's build, kubeadm and crictl from
#     kind-tools.sh: Kubernetes K8S_VERSION, not KIND_NODE_IMAGE's patch (whose
#     binaries cannot be downloaded here);
#   - the control-plane images, under the names kubeadm asks for, from the same builds,
#     imported into the node's containerd when it boots (workshop-preload.service);
#   - a static CNI (ptp, host-local, portmap) instead of kindnetd, whose source is no
#     longer in the kind module: enough for kind's one node, the learners' cluster.
# Into kind's own engine (kind-engine.sh) as KIND_LOCAL_NODE_IMAGE. The assembled root is
# cached by version and by its inputs' hash, beside the test cluster's components.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK=""
NODE_PACKAGES=systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,ca-certificates,curl,jq,procps,containerd,runc,containernetworking-plugins,e2fsprogs
IMAGE_BASE_PACKAGES=iptables,conntrack

docker_here() { DOCKER_HOST="${KIND_DOCKER_HOST}" docker "$@"; }

inputs_hash() {
  {
    cat "${BASH_SOURCE[0]}"
    printf '%s\n' "${K8S_VERSION}" "${KIND_VERSION}" "${ETCD_VERSION}" "${COREDNS_VERSION}" \
      "${PAUSE_IMAGE}" "${METRICS_SERVER_VERSION}" "${NODE_PACKAGES}" "${IMAGE_BASE_PACKAGES}"
    cat "${HERE}/kind-iptables-mode"
  } | sha256sum | cut -c1-12
}

# A Debian bookworm root with these packages, as a tarball in the cache.
debian_root() { # name packages
  local tarball="${CACHE}/kind-$1-bookworm-$(printf '%s' "$2" | sha256sum | cut -c1-8).tar" root
  if [[ ! -f "${tarball}" ]]; then
    say "… debootstrap bookworm for kind's $1 (${2//,/ })"
    root="${WORK}/root-$1"
    debootstrap --variant=minbase --include="$2" bookworm "${root}" http://deb.debian.org/debian >"${WORK}/debootstrap-$1.log" 2>&1 ||
      die "debootstrap failed for kind's $1" "its log: ${WORK}/debootstrap-$1.log"
    chroot "${root}" apt-get clean
    rm -rf "${root}"/var/lib/apt/lists/* "${root}"/var/cache/apt/*
    tar -C "${root}" -cf "${tarball}.partial" .
    mv "${tarball}.partial" "${tarball}"
    rm -rf "${root}"
  fi
  printf '%s' "${tarball}"
}

# The control-plane images, as kubeadm names them, and metrics-server's, as its chart
# names it with image.tag set (cluster-up.sh): built here, saved into one archive.
preloaded_images() { # archive
  local base="workshop.local/kind-image-base:bookworm" context="${WORK}/images" names=() name
  docker_here image inspect "${base}" >/dev/null 2>&1 ||
    docker_here import "$(debian_root image-base "${IMAGE_BASE_PACKAGES}")" "${base}" >/dev/null
  mkdir -p "${context}"
  cp "${K8S_BIN}"/kube-{apiserver,controller-manager,scheduler,proxy} "${ETCD_BIN}/etcd" \
    "${COREDNS_BIN}/coredns" "${K8S_BIN}/pause" "${METRICS_SERVER_BIN}/metrics-server" "${context}/"
  cp "${HERE}/kind-iptables-mode" "${context}/"
  while read -r name; do
    local component="${name##*/}"
    component="${component%%:*}"
    case "${component}" in
      kube-proxy)
        # kube-proxy must write the iptables backend the node's kubelet uses.
        printf 'FROM %s\nCOPY kube-proxy /usr/local/bin/kube-proxy.real\nCOPY kind-iptables-mode /usr/local/bin/kube-proxy\n' "${base}" ;;
      kube-*) printf 'FROM %s\nCOPY %s /usr/local/bin/\n' "${base}" "${component}" ;;
      etcd) printf 'FROM %s\nCOPY etcd /usr/local/bin/\n' "${base}" ;;
      coredns) printf 'FROM scratch\nCOPY coredns /coredns\nENTRYPOINT ["/coredns"]\n' ;;
      pause) printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' ;;
      metrics-server) printf 'FROM scratch\nCOPY metrics-server /metrics-server\nENTRYPOINT ["/metrics-server"]\n' ;;
      *) die "kubeadm asks for an image this script does not build: ${name}" "add it to preloaded_images" ;;
    esac >"${context}/Dockerfile"
    docker_here build -q -t "${name}" "${context}" >/dev/null
    names+=("${name}")
  done < <("${KIND_TOOLS_BIN}/kubeadm" config images list --kubernetes-version "${K8S_VERSION}" &&
    echo "registry.k8s.io/metrics-server/metrics-server:${METRICS_SERVER_VERSION}")
  docker_here save -o "$1" "${names[@]}"
  say "✓ preloaded images: ${names[*]}"
}

assemble() { # root
  local root="$1" files
  files="$(go mod download -json "sigs.k8s.io/kind@${KIND_VERSION}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')/images/base/files"
  tar -C "${root}" -xf "$(debian_root node "${NODE_PACKAGES}")"
  # kind's Dockerfile, step by step (images/base/Dockerfile in the kind module).
  install -m 0755 "${files}"/usr/local/bin/* "${root}/usr/local/bin/"
  mkdir -p "${root}/kind/bin" "${root}/kind/manifests" "${root}/kind/images" "${root}/etc/kubernetes/manifests"
  install -m 0755 "${files}"/kind/bin/* "${root}/kind/bin/"
  cp -r "${files}"/etc/. "${root}/etc/"
  find "${root}/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "${root}"/lib/systemd/system/multi-user.target.wants/* "${root}"/etc/systemd/system/*.wants/* \
    "${root}"/lib/systemd/system/local-fs.target.wants/* "${root}"/lib/systemd/system/sockets.target.wants/*udev* \
    "${root}"/lib/systemd/system/sockets.target.wants/*initctl* "${root}"/lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >>"${root}/etc/systemd/journald.conf"
  # Debian's containerd and CNI plugins, where kind's units and config look for them.
  ln -sf /usr/bin/containerd "${root}/usr/local/bin/containerd"
  mkdir -p "${root}/opt/cni"
  ln -sfn /usr/lib/cni "${root}/opt/cni/bin"
  # This host refuses a negative oom_score_adj: containerd's unit asks for none, and
  # the CRI gives none to containers (the kubelet then logs a harmless failure).
  sed -i '/^OOMScoreAdjust=/d' "${root}/etc/systemd/system/containerd.service"
  sed -i -e 's/^\( *\)restrict_oom_score_adj = false/\1restrict_oom_score_adj = true/' \
    -e "s|^  sandbox_image = .*|  sandbox_image = \"${PAUSE_IMAGE}\"|" \
    -e '/^\[proxy_plugins\]/,/^  address = /d' "${root}/etc/containerd/config.toml"
  grep -q 'restrict_oom_score_adj = true' "${root}/etc/containerd/config.toml" ||
    die "kind's containerd config changed shape: restrict_oom_score_adj not set" "update assemble() in ${BASH_SOURCE[0]}"
  chroot "${root}" sh -c "ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {\"path\": \"/kind/bin/mount-product-files.sh\"}' | jq 'del(.process.rlimits)' >/etc/containerd/cri-base.json"
  # This host runs cgroup v1, which the 1.35 kubelet refuses unless told otherwise.
  sed -i 's|^KUBELET_EXTRA_ARGS=\(.*\)|KUBELET_EXTRA_ARGS=\1 --fail-cgroupv1=false|' "${root}/etc/default/kubelet"
  chroot "${root}" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
  chroot "${root}" systemctl mask systemd-binfmt.service >/dev/null 2>&1
  install -m 0755 "${K8S_BIN}/kubelet" "${K8S_BIN}/kubectl" "${KIND_TOOLS_BIN}/kubeadm" "${root}/usr/bin/"
  install -m 0755 "${KIND_TOOLS_BIN}/crictl" "${root}/usr/local/bin/"
  printf '%s' "${K8S_VERSION}" >"${root}/kind/version"
  # The CNI: one node's pod range, as kind's default podSubnet gives the first node.
  mkdir -p "${root}/etc/cni/net.d"
  cat >"${root}/etc/cni/net.d/10-workshop.conflist" <<'JSON'
{"cniVersion": "0.4.0", "name": "workshop", "plugins": [
  {"type": "ptp", "mtu": 1500, "ipam": {"type": "host-local",
   "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
  cat >"${root}/kind/manifests/default-cni.yaml" <<'YAML'
# kind applies this file; the CNI of this CI-only node is static
# (/etc/cni/net.d/10-workshop.conflist, scripts/testcluster/kind-node-image.sh).
apiVersion: v1
kind: ConfigMap
metadata:
  name: workshop-static-cni
  namespace: kube-system
data:
  conflist: /etc/cni/net.d/10-workshop.conflist
YAML
  preloaded_images "${root}/kind/images/preloaded.tar"
  cat >"${root}/etc/systemd/system/workshop-preload.service" <<'UNIT'
[Unit]
Description=Import the control-plane images before the kubelet starts (no registry here)
After=containerd.service
Requires=containerd.service
Before=kubelet.service
ConditionPathExists=!/var/lib/workshop-preloaded

[Service]
Type=oneshot
ExecStart=/bin/sh -euc 'until ctr version >/dev/null 2>&1; do sleep 0.2; done; for f in /kind/images/*.tar; do ctr -n k8s.io images import "$f"; done; touch /var/lib/workshop-preloaded'

[Install]
WantedBy=multi-user.target
UNIT
  chroot "${root}" systemctl enable workshop-preload.service >/dev/null 2>&1
}

main() {
  [[ -x "${KIND_TOOLS_BIN}/kubeadm" ]] || die "kind's tools are not built" "scripts/testcluster/kind-tools.sh"
  [[ -f "${K8S_BIN}/.complete" ]] || die "the test cluster's Kubernetes is not built" "scripts/testcluster/build.sh"
  docker_here info >/dev/null 2>&1 || die "kind's Docker engine does not answer" "scripts/testcluster/kind-engine.sh up"
  local hash image="${KIND_LOCAL_NODE_IMAGE}" started=${SECONDS}
  hash="$(inputs_hash)"
  if [[ "$(docker_here image inspect --format '{{index .Config.Labels "workshop.inputs"}}' "${image}" 2>/dev/null)" == "${hash}" ]]; then
    say "✓ ${image} is built (inputs ${hash})"
    return 0
  fi
  scratch_dir WORK
  local tarball="${CACHE}/kind-node-${K8S_VERSION}-${hash}.tar"
  if [[ ! -f "${tarball}" ]]; then
    say "… assembling kind's node image for Kubernetes ${K8S_VERSION}"
    mkdir -p "${WORK}/node"
    assemble "${WORK}/node"
    tar -C "${WORK}/node" -cf "${tarball}.partial" .
    mv "${tarball}.partial" "${tarball}"
  fi
  say "… importing it into kind's engine as ${image}"
  # docker import takes no STOPSIGNAL: kind removes its nodes with docker rm -f.
  docker_here import --change 'ENV container=docker' --change "LABEL workshop.inputs=${hash}" \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    "${tarball}" "${image}" >/dev/null
  say "✓ ${image} in $((SECONDS - started)) s"
}

main "$@"
