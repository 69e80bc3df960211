#!/usr/bin/env bash
# CI ONLY. The CI machine can pull no image, so this builds a local stand-in for
# the service's base image (BASE_IMAGE in versions.env) under the same name:
# a minimal Debian bookworm from debootstrap, with Debian's Python 3.11 (the
# same minor as the real image). Learners pull the real image; never push this.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "${REPO}/scripts/versions.env"
CACHE="${WORKSHOP_CACHE:-/var/cache/workshop}"
ROOTFS=""
# shellcheck source=../common.sh
source "${REPO}/scripts/common.sh"

main() {
  if docker image inspect "${BASE_IMAGE}" >/dev/null 2>&1; then
    say "✓ ${BASE_IMAGE} is already present"
    return 0
  fi
  local tarball="${CACHE}/base-${BASE_IMAGE//[:\/]/_}.tar"
  if [[ ! -f "${tarball}" ]]; then
    say "… debootstrap bookworm (minbase) for the CI stand-in of ${BASE_IMAGE}"
    scratch_dir ROOTFS
    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
      bookworm "${ROOTFS}" http://deb.debian.org/debian >/dev/null
    # Make it look like the official image where the service's Dockerfile cares:
    # python on PATH at /usr/local/bin, pip allowed to install system-wide.
    ln -sf /usr/bin/python3 "${ROOTFS}/usr/local/bin/python"
    ln -sf /usr/bin/python3 "${ROOTFS}/usr/local/bin/python3"
    rm -f "${ROOTFS}"/usr/lib/python3.*/EXTERNALLY-MANAGED
    chroot "${ROOTFS}" apt-get clean
    rm -rf "${ROOTFS}"/var/lib/apt/lists/* "${ROOTFS}"/var/cache/apt/*
    mkdir -p "${CACHE}"
    tar -C "${ROOTFS}" -cf "${tarball}.partial" .
    mv "${tarball}.partial" "${tarball}"
  fi
  say "… importing it as ${BASE_IMAGE}"
  docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL org.opencontainers.image.description="CI-only stand-in, not the real image"' \
    --change 'CMD ["python3"]' \
    "${tarball}" "${BASE_IMAGE}" >/dev/null
  say "✓ ${BASE_IMAGE} (CI stand-in) is ready"
}

main "$@"
