"""Lab 00: seeded mistakes, each caught by its check (tests/project)."""

MISTAKES = []

# Lab 00 reads the laptop, not a folder: there is no solution to seed a mistake in.
# tests/project/test_labs.py::test_doctor_says_what_is_missing runs it on a machine
# without kind and helm; the other checks pass there and fail only on another laptop.
UNSEEDED = {
    "python_version": "reads the interpreter running it; CI's is the pinned 3.11",
    "disk_space": "reads the machine's free disk; no folder can seed it",
    "docker_installed": "reads PATH; test_doctor runs where Docker is installed",
    "docker_daemon": "reads the engine; tests/project/test_docker_tier.py stops it for lab 03",
    "docker_resources": "reads docker info; the CI engine has the machine's 2 cores and 24 GiB",
    "docker_cgroup_v2": "reads docker info; this CI machine is cgroup v1, so it fails here",
    "kind": "proven missing by test_doctor_says_what_is_missing",
    "kubectl": "CI has kubectl, not at the pinned patch: test_doctor shows the mismatch",
    "helm": "proven missing by test_doctor_says_what_is_missing",
    "ports_free": "reads the machine's ports; a held port is not a folder's mistake",
}
