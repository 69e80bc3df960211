"""Processes on this machine: started in their own group and always stopped (procs), the
warm Python that forks servers (forkserver), why a server did not start (diagnosis),
the saved model (artifact) and what it predicts (reference)."""
