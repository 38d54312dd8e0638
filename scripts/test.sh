#!/usr/bin/env bash
# Runs every test of the module, on a fresh Debian machine too: installs what
# the tests need, checks formatting and go vet, runs all tests with the race
# detector (the browser test is required here, not skipped), the peer
# servers' tests, the benchmark harness at small size (scripts/bench.sh
# --quick), then every native fuzz target for a short while. CI (.ci/run)
# runs exactly this.
#
#   scripts/test.sh                 # everything
#   FUZZTIME=30s scripts/test.sh    # fuzz longer
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime=${FUZZTIME:-10s}
started=$SECONDS

section() { printf '\n==> %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# as_root runs a command as root, through sudo when we are not root.
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	else
		sudo "$@"
	fi
}

section "Tools"
command -v go >/dev/null || fail "go not found: install Go 1.26 or newer (https://go.dev/doc/install)"
go version
if [[ ! -x /usr/bin/chromium ]]; then
	echo "installing chromium (for the browser test)"
	as_root apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
/usr/bin/chromium --version 2>/dev/null || true
# -race needs cgo, and cgo needs a C compiler.
if ! command -v gcc >/dev/null; then
	echo "installing gcc (for go test -race)"
	as_root apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y gcc libc6-dev
fi

section "go mod download"
go mod download

section "gofmt"
unformatted=$(find . -name '*.go' -not -path './vendor/*' -not -path '*/testdata/*' -print0 | xargs -0 gofmt -l)
if [[ -n $unformatted ]]; then
	printf '%s\n' "$unformatted"
	fail "files above are not gofmt-ed (run: gofmt -w FILE)"
fi
echo "ok"

section "go vet"
go vet ./...
echo "ok"

section "go test -race"
WSHUB_REQUIRE_BROWSER=1 CGO_ENABLED=1 go test -race -count=1 -timeout 10m ./...

section "bench/peers (peer servers, a module of their own)"
(cd bench/peers && go vet ./... && CGO_ENABLED=1 go test -race -count=1 -timeout 5m ./...)

section "benchmark harness: scripts/bench.sh --quick (every scenario x every server, nothing lost)"
scripts/bench.sh --quick

section "fuzz (${fuzztime} per target)"
# Every func FuzzXxx(f *testing.F) in the module's packages, found afresh
# each run so that new targets are fuzzed without editing this script.
fuzzed=0
while read -r pkg dir; do
	for target in $({ grep -hoE '^func Fuzz[A-Za-z0-9_]*\(' "$dir"/*_test.go 2>/dev/null || true; } |
		sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(/\1/' | sort -u); do
		echo "--- $pkg $target"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
		fuzzed=$((fuzzed + 1))
	done
done < <(go list -f '{{.ImportPath}} {{.Dir}}' ./...)
echo "fuzzed $fuzzed targets"

section "All tests passed in $((SECONDS - started)) s"
