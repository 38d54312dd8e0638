#!/usr/bin/env bash
# Lints the module: gofmt, go vet and staticcheck at a pinned version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

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

section "go vet"
go vet ./...
echo "ok"

section "staticcheck (${staticcheck#*@})"
go run "$staticcheck" ./...
echo "ok"
