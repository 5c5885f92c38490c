# Switchboard: `make run` starts the demo, `make test` runs every test.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
WASM        := web/app.wasm
BIN         := bin
# The demo's traffic differs on each `make run`; `make run SEED=1` repeats a
# run's traffic (under new call ids: the state in ./data survives restarts).
SEED        ?= $(shell date +%s)
# What the builds read: a target is rebuilt only when one of these changed,
# so `make run` with nothing changed starts in seconds.
GO_SRC      := go.mod go.sum $(shell find app backend cmd -name '*.go' -not -name '*_test.go' 2>/dev/null)
WASM_SRC    := go.mod go.sum $(shell find app cmd/switchboard -name '*.go' -not -name '*_test.go' 2>/dev/null)
# The console is built with encoding/json on Go's newer JSON engine
# (GOEXPERIMENT=jsonv2: the same API and output, decoding about twice as
# fast with a quarter of the allocations), because decoding the feed is
# the biggest part of what the console's only thread does under load.
# backend/browsertest builds it the same way.
WASM_ENV    := GOOS=js GOARCH=wasm GOEXPERIMENT=jsonv2

.PHONY: all build wasm server nats-server run test lint unit chromium bench cluster cluster-stop chaos soak audit clean

all: build

## build: the WebAssembly console (with its compressed copies) and the binaries
build: wasm server

wasm: $(WASM).br

$(WASM): $(WASM_SRC)
	$(WASM_ENV) $(GO) build -trimpath -ldflags="-s -w" -o $(WASM) ./cmd/switchboard

# precompress keeps the copies when app.wasm's content did not change.
$(WASM).br: $(WASM)
	$(GO) run ./cmd/precompress $(WASM)

# The server records the commit it was built from (the reports name it),
# whatever GOFLAGS says.
server: $(BIN)/switchboard $(BIN)/graphsim

$(BIN)/%: $(GO_SRC)
	$(GO) build -trimpath -buildvcs=auto -o $@ ./cmd/$*

# nats-server at the go.mod's version, built from the module proxy like any
# other dependency.
nats-server:
	$(GO) build -trimpath -o $(BIN)/nats-server github.com/nats-io/nats-server/v2

## run: the demo at http://localhost:8080 (embedded NATS, Graph simulator, demo users)
run: build
	$(BIN)/switchboard --demo --data ./data --seed $(SEED)

## test: lint, then every test (browser tests included; installs Chromium if missing)
test: build chromium lint unit

unit:
	$(GO) test -count=1 -timeout 15m ./...
	GOEXPERIMENT=jsonv2 $(GO) test -count=1 ./app/... # the console's code on the JSON it ships with

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(WASM_ENV) $(GO) vet ./app/... ./cmd/switchboard
	$(GO) run $(STATICCHECK) ./...

## chromium: Debian's Chromium for the browser tests
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## bench: the workload ladder W1–W6, each run three times alternating with a
##   bare fan-out floor, then the console in Chromium with W4's 50,000 live
##   calls; writes docs/benchmarks.md (about an hour on 2 cores)
bench: build nats-server chromium
	$(GO) run ./cmd/swbench --out docs/benchmarks.md
	$(GO) test -run XXX -bench Console -benchtime 1x -timeout 60m ./backend/browsertest/ \
		-console.calls 50000 -console.rate 2000 -console.load 60s -console.runs 3 -console.out $(CURDIR)/docs/benchmarks.md

## cluster: in the background, a 3-node NATS JetStream cluster, two replicas
##   (http://localhost:8080 and :8081) and the Graph simulator feeding both;
##   prints how to kill a node or a replica (state and logs in ./cluster)
cluster: build nats-server
	$(GO) build -trimpath -o $(BIN)/swcluster ./cmd/swcluster
	$(BIN)/swcluster up

## cluster-stop: stop everything make cluster started and remove ./cluster
cluster-stop:
	$(GO) build -trimpath -o $(BIN)/swcluster ./cmd/swcluster
	$(BIN)/swcluster down

## chaos: drive a cluster of its own through node, leader, replica and
##   whole-cluster faults under traffic; writes docs/reliability.md (about 4 minutes)
chaos: server nats-server
	$(GO) run ./cmd/swchaos --out docs/reliability.md

## soak: ten minutes of busy traffic with 50 consoles on a cluster of its own,
##   memory, goroutines and disk sampled over time; writes its section of
##   docs/reliability.md
soak: server nats-server
	$(GO) run ./cmd/swsoak --out docs/reliability.md

## audit: Lighthouse (desktop and mobile) and axe-core on the signed-in console,
## in Debian's Chromium; writes docs/audit.md (the npm tools are pinned in tools/audit)
audit: build chromium
	cd tools/audit && npm ci --no-audit --no-fund --loglevel=error
	$(GO) run ./cmd/swaudit --out docs/audit.md --chromium /usr/bin/chromium

clean:
	rm -rf $(BIN) $(WASM) $(WASM).br $(WASM).gz $(WASM).sha256
