#!/usr/bin/env bash
# Runs every test of every module, on a fresh Debian machine too: installs
# what the tests need, runs scripts/lint.sh (gofmt, go vet, staticcheck),
# runs all tests of each module with the race detector (the library; the
# interop and browser tests in internal/e2e, where the browser test is
# required, not skipped; the cluster tests, which embed nats-server in the
# test process as a Go test dependency; the command; the benchmark harness;
# the load client; the peer servers), the benchmark harness at small size
# (scripts/bench.sh --quick, whose cluster scenarios install a nats-server
# binary with go install, scripts/nats.sh),
# then every native fuzz target for a short while. CI (.ci/run) runs
# exactly this.
#
#   scripts/test.sh                 # everything
#   FUZZTIME=30s scripts/test.sh    # fuzz longer
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/modules.sh
source scripts/modules.sh

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
for m in "${MODULES[@]}"; do
	(cd "$m" && go mod download)
done

scripts/lint.sh

for m in "${MODULES[@]}"; do
	section "go test -race: $m"
	(cd "$m" && WSHUB_REQUIRE_BROWSER=1 CGO_ENABLED=1 go test -race -count=1 -timeout 10m ./...)
done

section "benchmark harness: scripts/bench.sh --quick (every scenario x every server, nothing lost)"
scripts/bench.sh --quick

# Fuzzing runs on Go 1.27.3, which the go command fetches from the module
# proxy (about 76 MB, once): Go 1.26's fuzz coordinator can report a bare
# "context deadline exceeded" failure when -fuzztime ends while a worker is
# mid-input on a busy machine (go.dev/issue/75804, fixed in 1.27). The
# module still says go 1.26; everything else runs on the machine's Go.
fuzz_toolchain=go1.27.3
section "fuzz (${fuzztime} per target, $fuzz_toolchain)"
# Every func FuzzXxx(f *testing.F) in every module's packages, found afresh
# each run so that new targets are fuzzed without editing this script.
fuzzed=0
for m in "${MODULES[@]}"; do
	while read -r pkg dir; do
		for target in $({ grep -hoE '^func Fuzz[A-Za-z0-9_]*\(' "$dir"/*_test.go 2>/dev/null || true; } |
			sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(/\1/' | sort -u); do
			echo "--- $pkg $target"
			(cd "$m" && GOTOOLCHAIN=$fuzz_toolchain go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg")
			fuzzed=$((fuzzed + 1))
		done
	done < <(cd "$m" && go list -f '{{.ImportPath}} {{.Dir}}' ./...)
done
echo "fuzzed $fuzzed targets"

section "All tests passed in $((SECONDS - started)) s"
