#!/usr/bin/env python3
"""Connections/s and throughput through `synack forward` against the kernel-only path, in the same run.

The topology of tests/cli/forward_e2e.py (namespaces C, U, S, created here and deleted after): the same
kernel client runs once in C (its connections go into synack's TUN device, synack relays them from U to S)
and once in U (straight over the veth to S: the kernel-only path). For each path:
  - connections/s: bench/tun/handshake_load.c (compiled here with cc) keeps K non-blocking connects in
    flight to its own kernel server in S and closes each with FIN once established, N connections or 20 s;
  - throughput: one connection reads 200 MB from S's source as fast as it can (IPv4), then IPv6.
Root only (exit 77 otherwise). Usage: forward_bench.py --synack PATH [--connections N] [--inflight K] [--json F]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "cli"))
import forward_topology as F  # noqa: E402

THROUGHPUT = r'''
import json, socket, sys, time
ADDR, PORT = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((ADDR, PORT), 10)
n = 0; t = time.monotonic()
while True:
    d = s.recv(1 << 20)
    if not d: break
    n += len(d)
secs = time.monotonic() - t
print(json.dumps({"bytes": n, "seconds": secs, "mb_per_second": n / secs / 1e6}))
'''


def run(ns, code, *args, timeout=300):
    r = ns.run(["/usr/bin/python3", "-c", code, *map(str, args)], timeout=timeout)
    if r.returncode != 0:
        raise SystemExit(f"client failed in {ns.name}: {r.stderr[-1000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--synack", required=True)
    ap.add_argument("--connections", type=int, default=20000)
    ap.add_argument("--inflight", type=int, default=32)
    ap.add_argument("--json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (ip netns)")
        return 77
    F.SYNACK = os.path.abspath(a.synack)
    tmp = tempfile.mkdtemp(prefix="synack-fwd-bench-")
    load = os.path.join(tmp, "load")
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run(["cc", "-O2", "-o", load, os.path.join(here, "handshake_load.c")], check=True)
    os.chmod(tmp, 0o755)
    t = F.Topology(("--quiet",))
    for port in ("7300", "7301"):
        t.s.spawn([load, "server", F.SERVER4, port, "600"])
    time.sleep(0.5)
    results = {}
    try:
        # Separate server ports: the TIME-WAIT sockets one path leaves in U must not slow the other's connects.
        for path, ns, port in (("kernel only (veth)", t.u, 7301), ("synack forward (TUN)", t.c, 7300)):
            r = ns.run([load, "client", F.SERVER4, str(port), str(a.inflight), "20", str(a.connections), "fin"],
                       timeout=60)
            words = r.stdout.split()
            rate = {"ok": int(words[1]), "errors": int(words[3]), "seconds": float(words[5]),
                    "per_second": float(words[7])}
            v4 = run(ns, THROUGHPUT, F.SERVER4, F.SOURCE_PORT)
            v6 = run(ns, THROUGHPUT, F.SERVER6, F.SOURCE_PORT)
            results[path] = {"connections": rate, "throughput_v4": v4, "throughput_v6": v6}
            print(f"{path}: {rate['per_second']:.0f} connections/s ({rate['ok']} of {a.connections}), "
                  f"{v4['mb_per_second']:.0f} MB/s IPv4, {v6['mb_per_second']:.0f} MB/s IPv6", flush=True)
        results["summary"] = t.stop()[-1]
    finally:
        t.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
