#!/usr/bin/env bash
# Runs a wshub cluster on this machine: a NATS server and N wshub nodes
# (default 3) with the chat demo, each its own process, on 127.0.0.1.
# Open two nodes' pages in two browser tabs and chat across them. Ctrl-C
# stops everything.
#
#   scripts/cluster.sh              # NATS on :4222, nodes on :8081-8083
#   scripts/cluster.sh 5            # five nodes, :8081-8085
#   PORT=9000 NATS_PORT=5222 scripts/cluster.sh 2
#   scripts/cluster.sh 3 -log-level verbose   # the rest goes to every node
#
# nats-server is installed on first use (scripts/nats.sh: go install from
# the module proxy, into bin/); wshub is built into bin/ from this tree.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/nats.sh
source scripts/nats.sh

nodes=3
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
	nodes=$1
	shift
fi
((nodes >= 1 && nodes <= 100)) || {
	echo "cluster.sh: 1 to 100 nodes, not $nodes" >&2
	exit 2
}
port=${PORT:-8081}
nats_port=${NATS_PORT:-4222}
host=127.0.0.1

nats=$(nats_server_bin)
echo "building wshub"
(cd cmd/wshub && go build -o ../../bin/wshub .)

# Every process is started in a session of its own (setsid), so that
# Ctrl-C reaches this script alone and stop() decides the order: the nodes
# first (they close their clients with 1001, and their leave events and
# goodbyes reach the others through NATS), then NATS.
pids=()
stop() {
	trap - INT TERM HUP EXIT
	set +e # the terminal may be gone (HUP): nothing here may stop the stopping
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null
		wait "${pids[i]}" 2>/dev/null
	done
	echo 2>/dev/null
	echo "stopped" 2>/dev/null
}
trap 'stop; exit 0' INT TERM HUP
trap stop EXIT

for hp in "$host:$nats_port" $(for ((i = 0; i < nodes; i++)); do echo "$host:$((port + i))"; done); do
	if port_open "$hp"; then
		echo "cluster.sh: $hp is in use (set NATS_PORT or PORT)" >&2
		exit 1
	fi
done

setsid "$nats" -a "$host" -p "$nats_port" >/dev/null 2>&1 &
pids+=($!)
wait_port "$host:$nats_port" 10 "${pids[0]}" || {
	echo "cluster.sh: nats-server did not start on $host:$nats_port" >&2
	exit 1
}
echo "nats-server $NATS_SERVER_VERSION on nats://$host:$nats_port"

for ((i = 1; i <= nodes; i++)); do
	p=$((port + i - 1))
	# Each node's log lines start with its name.
	# The log filter ignores Ctrl-C, so that it outlives the node: a node
	# writing its last lines to a filter that is gone would die of SIGPIPE.
	setsid bin/wshub -addr "$host:$p" -nats "nats://$host:$nats_port" -node "node$i" -node-id "$i" -stats "$@" \
		2> >(trap '' INT HUP; exec sed -u "s/^/node$i: /" >&2) &
	pids+=($!)
	if ! wait_port "$host:$p" 10 "${pids[-1]}"; then
		echo "cluster.sh: node $i did not start on $host:$p (its log says why)" >&2
		exit 1
	fi
done

echo
echo "$nodes nodes, one cluster: the chat demo on each"
for ((i = 1; i <= nodes; i++)); do
	echo "  node$i  http://$host:$((port + i - 1))/   (stats: /stats)"
done
echo "Ctrl-C stops them all."
# Run until Ctrl-C, or until a process dies.
wait -n "${pids[@]}" || true
echo "cluster.sh: a process exited; stopping the rest" >&2
exit 1
