# The workshop's commands. Every target only delegates: to scripts/*.sh or to
# the checker (python -m checker). `make` alone prints this help.
SHELL := bash
.DEFAULT_GOAL := help
.SUFFIXES:

# `make check-lab 2` and `make check-lab N=2` both work: a bare number after a
# lab target is taken as N, and made into a target that does nothing.
LAB_TARGETS := check-lab solution reset watch image load-image deploy test-lab
ifneq ($(filter $(LAB_TARGETS),$(firstword $(MAKECMDGOALS))),)
  LAB_ARG := $(word 2,$(MAKECMDGOALS))
  ifneq ($(word 3,$(MAKECMDGOALS)),)
    $(error one lab at a time: make $(firstword $(MAKECMDGOALS)) $(LAB_ARG), then make $(firstword $(MAKECMDGOALS)) $(word 3,$(MAKECMDGOALS)))
  endif
  ifneq ($(LAB_ARG),)
    $(eval $(LAB_ARG):;@:)
  endif
endif
N ?= $(LAB_ARG)
LAB_DIR ?=
V ?=
# `make setup PYTHON=/path/to/python3.12` picks the interpreter for .venv.
export PYTHON

# Tools that make tools installed come first.
export PATH := $(CURDIR)/.tools/bin:$(PATH)

# Room mode (make join): the room's kubeconfig, namespace and image repository,
# for every target.
-include .workshop/room.env
ifdef WORKSHOP_ROOM
  export KUBECONFIG WORKSHOP_NAMESPACE WORKSHOP_ROOM WORKSHOP_REPOSITORY
endif

VENV := .venv
PY := PYTHONPATH=tests $(VENV)/bin/python
CHECK := $(PY) -m checker
BOOTSTRAP := scripts/bootstrap.sh

.PHONY: help  ## show this help
help:
	@printf 'Usage: make TARGET [N=lab] [LAB_DIR=folder] [V=1]\n\nTargets:\n'
	@grep -E '^\.PHONY: [a-z-]+ +## ' $(MAKEFILE_LIST) | sed -E 's/^\.PHONY: ([a-z-]+) +## (.*)/\1|\2/' | awk -F'|' '{printf "  %-18s %s\n", $$1, $$2}'
	@printf '\nLabs (from labs/labs.toml):\n'
	@PYTHONPATH=tests python3 -m checker labs 2>/dev/null || echo "  (needs python3 3.11+)"

.PHONY: setup  ## optional: create .venv from the lock file now
setup:
	@$(BOOTSTRAP)

.PHONY: check-lab  ## run lab N's checker, e.g. make check-lab 2 (LAB_DIR=... checks another folder)
check-lab:
	@scripts/check-lab.sh "$(N)" $(if $(LAB_DIR),--lab-dir "$(LAB_DIR)") $(if $(V),-v)

.PHONY: doctor  ## preflight: is this laptop ready? (lab 00)
doctor:
	@$(BOOTSTRAP)
	@$(CHECK) check 0 $(if $(V),-v)

.PHONY: watch  ## re-run lab N's checker whenever a file changes (Enter re-runs by hand)
watch:
	@$(BOOTSTRAP)
	@$(CHECK) watch "$(N)" $(if $(LAB_DIR),--lab-dir "$(LAB_DIR)") $(if $(MANUAL),--manual)

.PHONY: solution  ## catch up: copy lab N's reference solution in (your work is backed up first)
solution:
	@$(BOOTSTRAP)
	@$(CHECK) solution "$(N)"

.PHONY: reset  ## start lab N again from its starter (your work is backed up first)
reset:
	@$(BOOTSTRAP)
	@$(CHECK) reset "$(N)"

.PHONY: progress  ## show which labs you passed
progress:
	@$(BOOTSTRAP)
	@$(CHECK) progress

.PHONY: labs  ## list the labs
labs:
	@PYTHONPATH=tests python3 -m checker labs

.PHONY: labs-sync  ## rewrite every carried lab file from its owner, the requirements from uv.lock, and the README's course map
labs-sync:
	@$(BOOTSTRAP)
	@scripts/labs-sync.sh

.PHONY: notebook  ## open Jupyter on the lab 01 notebook (make check-lab 1 runs it headless)
notebook:
	@$(BOOTSTRAP) notebook
	@$(VENV)/bin/jupyter lab notebooks/train.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: profiler  ## install py-spy, lab 09's sampling profiler, into .venv
profiler:
	@$(BOOTSTRAP) profile

.PHONY: tools  ## install the pinned kind, kubectl, helm and promtool into .tools/bin (needs internet)
tools:
	@scripts/install-tools.sh

# The service image is built from lab N's folder (lab 04 unless N says otherwise).
IMAGE_DIR = $$($(CHECK) tree $(or $(N),4) $(if $(LAB_DIR),--lab-dir "$(LAB_DIR)"))

.PHONY: cluster-up  ## create the kind cluster with metrics-server (lab 04; needs make tools)
cluster-up:
	@scripts/cluster-up.sh

.PHONY: cluster-down  ## delete the kind cluster
cluster-down:
	@scripts/cluster-down.sh

.PHONY: monitoring-up  ## install Prometheus and Grafana into the kind cluster (lab 07; needs the internet)
monitoring-up:
	@scripts/monitoring-up.sh

.PHONY: monitoring-down  ## remove Prometheus and Grafana from the cluster
monitoring-down:
	@scripts/monitoring-down.sh

.PHONY: image  ## build lab N's service image with a unique tag (default lab 04)
image:
	@$(BOOTSTRAP)
	@scripts/image.sh "$(IMAGE_DIR)" >/dev/null

.PHONY: load-image  ## build lab N's image and load it into the cluster (IMAGE=name:tag loads that one)
load-image:
	@$(BOOTSTRAP)
	@image="$(or $(IMAGE),$$(scripts/image.sh "$(IMAGE_DIR)"))" && scripts/load-image.sh "$$image"

.PHONY: deploy  ## build, load and apply lab N's service and k8s/ folder (default lab 04)
deploy:
	@$(BOOTSTRAP)
	@scripts/deploy.sh "$(IMAGE_DIR)" $(IMAGE)

.PHONY: adapter-up  ## lab 10: install the Prometheus Adapter with lab N's monitoring/adapter-values.yaml (default lab 10)
adapter-up:
	@$(BOOTSTRAP)
	@scripts/adapter-up.sh "$$($(CHECK) tree $(or $(N),10) $(if $(LAB_DIR),--lab-dir "$(LAB_DIR)"))"

.PHONY: loadgen-image  ## lab 10: build the in-cluster load generator (wrk) and load it into the cluster
loadgen-image:
	@scripts/loadgen-image.sh

.PHONY: capacity  ## lab 10: measure one pod's requests per second in the cluster, into capacity.json
capacity:
	@$(BOOTSTRAP)
	@scripts/loadgen-image.sh
	@$(CHECK) capacity $(if $(LAB_DIR),--lab-dir "$(LAB_DIR)")

.PHONY: scale-load  ## lab 10: wrk through the Service from inside the cluster (SECONDS=120), to watch the HPA
scale-load:
	@$(BOOTSTRAP)
	@scripts/loadgen-image.sh
	@$(CHECK) capacity --through-service $(or $(SECONDS),120)

.PHONY: room-size  ## room mode: what each lab needs at its peak, and each learner's budget
room-size:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/room/room.py size

.PHONY: room-up  ## room mode (instructor): a namespace, budget, RBAC, policies and kubeconfig per learner (ROOM=room.toml)
room-up:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/room/room.py up "$(or $(ROOM),room.toml)"

.PHONY: room-tokens  ## room mode (instructor): new kubeconfigs when tokens expire (ROOM=room.toml, LEARNER=name for one)
room-tokens:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/room/room.py tokens "$(or $(ROOM),room.toml)" $(LEARNER)

.PHONY: room-down  ## room mode (instructor): remove everything room-up made for ROOM, and only that
room-down:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/room/room.py down "$(or $(ROOM),room.toml)"

.PHONY: room-board  ## room mode (instructor): learners × lab N's checks, in the terminal and as a self-reloading page (ROOM=, N=, EVERY=15 repeats)
room-board:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/room/board.py "$(or $(ROOM),room.toml)" "$(or $(N),4)" $(if $(EVERY),--every $(EVERY))

.PHONY: join  ## room mode (learner): work in your namespace on the room's cluster (KUBECONFIG_FILE=...)
join:
	@scripts/room/join.sh "$(KUBECONFIG_FILE)"

.PHONY: leave  ## room mode (learner): back to your own kind cluster
leave:
	@scripts/room/join.sh --leave

.PHONY: load  ## send bounded load to the service (URL=..., SECONDS=60) and report RPS and latency
load:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/load.py $(if $(URL),--url "$(URL)") $(if $(SECONDS),--seconds "$(SECONDS)")

.PHONY: test  ## the project's own test suite, every tier (what CI runs)
test:
	@$(BOOTSTRAP)
	@scripts/test.sh full

.PHONY: test-lab  ## the full tier's tests for lab N only, e.g. make test-lab 5
test-lab:
	@$(BOOTSTRAP)
	@scripts/test.sh lab "$(N)"

.PHONY: test-quick  ## the fast tier: engine, manifest and static checks
test-quick:
	@$(BOOTSTRAP)
	@scripts/test.sh quick

.PHONY: lint  ## ruff and the other static checks
lint:
	@$(BOOTSTRAP)
	@scripts/lint.sh

.PHONY: clean  ## remove .venv, .tools and local results (keeps your lab work)
clean:
	rm -rf $(VENV) .tools .workshop/results

.PHONY: bench  ## benchmarks side by side in one run: serving (wrk peak, vegeta open-loop latency; BENCH_PEER=1 adds MLServer), lab 03's image (Docker), then per pod on the cluster
bench:
	@$(BOOTSTRAP)
	@scripts/install-vegeta.sh
	@$(VENV)/bin/python scripts/bench/serving.py
	@$(VENV)/bin/python scripts/bench/lab03_image.py
	@if kubectl version --request-timeout=5s >/dev/null 2>&1; then $(MAKE) --no-print-directory bench-cluster; \
	else echo "bench-cluster: not run (no cluster answers: make cluster-up, or the test cluster)"; fi

.PHONY: bench-cluster  ## lab 06's image against lab 10's, one pod each on the cluster, the same in-cluster wrk
bench-cluster:
	@$(BOOTSTRAP)
	@scripts/loadgen-image.sh
	@PATH="$(PATH)" $(VENV)/bin/python scripts/bench/cluster_pods.py

.PHONY: bench-serving  ## only the serving benchmark (BENCH_PEER=1 adds MLServer)
bench-serving:
	@$(BOOTSTRAP)
	@scripts/install-vegeta.sh
	@$(VENV)/bin/python scripts/bench/serving.py
