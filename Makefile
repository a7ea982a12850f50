# gridflow — thin targets over go and scripts/. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
GO ?= go
SERVICES := intake classify dispatch feedback console
# The shared data (citizen messages) lives beside the repository, never in it.
SHARED ?= $(abspath ../shared)
# Every module of the workspace (go.work), for loops that go test ./... cannot do at a root without go.mod.
MODULES = $(shell $(GO) list -f '{{.Dir}}' -m)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

.PHONY: build
build: bin/nats-server ## build every binary into bin/
	$(GO) build -o bin/ $(addprefix ./services/,$(SERVICES)) ./cmd/gridctl

bin/nats-server: tools/go.mod tools/go.sum
	cd tools && GOWORK=off $(GO) build -o ../bin/nats-server github.com/nats-io/nats-server/v2

.PHONY: tools
tools: ## build the pinned tools (buf, protoc-gen-go, protoc-gen-go-grpc, grpc-gateway's two, staticcheck) into bin/
	cd tools && GOWORK=off $(GO) build -o ../bin/ github.com/bufbuild/buf/cmd/buf \
		google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc \
		honnef.co/go/tools/cmd/staticcheck
	@# The HTTP/JSON door (issue 19): grpc-gateway's proxy and OpenAPI generators.
	cd tools && GOWORK=off $(GO) build -o ../bin/ github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2

.PHONY: generate
generate: tools ## lint the protos and regenerate proto/gen/go
	cd proto && ../bin/buf lint && rm -rf gen/go/gridflow && ../bin/buf generate
	@# The HTTP/JSON door (issue 19): the console's gateway and its OpenAPI document, from proto/gateway.yaml.
	cd proto && rm -rf $(GATEWAY_GEN) && ../bin/buf generate --template buf.gen.gateway.yaml

.PHONY: verify
verify: generate ## fail if generated code drifted, code is unformatted, go vet or staticcheck complains, or the wire broke
	@git diff --exit-code --stat -- proto/gen || { echo "proto/gen drifted from proto/: run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- proto/gen)" || { echo "untracked generated files: run make generate and commit"; exit 1; }
	@# The HTTP/JSON door (issue 19): the gateway and the OpenAPI document are generated too.
	@git diff --exit-code --stat -- $(GATEWAY_GEN) $(GATEWAY_OPENAPI) || { echo "the console's gateway drifted from proto/gateway.yaml: run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- $(GATEWAY_GEN) $(GATEWAY_OPENAPI))" || { echo "untracked generated gateway files: run make generate and commit"; exit 1; }
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^proto/gen/')); test -z "$$out" || { echo "gofmt needed: $$out"; exit 1; }
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done
	@# The bench and the cluster test are built only with their tags; vet them so they cannot rot unseen.
	@cd e2e && $(GO) vet -tags bench . && $(GO) vet -tags cluster .
	@# Issue 18: the console's 100,000-case measurement (make bench-console) is vetted the same way.
	@cd e2e && $(GO) vet -tags consolebench .
	@# One run over every module (checks in staticcheck.conf), so shared packages are analysed once.
	bin/staticcheck $$($(GO) list -m | sed 's|$$|/...|')
	@cd proto && ../bin/buf breaking --against $(PROTO_RELEASE) || { \
		echo "wire-incompatible change against the last release's protos ($(PROTO_RELEASE)): add a field or a v2 instead"; exit 1; }

# The HTTP/JSON door (issue 19): what make generate writes into the console from proto/gateway.yaml.
GATEWAY_GEN := $(CURDIR)/services/console/internal/api/gen
GATEWAY_OPENAPI := $(CURDIR)/services/console/internal/api/openapi.swagger.json

# The image of the protos as last released: make verify's buf breaking compares against it (a committed file,
# because CI's clone may be shallow). Refresh it when cutting a release, and only then.
PROTO_RELEASE := release.binpb

.PHONY: proto-release
proto-release: tools ## at a release: record the protos as released (proto/release.binpb) for make verify's buf breaking
	cd proto && ../bin/buf build --exclude-source-info -o $(PROTO_RELEASE)

.PHONY: test
test: build ## run every test (starts PostgreSQL; NATS runs in the tests)
	scripts/test.sh

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME (10s) each and list them (FUZZ=regexp picks targets; the seeds run in make test)
	FUZZTIME='$(value FUZZTIME)' FUZZ='$(value FUZZ)' scripts/fuzz.sh

FUZZTIME ?= 10s
FUZZ ?= .

.PHONY: fuzz-list
fuzz-list: ## list every fuzz target and its package
	scripts/fuzz.sh -l

.PHONY: run
run: build ## start the whole stack in the foreground, show work flowing; Ctrl-C stops it
	scripts/stack.sh run

.PHONY: up
up: build ## start the stack in the background (returns once healthy)
	scripts/stack.sh up

.PHONY: down
down: ## stop the stack
	scripts/stack.sh down

.PHONY: status
status: ## what runs where
	scripts/stack.sh status

.PHONY: demo
demo: ## submit the demo work orders to a running stack and show their events
	scripts/stack.sh demo

.PHONY: dev-ca
dev-ca: ## make a development CA and TLS certificates in .run/tls (for the GRIDFLOW_TLS_* settings)
	scripts/dev-ca.sh

.PHONY: bench-intake
bench-intake: build ## measure intake (group commit) against the naive baseline; last line: the figures
	@scripts/pg.sh start >/dev/null
	@mkdir -p .run
	cd e2e && TEST_DATABASE_URL=$$(../scripts/pg.sh url) GRIDFLOW_BIN_DIR=$(CURDIR)/bin \
		$(GO) test -tags bench -run TestBenchIntake -count=1 -v -timeout 15m . > ../.run/bench-intake.log 2>&1 || { cat ../.run/bench-intake.log; exit 1; }
	@grep -E '^\s+bench_intake_test.go' .run/bench-intake.log | sed 's/^ *//'
	@grep '^intake_orders_per_s=' .run/bench-intake.log | tail -1

# Issue 17: make bench, the whole loop measured (e2e/bench_test.go; BENCH_WINDOW, BENCH_STEPS, BENCH_START_RATE,
# BENCH_RATE, BENCH_FIXED, BENCH_BASELINE, BENCH_DRAIN shorten or move it). BENCH_STATEMENTS=1 adds where
# PostgreSQL's time goes: the top BENCH_STATEMENTS_TOP (40) statements of the fixed phase per service
# (pg_stat_statements; e2e/bench_statements_test.go).
# Issue 17, the shared pipeline: the emergencies' hops, commits and NATS messages per order are always printed;
# BENCH_PPROF_DIR=<dir> saves each service's CPU profile over the fixed phase (e2e/bench_hops_test.go).
# BENCH_USERS=off runs without the department bots and the callbacks: the pipeline's own cost per order.
# BENCH_GROUPS=lanes (default) starts the emergency lanes in scheduling groups of their own; path: intake and NATS
# too; off: every process in the harness's group (README, "Scheduling groups").
.PHONY: bench
bench: build ## the whole loop measured: baseline, sustained rate, latency at 200/s, CPU µs/order and peak RSS per process (about 15 min; last line: the figures)
	@mkdir -p .run
	@cd e2e && GRIDFLOW_BIN_DIR=$(CURDIR)/bin GRIDFLOW_SHARED_DIR=$(SHARED) \
		$(GO) test -tags bench -run '^TestBench$$' -count=1 -v -timeout 90m . > ../.run/bench.log 2>&1; status=$$?; \
		grep -E '^(bench: |load )' ../.run/bench.log; \
		grep '^e2e_orders_per_s=' ../.run/bench.log | tail -1; \
		[ $$status = 0 ] || { tail -40 ../.run/bench.log; echo "make bench failed (log: .run/bench.log)"; }; exit $$status

.PHONY: cluster-test
cluster-test: build ## three nats-servers, GRID at R3, one killed under load: nothing lost, work continues (about a minute)
	@scripts/pg.sh start >/dev/null
	cd e2e && TEST_DATABASE_URL=$$(../scripts/pg.sh url) GRIDFLOW_BIN_DIR=$(CURDIR)/bin \
		$(GO) test -tags cluster -run TestNATSClusterLosesANode -count=1 -v -timeout 10m .

.PHONY: chaos
chaos: build ## kill -9 each service, restart NATS and PostgreSQL under load; check nothing lost, twice or stuck (last line: the counts)
	@mkdir -p .run
	@cd e2e && GRIDFLOW_CHAOS=full GRIDFLOW_BIN_DIR=$(CURDIR)/bin GRIDFLOW_SHARED_DIR=$(SHARED) \
		$(GO) test -run '^TestChaos$$' -count=1 -v -timeout 20m . > ../.run/chaos.log 2>&1; status=$$?; \
		grep -vE '^(=== RUN|--- (PASS|FAIL)|PASS$$|FAIL|ok |accepted=)' ../.run/chaos.log | sed 's/^    //'; \
		grep '^accepted=' ../.run/chaos.log | tail -1; \
		[ $$status = 0 ] || echo "make chaos failed (log: .run/chaos.log)"; exit $$status

.PHONY: eval-classify
eval-classify: build ## cross-validate and train the classifier on ../shared train.jsonl, evaluate once on dev.jsonl, then the served decision (last line: review_share=… class_accuracy=… item_share=… item_precision=… n=…)
	@test -f $(SHARED)/data/messages/train.jsonl || { echo "no $(SHARED)/data/messages/train.jsonl (set SHARED=…)"; exit 1; }
	@mkdir -p .run/models
	# issue 15, round 3: the CV figure is the mean over fold seeds 1–5 (its line "seeds=1-5 macro_f1=… served_macro_f1=…")
	bin/classify cv --data $(SHARED)/data/messages/train.jsonl --folds 5 --seeds 5
	bin/classify train --data $(SHARED)/data/messages/train.jsonl --out .run/models/messages.model
	bin/classify eval --model .run/models/messages.model --data $(SHARED)/data/messages/dev.jsonl
	bin/classify served --model .run/models/messages.model --data $(SHARED)/data/messages/dev.jsonl --items services/classify/testdata/dev_items.tsv
	# issue 15, the item model: trained on every label for serving, measured cross-fitted over the labels (last line)
	# issue 15, items: its thresholds chosen on the hand-read labels of train.jsonl messages (train_items.tsv) and dev's together; cross-fitted, never on the measured fold's
	bin/classify train-items --history $(SHARED)/data/messages/train.jsonl --history-items services/classify/testdata/train_items.tsv --data $(SHARED)/data/messages/dev.jsonl --items services/classify/testdata/dev_items.tsv --model .run/models/messages.model --out .run/models/items.model
	bin/classify served --model .run/models/messages.model --data $(SHARED)/data/messages/dev.jsonl --items services/classify/testdata/dev_items.tsv --cross-fit-items --history $(SHARED)/data/messages/train.jsonl --history-items services/classify/testdata/train_items.tsv

.PHONY: clean
clean: ## remove binaries (keeps .run data; make down first)
	rm -rf bin

# Issue 18, the console's queue page at 100,000 cases (e2e/console_bench_test.go; CONSOLE_BENCH_CASES,
# CONSOLE_BENCH_FILL, CONSOLE_BENCH_DRAIN, CONSOLE_BENCH_SETTLE, CONSOLE_BENCH_N, CONSOLE_BENCH_STATE,
# CONSOLE_BENCH_DB_URL shorten, move or reuse it).
.PHONY: bench-console
bench-console: build ## the live queue page's server time per filter with 100,000 cases filled through the pipeline (up to ~40 min; last lines: the figures)
	@scripts/pg.sh start >/dev/null
	@mkdir -p .run
	@cd e2e && TEST_DATABASE_URL=$$(../scripts/pg.sh url) GRIDFLOW_BIN_DIR=$(CURDIR)/bin GRIDFLOW_SHARED_DIR=$(SHARED) \
		$(GO) test -tags consolebench -run '^TestConsoleQueueAt100k$$' -count=1 -v -timeout 90m . > ../.run/bench-console.log 2>&1; status=$$?; \
		grep -E '^\s+console_bench_test.go:[0-9]+: (fill|console_queue)' ../.run/bench-console.log | sed 's/^ *//'; \
		[ $$status = 0 ] || { tail -40 ../.run/bench-console.log; echo "make bench-console failed (log: .run/bench-console.log)"; }; exit $$status
