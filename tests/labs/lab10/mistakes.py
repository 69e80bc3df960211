"""Lab 10 (requests-per-second autoscaling): seeded mistakes, each caught by its check
with its cause (tests/project)."""

from project.seeded import PRECONDITION, Mistake

VALUES = "monitoring/adapter-values.yaml"
HPA = "k8s/hpa.yaml"
PODS_METRIC = """    - type: Pods
      pods:
        metric:
          name: http_requests_per_second
        target:
          type: AverageValue
          averageValue: \""""
# The metric asked of one object (the Service) instead of averaged over the pods.
OBJECT_METRIC = """    - type: Object
      object:
        describedObject: {apiVersion: v1, kind: Service, name: diabetes-api}
        metric:
          name: http_requests_per_second
        target:
          type: AverageValue
          averageValue: \""""

MISTAKES = [
    Mistake(10, "hpa-without-room", HPA, "  maxReplicas: 6", "  maxReplicas: 2",
            "hpa_pods_metric", says="minReplicas 2, maxReplicas 2",
            hint="raise maxReplicas above minReplicas (this lab's: 2 and 6): "
            "with the two equal the HPA can never add a pod"),
    # A typo in the metric's name: the Adapter finds no series, so it serves nothing.
    Mistake(10, "series-matches-nothing", VALUES,
            "seriesQuery: 'http_requests_total{", "seriesQuery: 'http_request_total{",
            "metric_per_pod", also=(('matches: "^http_requests_total$"',
                                     'matches: "^http_request_total$"'),),
            says="matches no series in Prometheus",
            hint="run the seriesQuery in Prometheus → Graph: the metric name or a label is wrong"),
    Mistake(10, "rate-window-one-scrape", VALUES, '}[1m])) by', '}[15s])) by', "rate_window",
            says="rate over 15 s, scrapes every 15 s"),
    Mistake(10, "object-not-pods", HPA, PODS_METRIC, OBJECT_METRIC, "hpa_pods_metric",
            says="not Object"),
    Mistake(10, "target-above-capacity", HPA, 'averageValue: "', 'averageValue: "9',
            "target_within_capacity", says="above the",
            hint="a pod saturates before it reaches that target, so the HPA never adds one: "
                 "take 60% of capacity.json's requests_per_second"),
    Mistake(10, "adapter-wrong-prometheus", VALUES,
            "url: http://monitoring-kube-prometheus-prometheus.monitoring.svc",
            "url: http://prometheus.monitoring.svc", "adapter_prometheus_url"),
    Mistake(10, "chart-defaults-left-on", VALUES, "  default: false", "  default: true",
            "adapter_values_valid"),
    Mistake(10, "counter-without-rate", VALUES, "sum(rate(<<.Series>>{<<.LabelMatchers>>,"
            'handler="/predict"}[1m])) by',
            'sum(<<.Series>>{<<.LabelMatchers>>,handler="/predict"}) by', "adapter_rule",
            says="takes no rate()"),
    # Over make capacity's own file, once it measured the deployed solution: a figure
    # ten times what the pod served, and a measurement of another build of the image.
    Mistake(10, "invented-capacity", "capacity.json", '"requests_per_second": ',
            '"requests_per_second": 9', "capacity_measured", says="its whole limit",
            hint="that figure is more than this pod serves: make capacity measures it, then "
                 "set the HPA's target from it (Step 3)", over_deployed=True),
    Mistake(10, "capacity-of-another-image", "capacity.json", '"image_id": "sha256:',
            '"image_id": "sha256:0123456789ab', "capacity_measured",
            says="capacity.json was measured for image sha256:0123456789ab",
            hint="the image changed since it was measured: make capacity measures it again, "
                 "then set the HPA's target from it (Step 3)", over_deployed=True),
    Mistake(10, "memory-request-over-limit", "k8s/deployment.yaml", "              memory: 256Mi\n",
            "              memory: 768Mi\n", "deployed_from_folder", exit_code=2,
            says="Deployment/diabetes-api", refused=True),
]  # fmt: skip

UNSEEDED = {
    "manifests_valid": "the same check as lab 06's, whose list-without-dashes proves it",
    "cluster_reachable": PRECONDITION + "; lab 04 proves it for every cluster lab",
    "deployment_available": PRECONDITION + "; labs 04-05 prove it",
    "adapter_serves": "judges the Adapter the cluster runs: the starter's ✗ (its values keep "
    "the chart's defaults, which make adapter-up refuses) proves it on the cluster",
    "scales_out": "the starter's ✗: its HPA has no Pods metric (test_starter_fails_on_the_cluster)",
    "scale_in": "follows scales_out's load; a rate() window is proven by rate_window",
}
