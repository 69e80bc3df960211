#!/usr/bin/env bash
# The nightly job's "latest" channel: kind's own default node image (by digest)
# with a kubectl of the same version, so the two stay within Kubernetes' skew
# policy; blank chart versions (Helm then takes their newest); and the Python
# libraries relocked at their newest releases. Never run it on a workshop laptop.
set -o errexit -o nounset -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

main() {
  cd "${REPO}"
  scripts/maintainer/kind-default-image.sh --pin scripts/versions.env
  sed -i -E 's/^(METRICS_SERVER_CHART_VERSION|KUBE_PROMETHEUS_STACK_CHART_VERSION|PROMETHEUS_ADAPTER_CHART_VERSION)=.*/\1=/' scripts/versions.env
  scripts/learner/bootstrap.sh
  # shellcheck source=../versions.env
  source scripts/versions.env
  ".tools/uv-${UV_VERSION}/bin/uv" lock --upgrade
  # The images install the service's requirements.txt files: same versions as the lock.
  python3 - <<'PY'
import re, tomllib
from pathlib import Path
locked = {p["name"]: p["version"] for p in tomllib.loads(Path("uv.lock").read_text())["package"]}
def bump(match):
    name = match.group(1).lower().replace("_", "-")
    return f"{match.group(1)}{match.group(2)}=={locked.get(name, match.group(3))}"
for req in Path(".").glob("**/requirements.txt"):
    if ".venv" not in req.parts:
        text = re.sub(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", bump, req.read_text(), flags=re.M)
        req.write_text(text)
PY
  printf '✓ using the newest kind node image, charts and libraries:\n'
  git --no-pager diff --stat
}

main "$@"
