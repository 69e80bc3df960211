"""PromQL read offline (promql-parser) and run live (Prometheus's HTTP API).

Lab 07 checks dashboards and alert rules with both: an expression must parse,
must read histograms through histogram_quantile, and must return data.
"""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from checker.cluster import kube
from checker.upkeep.versions import pins

URL_ENV = "WORKSHOP_PROMETHEUS_URL"
# Grafana's variables, replaced as Grafana would for a 15 s scrape interval.
GRAFANA_DEFAULTS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
AVERAGES = {"avg", "avg_over_time"}


def substitute(expr: str, namespace: str) -> str:
    values = {**GRAFANA_DEFAULTS, "namespace": namespace}

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def parse(expr: str):
    """The expression's syntax tree, or a ValueError with the parser's message."""
    import promql_parser

    try:
        return promql_parser.parse(expr)
    except ValueError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None


def _children(node) -> list:
    kind = type(node).__name__
    if kind == "Call":
        return list(node.args)
    if kind == "AggregateExpr":
        return [n for n in (node.expr, node.param) if n is not None]
    if kind == "BinaryExpr":
        return [node.lhs, node.rhs]
    if kind in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
        return [node.expr]
    if kind == "MatrixSelector":
        return [node.vector_selector]
    return []


def nodes(tree) -> Iterator:
    yield tree
    for child in _children(tree):
        yield from nodes(child)


def metric_names(tree) -> set[str]:
    return {n.name for n in nodes(tree) if type(n).__name__ == "VectorSelector" and n.name}


def averaged_histograms(tree) -> set[str]:
    """Histogram series (_bucket, _sum, _count) fed to avg or avg_over_time.

    An average of bucket counters or of cumulative sums is not a latency: read
    quantiles with histogram_quantile, a mean with rate(_sum) / rate(_count).
    """
    found = set()
    for n in nodes(tree):
        kind = type(n).__name__
        name = n.func.name if kind == "Call" else str(n.op) if kind == "AggregateExpr" else ""
        if name in AVERAGES:
            found |= {m for m in metric_names(n) if re.search(r"_(bucket|sum|count)$", m)}
    return found


def quantiles_of(tree, bucket: str) -> set[float]:
    """The q of every histogram_quantile(q, ...) over the given _bucket series."""
    found = set()
    for n in nodes(tree):
        if type(n).__name__ == "Call" and n.func.name == "histogram_quantile":
            first, rest = n.args[0], n.args[1:]
            if type(first).__name__ == "NumberLiteral" and any(
                bucket in metric_names(r) for r in rest
            ):
                found.add(round(float(first.val), 4))
    return found


class QueryError(Exception):
    pass


@dataclass
class Prometheus:
    url: str
    where: str  # how the checker reached it, for messages

    def _get(self, path: str, **params) -> dict:
        try:
            response = httpx.get(f"{self.url}{path}", params=params, timeout=15)
        except httpx.HTTPError as exc:
            raise QueryError(f"{self.where} does not answer: {exc}") from None
        body = response.json() if "json" in response.headers.get("content-type", "") else {}
        if response.status_code != 200 or body.get("status") != "success":
            raise QueryError(body.get("error") or f"HTTP {response.status_code}")
        return body["data"]

    def query(self, expr: str) -> list:
        return self._get("/api/v1/query", query=expr)["result"]

    def names(self) -> set[str]:
        """Every metric name Prometheus holds a series of."""
        return set(self._get("/api/v1/label/__name__/values"))

    def targets(self) -> list[dict]:
        return self._get("/api/v1/targets", state="active")["activeTargets"]

    def rules(self) -> list[dict]:
        return [rule for g in self._get("/api/v1/rules")["groups"] for rule in g["rules"]]


def monitoring_service(cluster, selector: str) -> str | None:
    """The name of the monitoring release's Service matching selector ({release} is
    filled in) in the monitoring namespace, or None where the chart is not installed."""
    values = pins()
    selector = selector.format(release=values["MONITORING_RELEASE"])
    found = cluster.core.list_namespaced_service(
        values["MONITORING_NAMESPACE"], label_selector=selector
    ).items
    return found[0].metadata.name if found else None


PROMETHEUS_SELECTOR = "app=kube-prometheus-stack-prometheus,release={release}"
GRAFANA_SELECTOR = "app.kubernetes.io/name=grafana,app.kubernetes.io/instance={release}"


@contextmanager
def reach(cluster) -> Iterator[Prometheus]:
    """The Prometheus the checks query: WORKSHOP_PROMETHEUS_URL, else a port-forward
    to kube-prometheus-stack's Prometheus Service (make monitoring-up)."""
    if os.environ.get(URL_ENV):
        yield Prometheus(os.environ[URL_ENV].rstrip("/"), os.environ[URL_ENV])
        return
    namespace = pins()["MONITORING_NAMESPACE"]
    name = monitoring_service(cluster, PROMETHEUS_SELECTOR)
    if name is None:
        raise QueryError(
            f"no Prometheus Service labelled {PROMETHEUS_SELECTOR} in namespace {namespace}:"
            " make monitoring-up installs it"
        )
    with kube.port_forward(cluster, namespace, f"svc/{name}", 9090) as port:
        yield Prometheus(f"http://127.0.0.1:{port}", f"svc/{name} in {namespace}")
