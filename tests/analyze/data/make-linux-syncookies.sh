#!/bin/sh
# Makes three captures of a Linux listener with net.ipv4.tcp_syncookies=2 (a cookie for every SYN) in a
# network namespace of its own and a kernel client in another, joined by a veth pair (MTU 1500), three
# handshakes each:
#   linux-syncookies-nots.pcap       client tcp_timestamps=0
#   linux-syncookies-ts.pcap         client timestamps on, server tcp_timestamps=2 (no per-connection TSval
#                                    offset, so the cookie's option bits show in the TSval)
#   linux-syncookies-ts-offset.pcap  client timestamps on, server tcp_timestamps=1 (the default: a secret
#                                    TSval offset hides those bits)
# Needs root, ip, tcpdump, python3. Everything lives in the two namespaces this script creates
# (198.51.100.0/24, RFC 5737); nothing is added to the namespace it runs in. Bounded: every wait has a
# timeout, and the namespaces and processes it started are removed by PID on exit.
set -eu
OUT=${1:-$(dirname "$0")}
SRV=synack-ck-srv-$$
CLI=synack-ck-cli-$$
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  ip netns del "$SRV" 2>/dev/null || true
  ip netns del "$CLI" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ip netns add "$SRV"
ip netns add "$CLI"
ip link add ck0 netns "$SRV" type veth peer name ck1 netns "$CLI"
ip -n "$SRV" addr add 198.51.100.1/24 dev ck0
ip -n "$CLI" addr add 198.51.100.2/24 dev ck1
ip -n "$SRV" link set ck0 up
ip -n "$CLI" link set ck1 up
ip -n "$SRV" link set lo up
ip -n "$CLI" link set lo up
# The sysctls are per namespace: these touch only the two just created.
ip netns exec "$SRV" sysctl -q -w net.ipv4.tcp_syncookies=2
ip netns exec "$SRV" sysctl net.ipv4.tcp_syncookies
ip netns exec "$SRV" timeout 60 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.1", 8080)); s.listen(16); s.settimeout(50)
for _ in range(9):
    c, _ = s.accept(); c.recv(16); c.close()
' &
PIDS="$PIDS $!"
sleep 0.5
for name in nots ts ts-offset; do
  case $name in
    nots) cts=0 sts=1 ;;
    ts) cts=1 sts=2 ;;
    ts-offset) cts=1 sts=1 ;;
  esac
  ip netns exec "$CLI" sysctl -q -w net.ipv4.tcp_timestamps=$cts
  ip netns exec "$SRV" sysctl -q -w net.ipv4.tcp_timestamps=$sts
  ip netns exec "$SRV" timeout 20 tcpdump -q -n -i ck0 -w "$OUT/linux-syncookies-$name.pcap" -c 30 \
    'tcp port 8080' 2>/dev/null &
  TD=$!
  PIDS="$PIDS $TD"
  sleep 1
  ip netns exec "$CLI" timeout 10 python3 -c '
import socket, time
for i in range(3):
    c = socket.create_connection(("198.51.100.1", 8080), timeout=3)
    c.send(b"hello"); time.sleep(0.05); c.close(); time.sleep(0.1)
'
  sleep 1
  kill -INT "$TD" 2>/dev/null || true
  wait "$TD" 2>/dev/null || true
done
ip netns exec "$SRV" nstat -az TcpExtSyncookiesSent TcpExtSyncookiesRecv TcpExtSyncookiesFailed
