#!/usr/bin/env bash
# Handshake rate of `synack listen --discard` over TUN against the Linux kernel's own server over a veth
# pair, in one run, with the same kernel client (bench/tun/handshake_load.c: INFLIGHT non-blocking
# connects, each connection closed at once with RST); then a churn check: CHURN connections closed with
# RST and CHURN with FIN against the same synack, which must all complete and leave no live connection,
# with synack's RSS back within 10 % of where it started.
#
# Everything runs in network namespaces this script creates (ip netns add, unique names, deleted by the
# trap) with documentation addresses only: 192.0.2.0/24 on the TUN device, 198.51.100.0/24 on the veth
# pair. Sysctls are set only inside those namespaces. Processes are killed by PID. Every load is bounded
# in time (--seconds per rate measurement, 60 s per churn run) and in count.
#
# usage: bench/tun/handshake_rate.sh [--synack PATH] [--seconds S] [--inflight N] [--churn N] [--no-rate]
#                                    [--buffers BYTES]
#   --buffers is passed to synack listen (send and receive buffer per connection; default the engine's).
#   --churn 0 skips the churn check; --no-rate skips the rate measurement (the CTest uses
#   "--churn 5000 --no-rate"). Needs root (ip netns) and a C compiler; exits 77 (skipped) without them.
# Exit: 0 done (and the churn check passed), 1 a check failed, 2 bad arguments, 77 skipped.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SYNACK=${SYNACK:-$HERE/../../build/synack}
MEASURE_SECONDS=5
INFLIGHT=32
CHURN=100000
RATE=1
LISTEN_ARGS=()
while (($#)); do
  case $1 in
    --synack) SYNACK=$2; shift 2 ;;
    --seconds) MEASURE_SECONDS=$2; shift 2 ;;
    --inflight) INFLIGHT=$2; shift 2 ;;
    --churn) CHURN=$2; shift 2 ;;
    --no-rate) RATE=0; shift ;;
    --buffers) LISTEN_ARGS+=(--buffers "$2"); shift 2 ;;
    *) echo "usage: $0 [--synack PATH] [--seconds S] [--inflight N] [--churn N] [--no-rate] [--buffers BYTES]" >&2; exit 2 ;;
  esac
done
if [[ $EUID -ne 0 ]] || ! command -v ip >/dev/null; then echo "skipped: needs root and iproute2 (ip netns)"; exit 77; fi
CC=${CC:-cc}
if ! command -v "$CC" >/dev/null; then echo "skipped: no C compiler ($CC)"; exit 77; fi
[[ -x $SYNACK ]] || { echo "no synack executable at $SYNACK (--synack PATH)" >&2; exit 2; }

TAG="synack-bench-$$"
NS_TUN=$TAG-tun
NS_CLI=$TAG-cli
NS_SRV=$TAG-srv
TMP=$(mktemp -d "${TMPDIR:-/tmp}/synack-bench.XXXXXX")
PIDS=()
SYN_PID=""

cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "$NS_TUN" "$NS_CLI" "$NS_SRV"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$CC" -O2 -o "$TMP/load" "$HERE/handshake_load.c" || { echo "cannot compile handshake_load.c" >&2; exit 1; }

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
new_ns() {
  ip netns add "$1" || { echo "skipped: cannot create a network namespace"; exit 77; }
  ip -n "$1" link set lo up
}
# The client's namespace: a wide ephemeral range and TIME-WAIT reuse, so FIN churn does not run out of ports.
client_sysctls() {
  in_ns "$1" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sys_ticks() { awk '{ print $15 }' "/proc/$1/stat"; }
now_ns() { date +%s%N; }
field() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" <<<"$2"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }

# ---- synack listen in its own namespace (its kernel is the client) ----------------------------------------
new_ns "$NS_TUN"
client_sysctls "$NS_TUN"
# Started directly (not through a shell function) so that $! is synack itself: ip netns exec execs it.
ip netns exec "$NS_TUN" "$SYNACK" listen --discard --quiet --json-stream --port 80 --addr 192.0.2.2 \
  --kernel-addr 192.0.2.1/24 "${LISTEN_ARGS[@]}" >"$TMP/synack.out" 2>"$TMP/synack.err" &
SYN_PID=$!
PIDS+=("$SYN_PID")
for _ in $(seq 100); do grep -q '"listening"' "$TMP/synack.out" 2>/dev/null && break; sleep 0.1; done
if ! grep -q '"listening"' "$TMP/synack.out"; then
  echo "synack listen did not start: $(cat "$TMP/synack.err")" >&2
  exit 1
fi
if [[ $(cat "/proc/$SYN_PID/comm") != synack ]]; then echo "pid $SYN_PID is not synack" >&2; exit 1; fi
RSS_START=$(rss_kb "$SYN_PID")

# run_client NS ADDR COUNT SECONDS rst|fin: prints the client's line
run_client() { in_ns "$1" "$TMP/load" client "$2" 80 "$INFLIGHT" "$4" "$3" "$5"; }

FAILED=0
if ((RATE)); then
  # ---- (a) synack over TUN ----------------------------------------------------------------------------
  T0=$(now_ns); C0=$(cpu_ticks "$SYN_PID"); S0=$(sys_ticks "$SYN_PID")
  A=$(run_client "$NS_TUN" 192.0.2.2 100000000 "$MEASURE_SECONDS" rst)
  T1=$(now_ns); C1=$(cpu_ticks "$SYN_PID"); S1=$(sys_ticks "$SYN_PID")
  RSS_AFTER_RATE=$(rss_kb "$SYN_PID")
  pct() { awk -v c="$1" -v hz="$(getconf CLK_TCK)" -v ns=$((T1 - T0)) 'BEGIN { printf "%.0f", 100 * c / hz / (ns / 1e9) }'; }
  SYN_CPU="$(pct $((C1 - C0))) % (system $(pct $((S1 - S0))) %: syscalls, page faults and the kernel's own TCP work done in them)"

  # ---- (b) the kernel's own server over veth, same client -------------------------------------------------
  new_ns "$NS_CLI"
  new_ns "$NS_SRV"
  client_sysctls "$NS_CLI"
  ip -n "$NS_CLI" link add veth0 type veth peer name veth1 netns "$NS_SRV"
  ip -n "$NS_CLI" addr add 198.51.100.1/24 dev veth0
  ip -n "$NS_SRV" addr add 198.51.100.2/24 dev veth1
  ip -n "$NS_CLI" link set veth0 up
  ip -n "$NS_SRV" link set veth1 up
  ip netns exec "$NS_SRV" "$TMP/load" server 198.51.100.2 80 $((MEASURE_SECONDS + 10)) >"$TMP/server.out" &
  PIDS+=("$!")
  for _ in $(seq 100); do [[ -n $(in_ns "$NS_SRV" ss -Htln 'sport = :80') ]] && break; sleep 0.1; done
  B=$(run_client "$NS_CLI" 198.51.100.2 100000000 "$MEASURE_SECONDS" rst)

  RA=$(field rate "$A"); RB=$(field rate "$B")
  echo "inflight $INFLIGHT, RST close, $MEASURE_SECONDS s each, one run; synack listen ${LISTEN_ARGS[*]:-(default buffers)}"
  echo "  synack listen --discard (TUN):   $RA handshakes/s  [$A]"
  echo "  kernel server (veth):            $RB handshakes/s  [$B]"
  awk -v a="$RA" -v b="$RB" 'BEGIN { printf "  ratio synack/kernel:             %.2f\n", (b > 0 ? a / b : 0) }'
  echo "  synack CPU during its run:       $SYN_CPU"
  echo "  synack RSS: start $(mb "$RSS_START"), after the rate run $(mb "$RSS_AFTER_RATE")"
fi

# ---- churn: CHURN closed with RST, CHURN with FIN ----------------------------------------------------------
EXPECTED=0
if ((CHURN > 0)); then
  for how in rst fin; do
    OUT=$(run_client "$NS_TUN" 192.0.2.2 "$CHURN" 60 "$how")
    N=$(field handshakes "$OUT")
    echo "  churn $how: $OUT"
    if [[ $N != "$CHURN" ]]; then echo "  FAIL: $N of $CHURN $how connections completed"; FAILED=1; fi
  done
fi
sleep 2  # the last FINs' ACKs, and synack's once-a-second trim of freed memory
RSS_END=$(rss_kb "$SYN_PID")
kill -TERM "$SYN_PID"
for _ in $(seq 100); do kill -0 "$SYN_PID" 2>/dev/null || break; sleep 0.1; done
SUMMARY=$(grep '"summary"' "$TMP/synack.out")
LIVE=$(sed -n 's/.*"live_connections":\([0-9]*\).*/\1/p' <<<"$SUMMARY")
HANDSHAKES=$(sed -n 's/.*"handshakes":\([0-9]*\).*/\1/p' <<<"$SUMMARY")
PEAK=$(sed -n 's/.*"peak_connections":\([0-9]*\).*/\1/p' <<<"$SUMMARY")
echo "  synack: $HANDSHAKES handshakes, peak $PEAK live, $LIVE live at exit; RSS start $(mb "$RSS_START"), end $(mb "$RSS_END")"
if [[ $LIVE != 0 ]]; then echo "  FAIL: $LIVE connections still live in synack"; FAILED=1; fi
if ((CHURN > 0)) && ((RSS_END * 10 > RSS_START * 11)); then
  echo "  FAIL: RSS grew by more than 10 % ($(mb "$RSS_START") -> $(mb "$RSS_END"))"
  FAILED=1
fi
exit "$FAILED"
