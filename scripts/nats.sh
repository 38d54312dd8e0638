# Sourced by scripts/cluster.sh and scripts/bench.sh: nats_server_bin
# prints the path of a nats-server binary, installing it first when it is
# not there: from the Go module proxy (go install, into bin/), the same
# version the cluster tests embed. Nothing is assumed of the machine but Go.
# shellcheck shell=bash

NATS_SERVER_VERSION=v2.15.2

nats_server_bin() {
	local root bin
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	bin=$root/bin/nats-server
	if [[ -x $bin ]] && "$bin" --version 2>/dev/null | grep -q "${NATS_SERVER_VERSION#v}"; then
		echo "$bin"
		return
	fi
	echo "installing nats-server $NATS_SERVER_VERSION (go install, from the module proxy)" >&2
	mkdir -p "$root/bin"
	GOBIN=$root/bin go install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION" >&2 || return 1
	echo "$bin"
}

# port_open HOST:PORT says whether something listens there.
port_open() {
	(exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null
}

# wait_port HOST:PORT [SECONDS [PID]] waits until something listens there;
# with PID, it fails as soon as that process is gone.
wait_port() {
	local hp=$1 secs=${2:-10} pid=${3:-} i
	for ((i = 0; i < secs * 20; i++)); do
		if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		if port_open "$hp"; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}
