# Sourced by the other scripts: MODULES lists every Go module of the
# repository as a directory relative to its root, the library first. Each
# nested module (interop and browser tests, the benchmark harness, the load
# client, the peer servers) has a go.mod of its own, so that the library's
# go.mod requires only what the library runs on.
# shellcheck shell=bash
mapfile -t MODULES < <(cd "$(dirname "${BASH_SOURCE[0]}")/.." &&
	find . -name go.mod -not -path '*/testdata/*' -not -path './bin/*' -printf '%h\n' | sort)
