#!/usr/bin/env bash
# scripts/bench.sh: load-test wshub against its peers with cmd/wsbench.
#
#   scripts/bench.sh                  # full run, < 15 minutes
#   scripts/bench.sh --quick          # every scenario × server at small N, < 1 minute
#   scripts/bench.sh --servers wshub --scenarios broadcast-burst
#   scripts/bench.sh --servers wshub,wshub-before   # A/B against another build
#   scripts/bench.sh --servers hook-none,hook-sync,hook-deferred --scenarios connect
#                                     # the upgrade hook's cost (bench/hooksrv)
#   scripts/bench.sh --servers wshub,gorilla,gws --scenarios broadcast-burst-json,broadcast-burst-z,idle-z,inflate
#                                     # what permessage-deflate costs
#   scripts/bench.sh --pin            # full run, and make it the snapshot
#   scripts/bench.sh --scenarios cluster-broadcast,cluster-rooms,cluster-57k
#                                     # wshub in cluster mode (NATS)
#
# Compression (RFC 7692): broadcast-burst-json is broadcast-burst with ~1 KiB
# JSON-like text messages (wsbench -payload json), uncompressed: the baseline
# of broadcast-burst-z, the same with permessage-deflate negotiated (wsbench
# -compression); idle-z is idle with it negotiated; inflate has every client
# send compressed 64 KiB JSON messages to /sink (server CPU per MB inflated,
# peak RSS and heap). The report sets each -z table beside its baseline. A
# server runs these with compression on (wshub -compression=true, a peer
# -compression) and every other scenario with it off (wshub
# -compression=false); a server whose -h lists no -compression flag (nbio,
# gobwas, raw, hooksrv, older wshub builds) is skipped for them, and said so.
#
# Cluster (issue 10): a nats-server (scripts/nats.sh installs it in bin/ on
# first use) on a free loopback port with monitoring, and N wshub nodes
# (-nats, -node, -node-id 1..N), all pinned to the server CPU, each with
# GOMAXPROCS=1; wsbench spreads the connections over the nodes (-addr
# A,B,…). Each scenario runs the same load on N nodes and on one node (also
# with -nats) at equal total connections, side by side: cluster-broadcast is
# broadcast-burst and broadcast-steady on 2 nodes against 1 (receivers on
# every node, the publisher on the first); cluster-rooms is 1,000 rooms of
# 6 members, each sending 0.5 msgs/s, spread over 3 nodes against 1
# (target: p99 within 2x of one node); cluster-57k is a burst to one room
# of 57,000 connections on 3 nodes of 19,000 each, from 3 wsbench
# processes and 3 source addresses (not in --quick). Every
# cluster run also fails unless the nodes handed NATS one message per
# published message and got one per other node with members in the room
# (never one per recipient); the report prints those figures per message,
# with the nats-server's in_msgs and out_msgs, and compares N nodes with 1.
# Only wshub builds with -nats run them.
#
# Builds bin/wshub, bin/wsbench and bin/peer-NAME for each peer in
# bench/peers (a peer that does not build is skipped with a warning). A
# server named wshub-NAME is the binary bin/wshub-NAME, built by you (e.g.
# from another commit) to compare builds side by side. Then, for each
# scenario and each server, one server at a time: starts the server pinned
# to CPU 0 with GOMAXPROCS=1 on 127.0.0.1:0, runs wsbench pinned to CPU 1
# against it, stops it with SIGTERM. Every run appends one JSON line.
#
# Full run: results in bin/bench/results-DATE.jsonl, Markdown tables in
# bin/bench/latest.md (also printed), chart in bin/bench/latest.svg, all
# outside the tracked tree. --pin also copies the three into bench/results/
# (replacing the snapshot there, which the README cites). --quick: only
# checks that every run completes with nothing lost; results stay in a
# temporary directory and the tables are printed.
#
# Exit status: non-zero if any run lost a message, failed a connection or
# did not complete.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin
PEERS=(gorilla gws nbio gobwas raw)
SCENARIOS=(idle broadcast-burst broadcast-steady echo rooms connect broadcast-burst-json broadcast-burst-z idle-z inflate
	cluster-broadcast cluster-rooms cluster-57k)
SERVER_CPU=0
CLIENT_CPU=1
START_TIMEOUT=15 # seconds for a server to print its address
STOP_TIMEOUT=15  # seconds for a server to exit after SIGTERM

# shellcheck source=scripts/nats.sh
source "$ROOT/scripts/nats.sh"

log() { printf 'bench.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit "${1:-0}"
}

# server_bin NAME prints the server's executable.
server_bin() {
	case $1 in
	wshub | wshub-*) echo "$BIN/$1" ;;
	hook-*) echo "$BIN/hooksrv" ;;
	*) echo "$BIN/peer-$1" ;;
	esac
}

# has_flag BINARY FLAG: the binary's -h lists FLAG itself (not a longer
# flag that starts with it). The help is read whole first: grep -q ending
# the pipe early would SIGPIPE the binary and fail the pipeline (pipefail).
has_flag() {
	local help
	help=$("$1" -h 2>&1) || true
	grep -Eq -- "^[[:space:]]*$2([[:space:]]|$)" <<<"$help"
}

# compressed SCENARIO: the scenario negotiates permessage-deflate.
compressed() {
	[[ $1 == *-z || $1 == inflate ]]
}

# server_cmd NAME ADDR prints the command line of a server, with
# compression on when COMPRESS is 1 (peers and hooksrv: off unless asked).
server_cmd() {
	local extra=""
	case $1 in
	wshub | wshub-*)
		# Builds before -stats served /stats unasked.
		has_flag "$BIN/$1" -stats && extra+=" -stats"
		# Builds since -compression negotiate it unless told not to.
		if has_flag "$BIN/$1" -compression; then
			if ((${COMPRESS:-0})); then extra+=" -compression=true"; else extra+=" -compression=false"; fi
		fi
		echo "$BIN/$1 -addr $2 -loops 1 -log-level nothing$extra"
		;;
	hook-*) echo "$BIN/hooksrv -addr $2 -loops 1 -hook ${1#hook-}" ;;
	*)
		((${COMPRESS:-0})) && extra=" -compression"
		echo "$BIN/peer-$1 -addr $2$extra"
		;;
	esac
}

# alive PID: the process exists and is not a zombie.
alive() {
	[[ -r /proc/$1/stat ]] && ! grep -q '^[0-9]* (.*) Z ' "/proc/$1/stat" 2>/dev/null
}

# launch NAME ADDR LOG PIDFILE starts a server pinned to SERVER_CPU,
# detached from this shell (so that a restart from another process can stop
# it), and writes its PID.
launch() {
	local cmd
	cmd=$(server_cmd "$1" "$2")
	# shellcheck disable=SC2086 # cmd is split into words on purpose
	(GOMAXPROCS=1 taskset -c "$SERVER_CPU" $cmd </dev/null >/dev/null 2>"$3" &
		echo $! >"$4")
}

# listen_addr NAME LOG prints the address the server announced, if any.
listen_addr() {
	case $1 in
	wshub | wshub-*) sed -n 's|^wshub: chat demo at http://\(.*\)/$|\1|p' "$2" | head -1 ;;
	*) sed -n 's|^listening on \(.*\)$|\1|p' "$2" | head -1 ;;
	esac
}

# await NAME LOG PID waits for the server's address line and prints it.
await() {
	local addr i
	for ((i = 0; i < START_TIMEOUT * 20; i++)); do
		addr=$(listen_addr "$1" "$2")
		if [[ -n $addr ]]; then
			echo "$addr"
			return 0
		fi
		alive "$3" || break
		sleep 0.05
	done
	log "$1 did not start: $(tail -3 "$2" 2>/dev/null)"
	return 1
}

# stop PID sends SIGTERM and waits for the process to go (SIGKILL after
# STOP_TIMEOUT).
stop() {
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for ((i = 0; i < STOP_TIMEOUT * 20; i++)); do
		alive "$1" || return 0
		sleep 0.05
	done
	log "PID $1 ignored SIGTERM for ${STOP_TIMEOUT}s; killing it"
	kill -KILL "$1" 2>/dev/null || true
}

# restart NAME ADDR LOG PIDFILE is the connect scenario's restart command
# (run by wsbench through this script): stop the server, start it again on
# the same address, wait until it listens, print the new PID. A bind that
# fails with "address already in use" is retried for a while, as a
# supervisor would: a client redialling while nothing listens can connect
# a loopback socket to itself on that very port for a moment.
restart() {
	local name=$1 addr=$2 logf=$3 pidfile=$4 pid i
	stop "$(cat "$pidfile")"
	for ((i = 0; i < 50; i++)); do
		: >"$logf"
		launch "$name" "$addr" "$logf" "$pidfile"
		pid=$(cat "$pidfile")
		if await "$name" "$logf" "$pid" >/dev/null 2>&1; then
			echo "$pid"
			return 0
		fi
		grep -q "address already in use" "$logf" || break
		sleep 0.05
	done
	log "$name did not restart on $addr: $(tail -3 "$logf" 2>/dev/null)"
	return 1
}

# scenario_args NAME prints wsbench's flags for a scenario, full or quick.
scenario_args() {
	if ((QUICK)); then
		case $1 in
		idle) echo "-scenario idle -idle-at 100,200 -settle 300ms" ;;
		broadcast-burst) echo "-scenario broadcast -mode burst -conns 200 -msgs 20 -size 64" ;;
		broadcast-steady) echo "-scenario broadcast -mode steady -conns 200 -msgs 10 -rate 10 -size 64" ;;
		echo) echo "-scenario echo -conns 20 -duration 1s -size 64" ;;
		rooms) echo "-scenario rooms -rooms 10 -members 10 -rate 4 -duration 1s -size 64" ;;
		connect) echo "-scenario connect -conns 200 -dial-rate 5000" ;;
		broadcast-burst-json) echo "-scenario broadcast -mode burst -conns 200 -msgs 20 -size 1024 -payload json" ;;
		broadcast-burst-z) echo "-scenario broadcast -mode burst -conns 200 -msgs 20 -size 1024 -payload json -compression" ;;
		idle-z) echo "-scenario idle -idle-at 100,200 -settle 300ms -compression" ;;
		inflate) echo "-scenario inflate -conns 50 -msgs 4 -size 65536 -payload json -compression" ;;
		esac
		echo "-drain 5s"
		return
	fi
	case $1 in
	idle) echo "-scenario idle -idle-at 4000,16000 -settle 2s" ;;
	# The slowest peer needs ~15 s for the burst's 1M deliveries: wait 30 s
	# before counting anything as lost.
	broadcast-burst) echo "-scenario broadcast -mode burst -conns 5000 -msgs 200 -size 64 -drain 30s" ;;
	broadcast-steady) echo "-scenario broadcast -mode steady -conns 5000 -msgs 200 -rate 10 -size 64" ;;
	echo) echo "-scenario echo -conns 200 -duration 10s -size 64" ;;
	rooms) echo "-scenario rooms -rooms 100 -members 20 -rate 1 -duration 20s -size 64" ;;
	connect) echo "-scenario connect -conns 5000 -dial-rate 10000" ;;
	# The same burst, 1 KiB of JSON-like text per message: uncompressed (the
	# baseline), then compressed.
	broadcast-burst-json) echo "-scenario broadcast -mode burst -conns 5000 -msgs 200 -size 1024 -payload json -drain 30s" ;;
	broadcast-burst-z) echo "-scenario broadcast -mode burst -conns 5000 -msgs 200 -size 1024 -payload json -compression -drain 30s" ;;
	idle-z) echo "-scenario idle -idle-at 4000,16000 -settle 2s -compression" ;;
	# 1,000 clients × 20 compressed messages of 64 KiB (1.3 GB inflated).
	inflate) echo "-scenario inflate -conns 1000 -msgs 20 -size 65536 -payload json -compression -drain 60s" ;;
	esac
}

build() {
	log "building wshub and wsbench"
	(cd "$ROOT/cmd/wshub" && go build -o "$BIN/wshub" .) || die "wshub does not build"
	(cd "$ROOT/cmd/wsbench" && go build -o "$BIN/wsbench" .) || die "wsbench does not build"
	(cd "$ROOT/bench" && go build -o "$BIN/hooksrv" ./hooksrv) || die "hooksrv does not build"
	BUILT=()
	local p
	for p in "${PEERS[@]}"; do
		if (cd "$ROOT/bench/peers" && go build -o "$BIN/peer-$p" "./$p") 2>"$WORK/build-$p.log"; then
			BUILT+=("$p")
		else
			log "WARNING: peer $p does not build; skipping it: $(head -3 "$WORK/build-$p.log" | tr '\n' ' ')"
		fi
	done
}

# run_one SCENARIO SERVER: one server, one wsbench run. Returns non-zero on
# failure. A compressed scenario skips a server without -compression.
run_one() {
	local scenario=$1 name=$2 slog=$WORK/$2.log pidfile=$WORK/$2.pid pid addr rc=0 extra=() limit=300
	COMPRESS=0
	if compressed "$scenario"; then
		if ! has_flag "$(server_bin "$name")" -compression; then
			log "$scenario / $name: skipped: no -compression flag (no permessage-deflate)"
			SKIPPED+=("$scenario/$name")
			return 0
		fi
		COMPRESS=1
	fi
	: >"$slog"
	launch "$name" 127.0.0.1:0 "$slog" "$pidfile"
	pid=$(cat "$pidfile")
	if ! addr=$(await "$name" "$slog" "$pid"); then
		stop "$pid"
		return 1
	fi
	if [[ $scenario == connect ]]; then
		extra=(-restart-cmd "COMPRESS=$COMPRESS bash '$ROOT/scripts/bench.sh' __restart '$name' '$addr' '$slog' '$pidfile'")
	fi
	((QUICK)) && limit=60
	# shellcheck disable=SC2046 # scenario_args is split into flags on purpose
	timeout --kill-after=10 "$limit" taskset -c "$CLIENT_CPU" "$BIN/wsbench" $(scenario_args "$scenario") \
		-addr "$addr" -label "$name" -server-pid "$pid" -stats-url "http://$addr/stats" \
		-out "$OUT" "${extra[@]}" 2>"$WORK/run.log" || rc=$?
	if ((QUICK && rc == 0)); then
		log "$scenario / $name: ok"
	else
		cat "$WORK/run.log" >&2
	fi
	((rc == 124)) && log "$scenario / $name: wsbench timed out after ${limit}s"
	stop "$(cat "$pidfile")"
	return "$rc"
}

# cluster_args RUN prints wsbench's flags for one cluster run, full or
# quick: cluster-broadcast-burst, cluster-broadcast-steady, cluster-rooms,
# cluster-57k.
cluster_args() {
	if ((QUICK)); then
		case $1 in
		cluster-broadcast-burst) echo "-scenario broadcast -mode burst -conns 400 -msgs 20 -size 64" ;;
		cluster-broadcast-steady) echo "-scenario broadcast -mode steady -conns 400 -msgs 10 -rate 20 -size 64" ;;
		cluster-rooms) echo "-scenario rooms -rooms 40 -members 6 -rate 4 -duration 1s -size 64" ;;
		esac
		echo "-drain 5s"
		return
	fi
	case $1 in
	cluster-broadcast-burst) echo "-scenario broadcast -mode burst -conns 5000 -msgs 200 -size 64 -drain 30s" ;;
	cluster-broadcast-steady) echo "-scenario broadcast -mode steady -conns 5000 -msgs 200 -rate 10 -size 64" ;;
	# 3,000 messages/s in: a node on one loop at 6,000/s is saturated
	# (p99 near a second, alone as well), which says nothing of the cluster.
	cluster-rooms) echo "-scenario rooms -rooms 1000 -members 6 -rate 0.5 -duration 20s -size 64" ;;
	# 57,000 in one room on 3 nodes of 19,000; 3 wsbench processes of
	# 19,000 (each ~6,333 per node); ~10 s of dialling at 6,000/s, from 3
	# source addresses: past the ~28k ephemeral ports of one, connect(2)
	# crawls (75 s instead of 12 s).
	cluster-57k) echo "-scenario broadcast -mode burst -conns 57000 -msgs 20 -size 64 -procs 3 -dial-rate 6000 -sources 127.0.0.1-127.0.0.3 -drain 60s -name cluster-57k" ;;
	esac
}

# Processes of the cluster being run (nats-server and nodes), stopped by
# cluster_stop, also when the script exits early.
CLUSTER_PIDS=()

# cluster_start NAME N starts a nats-server on a free loopback port (with
# monitoring) and N nodes of server NAME on 127.0.0.1:0, all pinned to
# SERVER_CPU, and sets NATS_PID, NATS_VARZ, NODE_ADDRS, NODE_PIDS and
# NODE_STATS (comma-separated, for wsbench).
cluster_start() {
	local name=$1 n=$2 nlog=$WORK/nats.log i pid addr nats_port mon_port url cmd
	NODE_ADDRS="" NODE_PIDS="" NODE_STATS=""
	: >"$nlog"
	(GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$NATS_BIN" -a 127.0.0.1 -p -1 -m -1 </dev/null >/dev/null 2>"$nlog" &
		echo $! >"$WORK/nats.pid")
	NATS_PID=$(cat "$WORK/nats.pid")
	CLUSTER_PIDS+=("$NATS_PID")
	for ((i = 0; i < START_TIMEOUT * 20; i++)); do
		nats_port=$(sed -n 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$nlog" | head -1)
		mon_port=$(sed -n 's/.*Starting http monitor on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$nlog" | head -1)
		[[ -n $nats_port && -n $mon_port ]] && break
		alive "$NATS_PID" || break
		sleep 0.05
	done
	if [[ -z $nats_port || -z $mon_port ]] || ! wait_port "127.0.0.1:$nats_port" "$START_TIMEOUT"; then
		log "nats-server did not start: $(tail -3 "$nlog")"
		return 1
	fi
	NATS_VARZ=http://127.0.0.1:$mon_port/varz
	url=nats://127.0.0.1:$nats_port
	for ((i = 1; i <= n; i++)); do
		: >"$WORK/node$i.log"
		cmd="$(COMPRESS=0 server_cmd "$name" 127.0.0.1:0) -nats $url -node bench-$i -node-id $i"
		# shellcheck disable=SC2086 # cmd is split into words on purpose
		(GOMAXPROCS=1 taskset -c "$SERVER_CPU" $cmd </dev/null >/dev/null 2>"$WORK/node$i.log" &
			echo $! >"$WORK/node$i.pid")
		pid=$(cat "$WORK/node$i.pid")
		CLUSTER_PIDS+=("$pid")
		addr=$(await "$name" "$WORK/node$i.log" "$pid") || return 1
		NODE_ADDRS+=${NODE_ADDRS:+,}$addr
		NODE_PIDS+=${NODE_PIDS:+,}$pid
		NODE_STATS+=${NODE_STATS:+,}http://$addr/stats
	done
}

# cluster_stop stops the nodes, then the nats-server: every process that
# cluster_start started.
cluster_stop() {
	local i
	for ((i = ${#CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do
		stop "${CLUSTER_PIDS[i]}"
	done
	CLUSTER_PIDS=()
}

# cluster_run NAME N RUN: one cluster of N nodes of server NAME, one
# wsbench run of cluster_args RUN against it. Returns non-zero on failure.
cluster_run() {
	local name=$1 n=$2 run=$3 rc=0 limit=300
	((QUICK)) && limit=60
	if ! cluster_start "$name" "$n"; then
		cluster_stop
		return 1
	fi
	# shellcheck disable=SC2046 # cluster_args is split into flags on purpose
	timeout --kill-after=10 "$limit" taskset -c "$CLIENT_CPU" "$BIN/wsbench" $(cluster_args "$run") -cluster \
		-addr "$NODE_ADDRS" -label "$name" -server-pid "$NODE_PIDS" -stats-url "$NODE_STATS" \
		-nats-varz "$NATS_VARZ" -nats-pid "$NATS_PID" -out "$OUT" 2>"$WORK/run.log" || rc=$?
	if ((QUICK && rc == 0)); then
		log "$run / $name on $n node(s): ok"
	else
		cat "$WORK/run.log" >&2
	fi
	((rc == 124)) && log "$run / $name on $n node(s): wsbench timed out after ${limit}s"
	cluster_stop
	return "$rc"
}

# run_cluster SCENARIO SERVER: a cluster scenario's runs, side by side: 1
# node, then N. A server without -nats is skipped.
run_cluster() {
	local scenario=$1 name=$2 failed=0 run
	case $name in
	wshub | wshub-*) ;;
	*) return 0 ;; # peers have no cluster mode
	esac
	if ! has_flag "$(server_bin "$name")" -nats; then
		log "$scenario / $name: skipped: no -nats flag (no cluster mode)"
		SKIPPED+=("$scenario/$name")
		return 0
	fi
	if [[ -z ${NATS_BIN:-} ]]; then
		NATS_BIN=$(nats_server_bin) || die "nats-server does not install"
	fi
	case $scenario in
	cluster-broadcast)
		for run in cluster-broadcast-burst cluster-broadcast-steady; do
			cluster_run "$name" 1 "$run" || failed=1
			cluster_run "$name" 2 "$run" || failed=1
		done
		;;
	cluster-rooms)
		cluster_run "$name" 1 cluster-rooms || failed=1
		cluster_run "$name" 3 cluster-rooms || failed=1
		;;
	cluster-57k)
		if ((QUICK)); then
			log "$scenario: not in --quick"
			return 0
		fi
		cluster_run "$name" 3 cluster-57k || failed=1
		;;
	*) die "unknown cluster scenario $scenario" ;;
	esac
	return "$failed"
}

main() {
	QUICK=0 PIN=0
	local only_scenarios="" only_servers=""
	while (($#)); do
		case $1 in
		--quick) QUICK=1 ;;
		--pin) PIN=1 ;;
		--scenarios) only_scenarios=${2:?}; shift ;;
		--servers) only_servers=${2:?}; shift ;;
		-h | --help) usage ;;
		*) log "unknown argument $1"; usage 2 ;;
		esac
		shift
	done
	command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux)"
	if (($(nproc) < 2)); then
		log "WARNING: fewer than 2 CPUs: server and client share CPU 0"
		CLIENT_CPU=0
	fi
	WORK=$(mktemp -d)
	trap 'cluster_stop; rm -rf "$WORK"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local outdir=$BIN/bench
	mkdir -p "$BIN" "$outdir"
	build
	local servers=(wshub "${BUILT[@]}") scenarios=("${SCENARIOS[@]}")
	[[ -n $only_servers ]] && IFS=, read -ra servers <<<"$only_servers"
	[[ -n $only_scenarios ]] && IFS=, read -ra scenarios <<<"$only_scenarios"
	local stamp
	stamp=$(date -u +%Y%m%d-%H%M%S)
	if ((QUICK)); then
		OUT=$WORK/results-$stamp-quick.jsonl
	else
		OUT=$outdir/results-$stamp.jsonl
	fi
	log "servers: ${servers[*]}; scenarios: ${scenarios[*]}; results: $OUT"
	local failed=() s n start=$SECONDS
	SKIPPED=()
	for s in "${scenarios[@]}"; do
		for n in "${servers[@]}"; do
			if [[ $s == cluster-* ]]; then
				run_cluster "$s" "$n" || failed+=("$s/$n")
			else
				run_one "$s" "$n" || failed+=("$s/$n")
			fi
		done
	done
	log "runs took $((SECONDS - start)) s"
	if [[ -s $OUT ]]; then
		if ((QUICK)); then
			"$BIN/wsbench" report -in "$OUT" -out "$WORK/latest.md"
		else
			"$BIN/wsbench" report -in "$OUT" -out "$outdir/latest.md"
			"$BIN/wsbench" chart -in "$OUT" -out "$outdir/latest.svg"
			log "wrote $outdir/latest.md, $outdir/latest.svg and $OUT"
			if ((PIN)); then
				rm -f "$ROOT"/bench/results/results-*.jsonl
				cp "$outdir/latest.md" "$outdir/latest.svg" "$OUT" "$ROOT/bench/results/"
				log "pinned this run as the snapshot in bench/results/"
			fi
		fi
	fi
	((${#SKIPPED[@]})) && log "skipped (the server has no compression): ${SKIPPED[*]}"
	if ((${#failed[@]})); then
		log "FAILED: ${failed[*]}"
		exit 1
	fi
	log "all runs completed with nothing lost"
}

if [[ ${1:-} == __restart ]]; then
	shift
	restart "$@"
else
	main "$@"
fi
