#!/usr/bin/env bash
# The kernel as tun_echo's client: in a network namespace of its own (unshare -n, which disappears with the
# processes in it, so nothing is left to clean up), tun_echo creates a TUN device and gives the kernel's
# side 192.0.2.1/24; python3 then connects to 192.0.2.2:7 through the kernel's TCP and checks the echo.
# Exit 77 (skipped) without root. Bounded: tun_echo stops after one connection or 20 s, the client's socket
# times out after 10 s, and the whole run is under `timeout`.
#   tun_echo.sh TUN_ECHO_BINARY
set -euo pipefail
binary=${1:?usage: tun_echo.sh TUN_ECHO_BINARY}
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root (a TUN device and a network namespace)"
  exit 77
fi
if [[ ${2:-} != --inside ]]; then
  # Everything below runs in a new, empty network namespace (never the host's).
  exec timeout 50 unshare -n bash "$0" "$binary" --inside
fi

ip link set lo up
out=$(mktemp "${TMPDIR:-/tmp}/tun_echo.XXXXXX")
trap 'rm -f "$out"; [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null || true' EXIT
"$binary" --tun synack-echo0 --connections 1 --seconds 20 >"$out" 2>&1 &
pid=$!
for _ in $(seq 100); do  # up to 10 s for the device, its address and the listener
  grep -q "listening on" "$out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "listening on" "$out" || { cat "$out"; echo "FAIL: tun_echo did not start"; exit 1; }

python3 - <<'PY'
import socket
message = b"hello through the kernel " * 200  # 5000 bytes: several segments each way
with socket.create_connection(("192.0.2.2", 7), timeout=10) as s:
    s.sendall(message)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
assert got == message, f"echoed {len(got)} bytes, expected {len(message)}"
print(f"kernel client: {len(got)} bytes echoed")
PY
status=0
wait "$pid" || status=$?
pid=
cat "$out"
[[ $status -eq 0 ]] || { echo "FAIL: tun_echo exited with $status"; exit 1; }
grep -q "connection closed" "$out" || { echo "FAIL: tun_echo did not see the connection close"; exit 1; }
echo "OK"
