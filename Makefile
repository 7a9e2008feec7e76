# VM Service: VM classes, class bindings, VirtualMachines and TanzuKubernetesClusters on vSphere.
# `make help` lists the targets.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

BIN := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
GINKGO := $(BIN)/ginkgo
IMG ?= vm-service-manager:dev
# Parallel Ginkgo processes; each integration suite starts its own apiserver.
GINKGO_PROCS ?= 2
# Plain output when not on a terminal (CI logs).
GINKGO_FLAGS ?= $(if $(CI),--no-color,)

export KUBEBUILDER_ASSETS := $(BIN)

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-14s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: tools
tools: ## Build etcd, kube-apiserver, controller-gen, ginkgo and govc into the tool cache (first time: minutes).
	@hack/tools/install.sh

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code, CRDs, RBAC and webhook manifests from markers.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="./api/..."
	$(CONTROLLER_GEN) crd:allowDangerousTypes=false rbac:roleName=vm-service-manager webhook paths="./..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac output:webhook:artifacts:config=config/webhook

.PHONY: verify
verify: $(CONTROLLER_GEN) ## Fail when generated files are stale, gofmt would change a file, or go vet complains.
	@hack/verify-generated.sh
	@unformatted=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); test -z "$$unformatted" || { echo "verify: gofmt would change: $$unformatted" >&2; exit 1; }
	go vet ./...
	cd hack/tools && go vet ./...

##@ Build

.PHONY: build
build: ## Build the manager binary into bin/manager.
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/manager ./cmd/manager

.PHONY: run
run: ## Run the product on its embedded local supervisor (ENFORCEMENT=Warn, KEEP=1 keeps state, RUN_FLAGS=...).
	@hack/tools/install.sh etcd kube-apiserver govc
	@# Built, then exec'd rather than `go run`: SIGTERM then reaches the supervisor (go run dies
	@# without passing it on) and a clean Ctrl-C exits 0 (go run reports 1).
	go build -o $(BIN)/local-supervisor ./cmd/local-supervisor
	exec $(BIN)/local-supervisor --enforcement=$(or $(ENFORCEMENT),Deny) $(if $(filter-out 0 false,$(KEEP)),--keep,) $(RUN_FLAGS)

.PHONY: demo
demo: ## Replay walkthrough.md steps 1-6 (Deny mode, then Warn mode) against a local supervisor, printing each command and its output.
	@hack/tools/install.sh etcd kube-apiserver govc
	go build -o $(BIN)/local-supervisor ./cmd/local-supervisor
	@hack/demo.sh

# The image tarball `make image` writes, its architecture, the CA bundle it carries (empty: none)
# and the time recorded on it (the last commit's, so a rebuild of one commit is identical).
IMAGE_DIR ?= $(BIN)/image
ARCH ?= $(shell go env GOARCH)
CA_CERTIFICATES ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

.PHONY: image
image: ## Build the manager image as a tarball, bin/image/vm-service-manager.tar tagged IMG, with no container engine.
	CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) go build -trimpath -ldflags="-s -w" -o $(IMAGE_DIR)/manager ./cmd/manager
	go run ./hack/image --binary=$(IMAGE_DIR)/manager --arch=$(ARCH) --tag=$(IMG) --out=$(IMAGE_DIR)/vm-service-manager.tar \
		--ca-certificates=$(CA_CERTIFICATES) --source-date-epoch=$(SOURCE_DATE_EPOCH)

.PHONY: docker-build
docker-build: ## Build the same image with a Docker engine, from the Dockerfile.
	docker build -t $(IMG) .

##@ Test

.PHONY: test
test: tools ## Run every test: unit, integration (envtest + vcsim) and e2e; not the reliability figures.
	@mkdir -p $(BIN)/reports
	@status=0; $(GINKGO) -r -p --procs=$(GINKGO_PROCS) $(GINKGO_FLAGS) --label-filter='!reliability' --keep-going --randomize-all --timeout=25m --poll-progress-after=120s \
		--json-report=test-report.json --output-dir=$(BIN)/reports || status=$$?; \
	go run ./hack/testsummary $(BIN)/reports/test-report.json || status=1; exit $$status

.PHONY: fuzz
fuzz: ## Fuzz the webhooks' admission path and the release version parser, FUZZTIME each (default 30s), one at a time.
	@FUZZTIME=$(or $(FUZZTIME),30s) hack/fuzz.sh

.PHONY: reliability
reliability: tools ## Measure the reliability figures of docs/reliability.md (test/reliability) and print one line per figure.
	@mkdir -p $(BIN)/reliability && rm -f $(BIN)/reliability/figures.txt
	@status=0; RELIABILITY_FIGURES=$(BIN)/reliability/figures.txt $(GINKGO) -r -p --procs=$(GINKGO_PROCS) $(GINKGO_FLAGS) \
		--label-filter=reliability --timeout=15m ./test/reliability || status=$$?; \
	echo; echo "Reliability figures:"; cat $(BIN)/reliability/figures.txt 2>/dev/null || echo "(none measured)"; exit $$status

.PHONY: bench
bench: ## Measure the cost figures of docs/performance.md against their goals: a table, and bin/bench/results.json (BENCH_FLAGS=...).
	@hack/tools/install.sh etcd kube-apiserver
	go run ./hack/bench -out $(BIN)/bench/results.json $(BENCH_FLAGS)

$(CONTROLLER_GEN):
	@hack/tools/install.sh controller-gen
