#!/usr/bin/python3
"""`synack analyze -i veth0 -w FILE` while kernel connections run through veth0.

Run by live_capture_test.cpp inside a network namespace it created (unshare), never in the root one:
  namespace A (this process): veth0 198.51.100.1/24, a route for 203.0.113.0/24 via the peer
  namespace B (`unshare -n`, a server process): veth1 198.51.100.2/24, a listener on port 8080,
    nothing on 8081 (the kernel refuses it), and no forwarding, so SYNs to 203.0.113.0/24 vanish.
Every loop is bounded by count and by time. Writes into DIR: live.out / live.err (synack analyze -i),
file.out (synack analyze on the -w file), expected.json ([4-tuple, outcome] per connection), and returns non-zero when
a step fails. Usage: live_capture.py SYNACK DIR ESTABLISHED REFUSED UNANSWERED
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

SYNACK, DIR = sys.argv[1], sys.argv[2]
N_EST, N_REF, N_UNANSWERED = (int(v) for v in sys.argv[3:6])
SERVER = "198.51.100.2"
NOWHERE = "203.0.113.9"

SERVER_PY = r"""
import socket, threading, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 8080)); srv.listen(1024)
print("ready", flush=True)
def serve(c):
    try:
        c.settimeout(10); d = c.recv(64)
        if d: c.sendall(d)
    except OSError: pass
    finally: c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True, timeout=20)


def fresh_namespace():
    """True only in a network namespace nobody configured: its one interface is lo (the caller made it with
    unshare). Anywhere else (the root namespace, a host's) this script must not add addresses or routes."""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=10).stdout
    names = [l.split(":")[1].strip().split("@")[0] for l in links.splitlines() if l.count(":") >= 2]
    return names == ["lo"]


def main():
    if not fresh_namespace():
        print("refusing: not a fresh private network namespace (run it through live_capture_test)",
              file=sys.stderr)
        return 77
    sh("ip link set lo up")
    server = subprocess.Popen(["unshare", "-n", sys.executable, "-c", SERVER_PY], stdout=subprocess.PIPE, text=True)
    procs = [server]
    try:
        if server.stdout.readline().strip() != "ready":
            return 3
        pid = server.pid
        sh(f"ip link add veth0 type veth peer name veth1 netns {pid}")
        sh(f"nsenter -t {pid} -n sh -c 'ip link set lo up; ip addr add {SERVER}/24 dev veth1; ip link set veth1 up'")
        sh("ip addr add 198.51.100.1/24 dev veth0 && ip link set veth0 up")
        sh(f"ip route add 203.0.113.0/24 via {SERVER}")
        # Wait (bounded) for the link to carry traffic: one connection before the capture starts.
        for _ in range(100):
            try:
                socket.create_connection((SERVER, 8080), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            return 4
        time.sleep(0.3)
        live_out = open(os.path.join(DIR, "live.out"), "w")
        live_err = open(os.path.join(DIR, "live.err"), "w")
        pcap = os.path.join(DIR, "live.pcap")
        analyzer = subprocess.Popen([SYNACK, "analyze", "-i", "veth0", "-w", pcap, "--json-stream", "--interval", "1",
                                     "tcp"], stdout=live_out, stderr=live_err)
        procs.append(analyzer)
        for _ in range(200):
            if "capturing on veth0" in open(os.path.join(DIR, "live.err")).read():
                break
            if analyzer.poll() is not None:
                return 5
            time.sleep(0.05)
        else:
            return 6
        if os.environ.get("SYNACK_LIVE_TCPDUMP"):
            procs.append(subprocess.Popen(["tcpdump", "-i", "veth0", "-n", "-U", "--immediate-mode", "-w",
                                           os.path.join(DIR, "tcpdump.pcap")], stderr=subprocess.DEVNULL))
            time.sleep(1)
        expected = run_load()
        # The unanswered ones give up 3 s after their SYN (TCP_SYNCNT 1: SYN, one retry 1 s later, 2 s wait);
        # wait a little longer, then ask for the report.
        time.sleep(1.5)
        analyzer.send_signal(signal.SIGINT)
        rc = analyzer.wait(timeout=30)
        live_out.close()
        live_err.close()
        with open(os.path.join(DIR, "live.rc"), "w") as f:
            f.write(str(rc))
        with open(os.path.join(DIR, "file.out"), "w") as f:
            subprocess.run([SYNACK, "analyze", pcap, "--json-stream"], stdout=f, timeout=60, check=False)
        with open(os.path.join(DIR, "expected.json"), "w") as f:
            json.dump(expected, f)
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def run_load():
    expected = []
    refused = []
    lock = threading.Lock()

    def record(sock, outcome, server):
        port = sock.getsockname()[1]
        with lock:
            # A 4-tuple may serve two connections one after the other (a port freed and chosen again).
            expected.append([f"198.51.100.1:{port} {server}", outcome])

    # The unanswered ones first (they take 3 s to give up), in the background, non-blocking.
    waiting = []
    started = time.time()
    for _ in range(N_UNANSWERED):
        s = socket.socket()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)
        s.setblocking(False)
        s.connect_ex((NOWHERE, 80))
        record(s, "timed_out", f"{NOWHERE}:80")
        waiting.append(s)

    kinds = ["established"] * N_EST + ["refused"] * N_REF
    # Interleave them, deterministically.
    kinds = [kinds[(i * 7919) % len(kinds)] for i in range(len(kinds))]

    def worker(items):
        for kind in items:
            s = socket.socket()
            s.bind(("198.51.100.1", 0))  # a failed connect() gives back an automatically bound port
            s.settimeout(10)
            if kind == "established":
                record(s, "established", f"{SERVER}:8080")
                s.connect((SERVER, 8080))
                s.sendall(b"hello")
                s.recv(64)
                s.close()
            else:
                record(s, "refused", f"{SERVER}:8081")
                try:
                    s.connect((SERVER, 8081))
                    raise SystemExit("connected to a closed port")
                except ConnectionRefusedError:
                    pass
                with lock:
                    refused.append(s)  # kept bound to its port: no two refused connections share a 4-tuple

    threads = [threading.Thread(target=worker, args=(kinds[i::16],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # Each gives up on its own about 3 s after its SYN; closing one earlier would stop its retransmission.
    time.sleep(max(0.0, started + 4.0 - time.time()))
    for s in waiting + refused:
        s.close()
    return expected


if __name__ == "__main__":
    sys.exit(main())
