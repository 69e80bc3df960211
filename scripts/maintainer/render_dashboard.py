"""Draws a Grafana dashboard's panels from Prometheus data, as a picture for a README.

Grafana is not always at hand (the project's CI cluster has none), but the
dashboard's queries can still run against the Prometheus that scrapes the lab.
This runs every panel's queries over a time range and lays the panels out on the
dashboard's own grid.

    python scripts/maintainer/render_dashboard.py --prometheus URL --namespace NS \
        --minutes 10 OUT.svg
"""

import argparse
import json
import sys
import time
from pathlib import Path

import httpx

from checker.cluster import promql

REPO = Path(__file__).resolve().parents[2]
UNITS = {"s": 1000.0, "percentunit": 100.0, "bytes": 1 / 2**20}
UNIT_LABELS = {"s": "ms", "percentunit": "%", "bytes": "MiB", "reqps": "req/s", "cores": "cores"}


def query_range(url: str, expr: str, start: float, end: float, step: int) -> list:
    params = {"query": expr, "start": start, "end": end, "step": step}
    body = httpx.get(f"{url}/api/v1/query_range", timeout=30, params=params).json()
    if body.get("status") != "success":
        raise SystemExit(f"✗ {expr}: {body.get('error')}")
    return body["data"]["result"]


def legend(template: str, labels: dict) -> str:
    text = template or "{{__name__}}"
    for key, value in labels.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--dashboard", type=Path, default=REPO / "solutions/07-observe/grafana/diabetes-api.json"
    )
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090")
    parser.add_argument("--namespace", default="workshop")
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    board = json.loads(args.dashboard.read_text())
    panels = [p for p in board["panels"] if p.get("targets")]
    end = time.time()
    start = end - args.minutes * 60
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    figure = plt.figure(figsize=(16, rows * 0.42))
    grid = figure.add_gridspec(rows, 24, hspace=2.2, wspace=1.2)
    for panel in panels:
        pos = panel["gridPos"]
        axes = figure.add_subplot(
            grid[pos["y"] : pos["y"] + pos["h"], pos["x"] : pos["x"] + pos["w"]]
        )
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit") or ""
        scale = UNITS.get(unit, 1.0)
        axes.set_title(panel["title"], fontsize=10, loc="left")
        if panel["type"] == "bargauge":  # the distribution: one bar per bucket
            expr = promql.substitute(panel["targets"][0]["expr"], args.namespace)
            expr = expr.replace("[5m]", f"[{int(args.minutes)}m]")
            result = httpx.get(f"{args.prometheus}/api/v1/query", params={"query": expr}).json()[
                "data"
            ]["result"]
            buckets = sorted((float(r["metric"]["le"]), float(r["value"][1])) for r in result)
            counts = [b[1] - (buckets[i - 1][1] if i else 0) for i, b in enumerate(buckets)]
            labels = ["+Inf" if b[0] == float("inf") else f"≤{b[0]:g}" for b in buckets]
            axes.bar(labels, counts, color="#5794f2")
            axes.tick_params(axis="x", labelrotation=60, labelsize=7)
            continue
        if panel["type"] == "stat":
            expr = promql.substitute(panel["targets"][0]["expr"], args.namespace)
            result = httpx.get(f"{args.prometheus}/api/v1/query", params={"query": expr}).json()[
                "data"
            ]["result"]
            text = ", ".join(
                legend(panel["targets"][0].get("legendFormat", ""), r["metric"]) for r in result
            )
            axes.text(0.01, 0.4, text or "no data", fontsize=16, transform=axes.transAxes)
            axes.axis("off")
            continue
        for target in panel["targets"]:
            expr = promql.substitute(target["expr"], args.namespace)
            for series in query_range(args.prometheus, expr, start, end, 15):
                xs = [(float(t) - end) / 60 for t, _ in series["values"]]
                ys = [float(v) * scale for _, v in series["values"]]
                axes.plot(xs, ys, label=legend(target.get("legendFormat", ""), series["metric"]))
        axes.set_ylabel(UNIT_LABELS.get(unit, ""), fontsize=8)
        axes.set_xlabel("minutes", fontsize=8)
        axes.tick_params(labelsize=7)
        if axes.lines:
            axes.legend(fontsize=6, loc="upper left")
    figure.suptitle(
        f"{board['title']} · namespace {args.namespace} · last {args.minutes:g} min"
        " (drawn from Prometheus with the dashboard's own queries)",
        fontsize=11,
    )
    figure.savefig(args.out, bbox_inches="tight")
    print(f"✓ wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
