# The workshop's commands. Every target only delegates: to scripts/*.sh or to
# the checker (python -m checker). `make` alone prints this help.
SHELL := bash
.DEFAULT_GOAL := help
.SUFFIXES:

# `make check-lab 2` and `make check-lab N=2` both work: a bare number after a
# lab target is taken as N, and made into a target that does nothing.
LAB_TARGETS := check-lab solution reset watch image load-image deploy test-lab mutants
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
PY := $(VENV)/bin/python
# Before .venv exists (make help, make labs), the system python3 reads the manifest:
# the command side's modules it needs are standard library only, and the engine is
# not installed there yet, hence the one path edit.
BARE_CHECK := PYTHONPATH=scripts/engine python3 -m checker
CHECK := $(PY) -m checker
BOOTSTRAP := scripts/learner/bootstrap.sh

##@ For learners: the labs

.PHONY: help  ## show this help
help:
	@printf 'Usage: make TARGET [N=lab] [LAB_DIR=folder] [V=1]\n'
	@awk '/^##@ / { printf "\n%s\n", substr($$0, 5) } \
	  /^\.PHONY: [a-z-]+ +## / { printf "  %-18s %s\n", $$2, substr($$0, index($$0, "## ") + 3) }' $(firstword $(MAKEFILE_LIST))
	@printf '\nLabs (from labs/labs.toml):\n'
	@$(BARE_CHECK) labs 2>/dev/null || echo "  (needs python3 3.11+)"

.PHONY: check-lab  ## run lab N's checker, e.g. make check-lab 2 (LAB_DIR=... checks another folder)
check-lab:
	@scripts/learner/check-lab.sh "$(N)" $(if $(LAB_DIR),--lab-dir "$(LAB_DIR)") $(if $(V),-v)

.PHONY: watch  ## re-run lab N's checker whenever a file changes (Enter re-runs by hand)
watch:
	@$(BOOTSTRAP)
	@$(CHECK) watch "$(N)" $(if $(LAB_DIR),--lab-dir "$(LAB_DIR)") $(if $(MANUAL),--manual)

.PHONY: doctor  ## preflight: is this laptop ready? (lab 00)
doctor:
	@$(BOOTSTRAP)
	@$(CHECK) check 0 $(if $(V),-v)

.PHONY: progress  ## show which labs you passed
progress:
	@$(BOOTSTRAP)
	@$(CHECK) progress

.PHONY: solution  ## catch up: copy lab N's reference solution in (your work is backed up first)
solution:
	@$(BOOTSTRAP)
	@$(CHECK) solution "$(N)"

.PHONY: reset  ## start lab N again from its starter (your work is backed up first)
reset:
	@$(BOOTSTRAP)
	@$(CHECK) reset "$(N)"

.PHONY: setup  ## optional: create .venv from the lock file now
setup:
	@$(BOOTSTRAP)

.PHONY: labs  ## list the labs
labs:
	@$(BARE_CHECK) labs

.PHONY: notebook  ## open Jupyter on the lab 01 notebook (make check-lab 1 runs it headless)
notebook:
	@$(BOOTSTRAP) notebook
	@$(VENV)/bin/jupyter lab notebooks/train.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: profiler  ## install py-spy, lab 09's sampling profiler, into .venv
profiler:
	@$(BOOTSTRAP) profile

.PHONY: tools  ## install the pinned kind, kubectl, helm and promtool into .tools/bin (needs internet)
tools:
	@scripts/learner/install-tools.sh

# The service image is built from lab N's folder (lab 04 unless N says otherwise).
IMAGE_DIR = $$($(CHECK) tree $(or $(N),4) $(if $(LAB_DIR),--lab-dir "$(LAB_DIR)"))
.PHONY: cluster-up  ## create the kind cluster with metrics-server (lab 04; needs make tools)
cluster-up:
	@scripts/learner/cluster-up.sh

.PHONY: cluster-down  ## delete the kind cluster
cluster-down:
	@scripts/learner/cluster-down.sh

.PHONY: image  ## build lab N's service image with a unique tag (default lab 04)
image:
	@$(BOOTSTRAP)
	@scripts/learner/image.sh "$(IMAGE_DIR)" >/dev/null

.PHONY: load-image  ## build lab N's image and load it into the cluster (IMAGE=name:tag loads that one)
load-image:
	@$(BOOTSTRAP)
	@image="$(or $(IMAGE),$$(scripts/learner/image.sh "$(IMAGE_DIR)"))" && scripts/learner/load-image.sh "$$image"

.PHONY: deploy  ## build, load and apply lab N's service and k8s/ folder (default lab 04)
deploy:
	@$(BOOTSTRAP)
	@scripts/learner/deploy.sh "$(IMAGE_DIR)" $(IMAGE)

.PHONY: load  ## send bounded load to the service (URL=..., SECONDS=60) and report RPS and latency
load:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/learner/load.py $(if $(URL),--url "$(URL)") $(if $(SECONDS),--seconds "$(SECONDS)")

.PHONY: monitoring-up  ## install Prometheus and Grafana into the kind cluster (lab 07; needs the internet)
monitoring-up:
	@scripts/learner/monitoring-up.sh

.PHONY: monitoring-down  ## remove Prometheus and Grafana from the cluster
monitoring-down:
	@scripts/learner/monitoring-down.sh

.PHONY: adapter-up  ## lab 10: install the Prometheus Adapter with lab N's monitoring/adapter-values.yaml (default lab 10)
adapter-up:
	@$(BOOTSTRAP)
	@scripts/learner/adapter-up.sh "$$($(CHECK) tree $(or $(N),10) $(if $(LAB_DIR),--lab-dir "$(LAB_DIR)"))"

.PHONY: loadgen-image  ## lab 10: build the in-cluster load generator (wrk) and load it into the cluster
loadgen-image:
	@scripts/learner/loadgen-image.sh

.PHONY: capacity  ## lab 10: measure one pod's requests per second in the cluster, into capacity.json
capacity:
	@$(BOOTSTRAP)
	@scripts/learner/loadgen-image.sh
	@$(CHECK) capacity $(if $(LAB_DIR),--lab-dir "$(LAB_DIR)")

.PHONY: scale-load  ## lab 10: wrk through the Service from inside the cluster (SECONDS=120), to watch the HPA
scale-load:
	@$(BOOTSTRAP)
	@scripts/learner/loadgen-image.sh
	@$(CHECK) capacity --through-service $(or $(SECONDS),120)

.PHONY: join  ## room mode (learner): work in your namespace on the room's cluster (KUBECONFIG_FILE=...)
join:
	@scripts/room/join.sh "$(KUBECONFIG_FILE)"

.PHONY: leave  ## room mode (learner): back to your own kind cluster
leave:
	@scripts/room/join.sh --leave

.PHONY: clean  ## remove .venv, .tools and local results (keeps your lab work)
clean:
	rm -rf $(VENV) .tools .workshop/results

##@ For instructors: room mode (scripts/room/README.md)

.PHONY: room-size  ## what each lab needs at its peak, and each learner's budget
room-size:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/room/room.py size

.PHONY: room-up  ## a namespace, budget, RBAC, policies and kubeconfig per learner (ROOM=room.toml)
room-up:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/room/room.py up "$(or $(ROOM),room.toml)"

.PHONY: room-tokens  ## new kubeconfigs when tokens expire (ROOM=room.toml, LEARNER=name for one)
room-tokens:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/room/room.py tokens "$(or $(ROOM),room.toml)" $(LEARNER)

.PHONY: room-down  ## remove everything room-up made for ROOM, and only that
room-down:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/room/room.py down "$(or $(ROOM),room.toml)"

.PHONY: room-board  ## learners × lab N's checks, in the terminal and as a self-reloading page (ROOM=, N=, EVERY=15 repeats)
room-board:
	@$(BOOTSTRAP)
	@$(VENV)/bin/python scripts/room/board.py "$(or $(ROOM),room.toml)" "$(or $(N),4)" $(if $(EVERY),--every $(EVERY))

##@ For maintainers (scripts/maintainer/README.md)

.PHONY: labs-sync  ## rewrite every carried lab file from its owner, the requirements from uv.lock, and the README's course map
labs-sync:
	@$(BOOTSTRAP)
	@scripts/maintainer/labs-sync.sh

.PHONY: test  ## the project's own test suite, every tier (what CI runs)
test:
	@$(BOOTSTRAP)
	@scripts/maintainer/test.sh full

.PHONY: test-quick  ## the fast tier: engine, manifest and static checks
test-quick:
	@$(BOOTSTRAP)
	@scripts/maintainer/test.sh quick

.PHONY: test-hog  ## make test's hog phase alone: labs 05 and 10 and the room test under a CPU hog
test-hog:
	@$(BOOTSTRAP)
	@scripts/maintainer/test.sh hog

.PHONY: test-kind  ## the learners' path on a real kind cluster here: cluster-up, lab 04, cluster-down (not in make test yet)
test-kind:
	@$(BOOTSTRAP)
	@scripts/maintainer/test-kind.sh

.PHONY: test-lab  ## the full tier's tests for lab N only, e.g. make test-lab 5
test-lab:
	@$(BOOTSTRAP)
	@scripts/maintainer/test.sh lab "$(N)"

.PHONY: mutants  ## lab N's solution changed one small way at a time, each judged by its checker; MUTANTS=K tries a sample (SEED=S)
mutants:
	@$(BOOTSTRAP)
	@$(PY) scripts/maintainer/mutants "$(N)" --sample "$(MUTANTS)" --seed "$(or $(SEED),1)"

.PHONY: lint  ## ruff and the other static checks
lint:
	@$(BOOTSTRAP)
	@scripts/maintainer/lint.sh

.PHONY: bench  ## benchmarks side by side in one run: serving (wrk peak, vegeta open-loop latency; BENCH_PEER=1 adds MLServer), lab 03's image (Docker), then per pod on the cluster
bench:
	@$(BOOTSTRAP)
	@scripts/maintainer/install-vegeta.sh
	@$(VENV)/bin/python scripts/maintainer/bench/serving.py
	@$(VENV)/bin/python scripts/maintainer/bench/lab03_image.py
	@if kubectl version --request-timeout=5s >/dev/null 2>&1; then $(MAKE) --no-print-directory bench-cluster; \
	else echo "bench-cluster: not run (no cluster answers: make cluster-up, or the test cluster)"; fi

.PHONY: bench-serving  ## only the serving benchmark (BENCH_PEER=1 adds MLServer)
bench-serving:
	@$(BOOTSTRAP)
	@scripts/maintainer/install-vegeta.sh
	@$(VENV)/bin/python scripts/maintainer/bench/serving.py

.PHONY: bench-cluster  ## lab 06's image against lab 10's, one pod each on the cluster, the same in-cluster wrk
bench-cluster:
	@$(BOOTSTRAP)
	@scripts/learner/loadgen-image.sh
	@PATH="$(PATH)" $(VENV)/bin/python scripts/maintainer/bench/cluster_pods.py
