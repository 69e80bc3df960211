"""Load: wrk on this machine (wrk), open-loop latency (vegeta), steady load from a pod
(inpod, inpod_script), wrk in a pod (wrkpod), and one pod's capacity (capacity)."""
