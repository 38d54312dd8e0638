#!/usr/bin/env bash
# Lints every module: gofmt, go vet and staticcheck at a pinned version.
# scripts/test.sh runs it first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/modules.sh
source scripts/modules.sh

staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2

section() { printf '\n==> %s\n' "$*"; }

section "gofmt"
unformatted=$(find . -name '*.go' -not -path './vendor/*' -not -path '*/testdata/*' -print0 | xargs -0 gofmt -l)
if [[ -n $unformatted ]]; then
	printf '%s\n' "$unformatted"
	echo "FAIL: files above are not gofmt-ed (run: gofmt -w FILE)" >&2
	exit 1
fi
echo "ok"

for m in "${MODULES[@]}"; do
	section "go vet, staticcheck (${staticcheck#*@}): $m"
	(cd "$m" && go vet ./... && go run "$staticcheck" ./...)
done
echo "ok"

# gnet runs on darwin and the BSDs too: the library and the server must
# build there (the tests run on Linux only).
for goos in darwin freebsd; do
	section "GOOS=$goos go build ./..."
	GOOS=$goos go build -o /dev/null ./...
done
echo "ok"
