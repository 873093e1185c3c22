#!/bin/sh
# Makes synack-tun-syncookies.pcap: `synack listen --syn-cookies always` over TUN in a network namespace
# this script creates, with a kernel client in the same namespace: three handshakes with the client's
# timestamps on, then three with tcp_timestamps=0 (the namespace's own sysctl). synack's --pcap taps the
# device. Needs root and python3; SYNACK is the synack binary (default: ../../../build/synack from here).
# Nothing is added outside the namespace; every wait is bounded; the namespace and the listener are
# removed by PID on exit.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE}
SYNACK=${SYNACK:-$HERE/../../../build/synack}
NS=synack-ck-tun-$$
LPID=""
cleanup() {
  [ -n "$LPID" ] && kill "$LPID" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" timeout 60 "$SYNACK" listen --port 8080 --discard --syn-cookies always --quiet \
  --pcap "$OUT/synack-tun-syncookies.pcap" > /dev/null &
LPID=$!
i=0
until ip -n "$NS" addr show synack0 2>/dev/null | grep -q 192.0.2.1; do
  i=$((i + 1)); [ $i -gt 50 ] && { echo "synack listen did not come up" >&2; exit 1; }
  sleep 0.1
done
for ts in 1 0; do
  ip netns exec "$NS" sysctl -q -w net.ipv4.tcp_timestamps=$ts
  ip netns exec "$NS" timeout 10 python3 -c '
import socket, time
for i in range(3):
    c = socket.create_connection(("192.0.2.2", 8080), timeout=3)
    c.send(b"hello"); time.sleep(0.05); c.close(); time.sleep(0.1)
'
done
sleep 0.5
kill -INT "$LPID"
wait "$LPID" || true
LPID=""
