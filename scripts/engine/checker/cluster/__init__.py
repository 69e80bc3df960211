"""The cluster: the API client and kubectl (kube), the learner's Deployment, its rollout,
Service and Secret, the k8s/ manifests read offline (manifests), and Prometheus (promql)."""
