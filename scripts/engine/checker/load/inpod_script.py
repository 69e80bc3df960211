"""Steady load from inside the cluster, through the Service (labs 05-06).

Runs in a pod, from the learner's own image (standard library only), so every
request goes through the Service's ClusterIP and kube-proxy, as real clients'
would (the name is resolved once, at the start). A new connection per request:
each one is routed afresh, so a pod that leaves the Service is noticed at once.
Prints one JSON line of running totals per second, and a last one with "done": true.

    python -c "$(cat inpod_script.py)" HOST PORT PATH KEY SECONDS WORKERS BODY
"""

import http.client
import json
import socket
import sys
import threading
import time


def resolved(host: str) -> str:
    """host's address, asked for up to 30 s; the name itself if no answer came (then
    each request asks again, and its failures say gaierror)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0]
        except OSError:
            if time.monotonic() >= deadline:
                return host
            time.sleep(1)


def main() -> None:
    host, port, path, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    seconds, workers = float(sys.argv[5]), int(sys.argv[6])
    body = sys.argv[7]
    headers = {"Content-Type": "application/json", "Connection": "close"}
    if key != "-":
        headers["X-API-Key"] = key
    # The Service's name is resolved once: a lookup that times out on a busy cluster
    # DNS is not a request the rollout dropped. Its ClusterIP stays for the run.
    address = resolved(host)
    headers["Host"] = host
    totals = {"sent": 0, "failed": 0, "errors": {}, "latencies": []}
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < end:
            started = time.monotonic()
            reason = ""
            connection = http.client.HTTPConnection(address, port, timeout=5)
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    reason = f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                reason = type(exc).__name__
            finally:
                connection.close()
            with lock:
                totals["sent"] += 1
                totals["latencies"].append(time.monotonic() - started)
                if reason:
                    totals["failed"] += 1
                    totals["errors"][reason] = totals["errors"].get(reason, 0) + 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()

    def report(done: bool) -> None:
        with lock:
            latencies = sorted(totals["latencies"])
            line = {key: totals[key] for key in ("sent", "failed", "errors")}
        if latencies:
            line["p50_ms"] = round(1000 * latencies[len(latencies) // 2], 1)
            line["p99_ms"] = round(1000 * latencies[int(len(latencies) * 0.99)], 1)
        line["done"] = done
        print(json.dumps(line), flush=True)

    while any(thread.is_alive() for thread in threads):
        time.sleep(1)
        report(False)
    report(True)


if __name__ == "__main__":
    main()
