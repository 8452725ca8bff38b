# rotor's build, test and demo entry points. See README.md.
VAULT_BIN := test/vault/bin/vault
AGENTCHECK_BIN := test/vault/bin/agentcheck
AGENTDUMP_BIN := test/vault/bin/agentdump
AUTHCHECK_BIN := test/vault/bin/authcheck
KUBE_APISERVER_BIN := test/kube/bin/kube-apiserver
ETCD_BIN := test/kube/bin/etcd
GO_TEST_FLAGS ?= -race -count=1 -timeout 40m

.PHONY: build vault agentcheck authcheck kube test chaos bench fleet lint demo clean

build:
	go build -trimpath -ldflags "-s -w" -o bin/rotor ./cmd/rotor

# The real Vault v1.21.0 the integration tests and benchmarks run against.
# First build: 5-10 minutes on 2 cores; Go's build cache makes later ones fast.
vault: $(VAULT_BIN)
$(VAULT_BIN): test/vault/main.go test/vault/go.mod test/vault/go.sum
	@echo "building Vault v1.21.0 for the tests (first time: 5-10 minutes)..."
	cd test/vault && go build -o bin/vault .

# Vault Agent 1.21's own verdict on a config (test/vault/agentcheck): the
# config package's differential test compares rotor's loader against it on
# Vault's agent config fixtures. Reuses the Vault build cache.
agentcheck: $(AGENTCHECK_BIN) $(AGENTDUMP_BIN)
$(AGENTCHECK_BIN): test/vault/agentcheck/main.go test/vault/go.mod test/vault/go.sum
	cd test/vault && go build -o bin/agentcheck ./agentcheck
# What Vault Agent's loader decodes (sinks, templates), as JSON: the loader
# tests compare rotor's decoded values with it.
$(AGENTDUMP_BIN): test/vault/agentdump/main.go test/vault/go.mod test/vault/go.sum
	cd test/vault && go build -o bin/agentdump ./agentdump

# Vault Agent 1.21's own auth method code, run once on a config: the login
# request it would send (test/vault/authcheck). The auth package's
# differential tests compare rotor's cloud methods against it on the same
# fakes (test/harness/cloudfake).
authcheck: $(AUTHCHECK_BIN)
$(AUTHCHECK_BIN): $(wildcard test/vault/authcheck/*.go) test/vault/go.mod test/vault/go.sum
	cd test/vault && go build -o bin/authcheck ./authcheck

# A real Kubernetes control plane, kube-apiserver v1.37.2 and etcd v3.7.3
# (test/kube, a nested module): the injector's webhook is registered with it
# and pods are admitted through it (test/injectorkube). First build: 13
# CPU-minutes, 2.9 GB peak memory (15.5 minutes on 2 cores shared with other
# builds); later ones reuse Go's build cache (seconds).
kube: $(KUBE_APISERVER_BIN) $(ETCD_BIN)
$(KUBE_APISERVER_BIN) $(ETCD_BIN) &: test/kube/build.sh test/kube/go.mod test/kube/go.sum
	@echo "building kube-apiserver and etcd for the tests (first time: 8-15 minutes)..."
	cd test/kube && ./build.sh

# The lint gate (make test runs it): gofmt, go vet, staticcheck and
# deadcode over rotor and the nested test/monitoring module (test/vault
# is Vault's own code). staticcheck checks the Linux and the Windows
# build (-matrix), so platform-only code is checked too and an identifier
# used on one platform only is not "unused". deadcode -test reports
# functions that neither a main package nor a test reaches. The tools
# are pinned in test/tools/go.mod and built into test/tools/bin.
TOOLS_BIN := test/tools/bin
STATICCHECK := $(TOOLS_BIN)/staticcheck
DEADCODE := $(TOOLS_BIN)/deadcode
LINT_MATRIX := linux: GOOS=linux\nwindows: GOOS=windows\n

$(STATICCHECK): test/tools/go.mod test/tools/go.sum
	cd test/tools && go build -o bin/staticcheck honnef.co/go/tools/cmd/staticcheck
$(DEADCODE): test/tools/go.mod test/tools/go.sum
	cd test/tools && go build -o bin/deadcode golang.org/x/tools/cmd/deadcode

lint: $(STATICCHECK) $(DEADCODE)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...
	cd test/monitoring && go vet ./...
	printf '$(LINT_MATRIX)' | $(STATICCHECK) -matrix ./...
	cd test/monitoring && ../../$(STATICCHECK) ./...
	@for m in . test/monitoring; do \
		echo "deadcode -test ./... (in $$m)"; \
		dead=$$(cd $$m && $(CURDIR)/$(DEADCODE) -test ./...) || exit 1; \
		test -z "$$dead" || { echo "unreachable functions:"; echo "$$dead"; exit 1; }; \
	done

# What the tests need besides Go (test/setup.sh's header lists the Debian
# packages and which test needs each). Installed when this user can (root
# or sudo -n); otherwise it stops with the command to run. test/setup.sh --dry-run shows what it does.
.PHONY: deps
deps:
	@./test/setup.sh

# Unit and integration tests against a real Vault, PostgreSQL, nginx and
# kube-apiserver; integration tests fail instead of skipping here. test/monitoring is a
# nested module (Prometheus' parsers stay out of rotor's go.mod).
test: deps vault agentcheck authcheck kube lint cross test-portable release-check
	ROTOR_REQUIRE_INTEGRATION=1 ROTOR_VAULT_BIN=$(CURDIR)/$(VAULT_BIN) ROTOR_AGENTCHECK_BIN=$(CURDIR)/$(AGENTCHECK_BIN) ROTOR_AUTHCHECK_BIN=$(CURDIR)/$(AUTHCHECK_BIN) ROTOR_KUBE_APISERVER_BIN=$(CURDIR)/$(KUBE_APISERVER_BIN) ROTOR_ETCD_BIN=$(CURDIR)/$(ETCD_BIN) go test $(GO_TEST_FLAGS) ./...
	cd test/monitoring && ROTOR_REQUIRE_INTEGRATION=1 ROTOR_VAULT_BIN=$(CURDIR)/$(VAULT_BIN) go test $(GO_TEST_FLAGS) ./...

# Only the chaos suite (test/chaos): rotor against a Vault that is stopped,
# sealed, slow, failing or failing over, with revocations, broken reload
# commands and filesystems, SIGKILLs and bad configs; `make test` runs it
# too. -v prints each scenario's result line. Long variants (60s outage,
# 1,000 kills): ROTOR_CHAOS_LONG=1 make chaos.
chaos: vault
	ROTOR_REQUIRE_INTEGRATION=1 ROTOR_VAULT_BIN=$(CURDIR)/$(VAULT_BIN) go test $(GO_TEST_FLAGS) -v ./test/chaos/

# Benchmarks side by side with Vault Agent (never part of make test).
bench: vault
	./bench/run.sh
	./bench/run.sh proxy

# 200 rotors and a fleet of Vault Agents on one Vault (about 25 minutes).
fleet: vault
	ROTOR_VAULT_BIN=$(CURDIR)/$(VAULT_BIN) ./bench/fleet/run.sh

demo:
	./examples/demo/run.sh

clean:
	rm -rf bin test/vault/bin test/kube/bin $(TOOLS_BIN)

# ---- Platforms and releases (docs/platforms.md) ----
# Every platform rotor ships for. Linux/amd64 runs the tests; the others
# are built and vetted (tests included) so a change that breaks one fails
# make test. -trimpath matches make release and the Dockerfile, so all
# three share the build cache.
PLATFORMS := linux/amd64 linux/arm64 linux/arm darwin/amd64 darwin/arm64 windows/amd64
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
DIST ?= dist

.PHONY: cross test-portable release release-check

cross:
	@set -e; for p in $(PLATFORMS); do \
		echo "cross: $$p"; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} go build -trimpath -o /dev/null ./cmd/rotor; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} go vet -trimpath ./...; \
	done

# The file writer's portable path (temporary file + rename, as on macOS
# and Windows), tested on Linux by turning off O_TMPFILE.
test-portable:
	go test $(GO_TEST_FLAGS) -tags rotor_portable ./internal/atomicfile/

# Archives for every platform, SHA256SUMS and a CycloneDX SBOM in $(DIST).
release:
	rm -rf $(DIST)
	go run ./tools/release -version $(VERSION) -out $(DIST) $(PLATFORMS)

# Builds a release into a temporary directory and checks it (slow: six
# builds and the SBOM generator).
release-check:
	ROTOR_RELEASE_CHECK=1 go test -count=1 -timeout 20m -run TestRelease ./tools/release/
