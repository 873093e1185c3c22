#!/usr/bin/env python3
"""End-to-end tests of `synack forward` (issue 13's acceptance list, docs/forward.md).

Topology, three network namespaces the test creates (`ip netns add synack-fwd-PID-N-{c,u,s}`), deleted after;
every process started is killed by its PID:

  client ns C                     upstream ns U                       server ns S
  kernel client --route--> synack0 == synack forward --upstream-netns U: sockets in U
                 192.0.2.1/24                        fwd0 203.0.113.1/24  <-veth->  srv0 203.0.113.10/24
                 2001:db8::1/64                           2001:db8:2::1/64          2001:db8:2::10/64
  routes into synack0: 203.0.113.0/24, 2001:db8:2::/64     blackhole 203.0.113.99 (a "filtered" address)

Servers in S are the kernel's: python3 -m http.server, socat, and small Python socket servers. Needs root;
otherwise every test is skipped (exit 77).

Usage: forward_e2e.py --synack PATH [unittest arguments, e.g. ForwardE2E.test_curl]
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import forward_topology as T
import tun_e2e
from forward_topology import (CLOSE_FIRST_PORT, ECHO_PORTS, FILTERED4, FILTERED6, HALF_PORT, HTTP_PORT, MB,
                              PY_HELPERS, RSS_GROWTH_BOUND_KB, RST_PORT, SERVER4, SERVER6, SLOW_PORT, SOCAT_PORT,
                              SOURCE_PORT, Topology, expert_problems)


pattern_sha = tun_e2e.sha256_of_pattern  # the SHA-256 of the first `size` bytes of the helpers' pattern


def check_closed_filtered_capture(pcap):
    fields = subprocess.run(["tshark", "-r", pcap, "-Y", f"tcp.port == 9 || ip.addr == {FILTERED4}",
                             "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "tcp.flags.syn",
                             "-e", "tcp.flags.ack", "-e", "tcp.flags.reset"],
                            capture_output=True, text=True, timeout=60).stdout.splitlines()
    rows = [l.split("\t") for l in fields if l]
    problems = []
    to9 = [r for r in rows if FILTERED4 not in (r[0], r[1])]
    if [r for r in to9 if r[2] == "1" and r[3] == "1"]:
        problems.append(f"a SYN-ACK from the closed port: {to9}")
    if not [r for r in to9 if r[0] == SERVER4 and r[4] == "1"]:
        problems.append(f"no RST from the closed port: {to9}")
    filtered = [r for r in rows if FILTERED4 in (r[0], r[1])]
    if len(filtered) < 2 or not all(r[1] == FILTERED4 and r[2] == "1" and r[3] == "0" for r in filtered):
        problems.append(f"the filtered address: not only the client's SYNs: {filtered}")
    return problems


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip"), "needs root and iproute2 (ip netns)")
class ForwardE2E(unittest.TestCase):
    """One topology for the transfer, semantics and scan tests; its capture is judged by tshark at the end."""

    pcap_checks = []

    @classmethod
    def setUpClass(cls):
        cls.http_dir = tempfile.mkdtemp(prefix="synack-fwd-http-")
        with open(os.path.join(cls.http_dir, "f"), "wb") as f:
            f.write(os.urandom(20 * MB))
        with open(os.path.join(cls.http_dir, "f"), "rb") as f:
            cls.http_sha = hashlib.sha256(f.read()).hexdigest()
        cls.t = Topology(http_dir=cls.http_dir)

    @classmethod
    def tearDownClass(cls):
        events = cls.t.stop()
        try:
            summary = events[-1]
            print(f"\n  forward summary: offers {summary['offers']}, relays {summary['relays']}", file=sys.stderr)
            # Every tshark warning on synack's frames fails but these: resets are this suite's own doing
            # (scan, RST test); the 20 MB transfers fill windows exactly at times, and synack's window closes
            # (Zero Window) whenever an upstream socket does not take more yet: the back-pressure itself. A burst
            # of synack's segments can overflow the kernel's per-CPU input backlog behind the TUN device; the
            # segment re-sent at once is a "(suspected) out-of-order segment" to tshark (seen in CI).
            cls.problems = expert_problems(cls.t.pcap, allow=("Connection reset", "window specified by the "
                                                              "receiver is now completely full", "Zero Window",
                                                              "ZeroWindow", "out-of-order segment"))
            for check in cls.pcap_checks:
                cls.problems += check(cls.t.pcap)
        finally:
            cls.t.close()
            shutil.rmtree(cls.http_dir, ignore_errors=True)
        if cls.problems:
            raise AssertionError(f"capture problems (tshark expert warnings on synack's frames, ...): {cls.problems[:10]}")

    def test_a_privileges_dropped(self):
        st = self.t.status()
        self.assertNotEqual(st["Uid"].split()[0], "0", st["Uid"])
        self.assertEqual(int(st["CapEff"], 16), 0)
        self.assertEqual(int(st["CapPrm"], 16), 0)
        self.assertEqual(st["NoNewPrivs"].strip(), "1")
        self.assertEqual(st["Seccomp"].strip(), "2")

    def test_curl_20mb_ipv4_ipv6(self):
        for url in (f"http://{SERVER4}:{HTTP_PORT}/f", f"http://[{SERVER6}]:{HTTP_PORT}/f"):
            r = subprocess.run(self.t.c.cmd(["sh", "-c", f"curl -sS --max-time 120 {url} | sha256sum"]),
                               capture_output=True, text=True, timeout=150)
            self.assertEqual(r.stdout.split()[0] if r.stdout else "", self.http_sha, f"{url}: {r.stderr}")

    def test_socat_echo_20mb_each_way(self):
        size = 20 * MB
        for addr in (SERVER4, SERVER6):
            got = self.t.c.py(f"""
import json
s = socket.create_connection(("{addr}", {SOCAT_PORT}), 10)
s.settimeout(120)
out, back, n = pump(s, {size})
print(json.dumps({{"out": out, "back": back, "n": n}}))
""", timeout=180)
            self.assertEqual(got["n"], size)
            self.assertEqual(got["back"], got["out"])
            self.assertEqual(got["out"], pattern_sha(size))

    def test_500_concurrent_connections_100kb(self):
        got = self.t.c.py(f"""
import asyncio, json
DATA = b"".join(chunks(100 * 1024))
async def one(i):
    port = {list(ECHO_PORTS)}[i % 3]
    addr = "{SERVER4}" if i % 2 == 0 else "{SERVER6}"
    r, w = await asyncio.wait_for(asyncio.open_connection(addr, port), 60)
    w.write(DATA); await w.drain(); w.write_eof()
    back = await asyncio.wait_for(r.read(-1), 120)
    w.close()
    return back == DATA
async def main():
    return await asyncio.gather(*[one(i) for i in range(500)], return_exceptions=True)
res = asyncio.run(main())
print(json.dumps({{"ok": sum(1 for r in res if r is True), "errors": [repr(r) for r in res if r is not True][:5]}}))
""", timeout=240)
        self.assertEqual(got["ok"], 500, got["errors"])

    def test_open_closed_filtered(self):
        got = self.t.c.py(f"""
import errno, json
res = {{}}
a = time.monotonic()
s = socket.create_connection(("{SERVER4}", {ECHO_PORTS[0]}), 5); s.close()
res["open"] = "connected"
a = time.monotonic()
try:
    socket.create_connection(("{SERVER4}", 9), 5); res["closed"] = "connected"
except ConnectionRefusedError:
    res["closed"] = "ECONNREFUSED"; res["closed_ms"] = (time.monotonic() - a) * 1000
try:
    socket.create_connection(("{FILTERED4}", 80), 3.5); res["filtered"] = "connected"
except socket.timeout:
    res["filtered"] = "timeout"
except OSError as e:
    res["filtered"] = errno.errorcode.get(e.errno, str(e))
print(json.dumps(res))
""")
        print(f"\n  closed port refused after {got.get('closed_ms', -1):.2f} ms", file=sys.stderr)
        self.assertEqual(got["open"], "connected")
        self.assertEqual(got["closed"], "ECONNREFUSED")
        self.assertEqual(got["filtered"], "timeout")
        # The capture (complete once synack exits: tearDownClass): for port 9 no SYN-ACK, one RST; for the
        # filtered address only the client's SYNs.
        ForwardE2E.pcap_checks.append(check_closed_filtered_capture)
        offers = [json.loads(l) for l in self.t.reader.drain() if '"offer"' in l]
        drops = [o for o in offers if o["destination"].startswith(FILTERED4) and o["verdict"] == "drop"]
        self.assertGreaterEqual(len(drops), 2, offers[-5:])  # every retransmitted SYN is a new offer

    def test_syn_scan_20_ports_3_open(self):
        got = self.t.c.py(f"""
import json, logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, TCP, sr, conf
conf.verb = 0
ans, unans = sr(IP(dst="{SERVER4}") / TCP(sport=40000, dport=(7000, 7019), flags="S"), timeout=4, retry=1)
print(json.dumps({{"synack": sorted(r[TCP].sport for s, r in ans if str(r[TCP].flags) == "SA"),
                  "rst": sorted(r[TCP].sport for s, r in ans if "R" in str(r[TCP].flags))}}))
""", timeout=60)
        self.assertEqual(got["synack"], sorted(ECHO_PORTS))
        self.assertEqual(len(got["rst"]), 17, got)

    def test_half_close_client_first(self):
        got = self.t.c.py(f"""
import json
s = socket.create_connection(("{SERVER4}", {HALF_PORT}), 10); s.settimeout(30)
s.sendall(b"hello"); s.shutdown(socket.SHUT_WR)
data = b""
while True:
    d = s.recv(65536)
    if not d: break
    data += d
print(json.dumps({{"n": len(data), "head": data[:5].decode(), "sha": hashlib.sha256(data[5:]).hexdigest()}}))
""")
        self.assertEqual(got["head"], "hello")
        self.assertEqual(got["n"], 5 + MB)
        self.assertEqual(got["sha"], pattern_sha(MB))

    def test_half_close_server_first(self):
        got = self.t.c.py(f"""
import json
s = socket.create_connection(("{SERVER6}", {CLOSE_FIRST_PORT}), 10); s.settimeout(30)
data = b""
while True:
    d = s.recv(65536)
    if not d: break
    data += d
s.sendall(b"after your FIN"); s.shutdown(socket.SHUT_WR)
s.recv(10)
print(json.dumps({{"n": len(data)}}))
""")
        self.assertEqual(got["n"], 100 * 1024)
        path = os.path.join(self.t.tmp, "close_first.txt")
        for _ in range(100):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"after your FIN")

    def test_server_rst_reaches_client(self):
        got = self.t.c.py(f"""
import json
s = socket.create_connection(("{SERVER4}", {RST_PORT}), 10); s.settimeout(10)
s.sendall(b"x")
try:
    d = s.recv(10); res = "eof" if not d else "data"
except ConnectionResetError:
    res = "ECONNRESET"
print(json.dumps({{"res": res}}))
""")
        self.assertEqual(got["res"], "ECONNRESET")


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip"), "needs root and iproute2 (ip netns)")
class ForwardLimits(unittest.TestCase):
    def test_max_connections_refuse(self):
        t = Topology(("--max-connections", "4", "--when-full", "refuse"))
        try:
            got = t.c.py(f"""
import json
held = [socket.create_connection(("{SERVER4}", {ECHO_PORTS[0]}), 5) for _ in range(4)]
try:
    socket.create_connection(("{SERVER4}", {ECHO_PORTS[1]}), 5); fifth = "connected"
except ConnectionRefusedError:
    fifth = "ECONNREFUSED"
ok = 0
for s in held:
    s.settimeout(10); s.sendall(b"still here"); ok += s.recv(100) == b"still here"
    s.close()
print(json.dumps({{"fifth": fifth, "ok": ok}}))
""")
            events = t.stop()
        finally:
            t.close()
        self.assertEqual(got, {"fifth": "ECONNREFUSED", "ok": 4})
        self.assertGreaterEqual(events[-1]["offers"]["over_limit"], 1)

    def test_max_connections_drop(self):
        t = Topology(("--max-connections", "2"))
        try:
            got = t.c.py(f"""
import json
held = [socket.create_connection(("{SERVER4}", {ECHO_PORTS[0]}), 5) for _ in range(2)]
try:
    socket.create_connection(("{SERVER4}", {ECHO_PORTS[1]}), 2); third = "connected"
except socket.timeout:
    third = "timeout"
ok = 0
for s in held:
    s.settimeout(10); s.sendall(b"ping"); ok += s.recv(100) == b"ping"
    s.close()
print(json.dumps({{"third": third, "ok": ok}}))
""")
            events = t.stop()
        finally:
            t.close()
        self.assertEqual(got, {"third": "timeout", "ok": 2})
        self.assertGreaterEqual(events[-1]["offers"]["over_limit"], 1)
        self.assertGreaterEqual(events[-1]["offers"]["dropped"], 1)

    def test_icmp_unreachable(self):
        # --icmp-unreachable: an unreachable upstream (a blackhole route in U) is answered with ICMP/ICMPv6
        # destination-unreachable, which the client's kernel turns into EHOSTUNREACH at once.
        t = Topology(("--icmp-unreachable",))
        try:
            got = t.c.py(f"""
import errno, json
res = {{}}
for addr in ("{FILTERED4}", "{FILTERED6}"):
    try:
        socket.create_connection((addr, 80), 5); res[addr] = "connected"
    except socket.timeout:
        res[addr] = "timeout"
    except OSError as e:
        res[addr] = errno.errorcode.get(e.errno, str(e))
print(json.dumps(res))
""")
            events = t.stop()
            problems = expert_problems(t.pcap)
        finally:
            t.close()
        self.assertEqual(got, {FILTERED4: "EHOSTUNREACH", FILTERED6: "EHOSTUNREACH"})
        self.assertEqual(events[-1]["offers"]["icmp_unreachable"], 2)
        self.assertEqual(problems, [])

    def test_upstream_device(self):
        # --upstream-device: synack and its sockets share C, which also has the veth to S; the servers'
        # host routes in C go into synack0, and only SO_BINDTODEVICE keeps the upstream sockets from
        # routing back into the device (they would loop: a SYN offered again for every upstream SYN).
        t = Topology(upstream_device=True)
        try:
            got = t.c.py(f"""
import json
res = {{}}
for addr in ("{SERVER4}", "{SERVER6}"):
    s = socket.create_connection((addr, {ECHO_PORTS[0]}), 10)
    s.settimeout(60)
    out, back, n = pump(s, {MB})
    res[addr] = [out == back, n]
try:
    socket.create_connection(("{SERVER4}", 9), 5); res["closed"] = "connected"
except ConnectionRefusedError:
    res["closed"] = "ECONNREFUSED"
print(json.dumps(res))
""")
            events = t.stop()
        finally:
            t.close()
        self.assertEqual(got, {SERVER4: [True, MB], SERVER6: [True, MB], "closed": "ECONNREFUSED"})
        offers = events[-1]["offers"]
        # Exactly the client's three SYNs were offered: none of synack's own upstream SYNs came back.
        self.assertEqual((offers["accepted"], offers["refused"], offers["dropped"]), (2, 1, 0), offers)

    def test_back_pressure_rss(self):
        # 200 MB each way against a 1 MB/s reader on the other end (S's slow reader; C's throttled reader),
        # RSS sampled for the first SECONDS s of the transfers, which are then stopped (CI time).
        seconds = 15
        t = Topology(("--quiet",))
        try:
            def rss():
                with open(f"/proc/{t.fwd.pid}/status") as f:
                    return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            base = rss()
            client = t.c.spawn(["/usr/bin/python3", "-c", PY_HELPERS + f"""
import threading
def up():   # as fast as possible to a server that reads 1 MB/s
    s = socket.create_connection(("{SERVER4}", {SLOW_PORT}), 10)
    try:
        for c in chunks(200 * 1024 * 1024): s.sendall(c)
    except OSError: pass
def down(): # 200 MB from a fast source, read here at 1 MB/s
    s = socket.create_connection(("{SERVER6}", {SOURCE_PORT}), 10)
    while True:
        d = s.recv(65536)
        if not d: break
        time.sleep(len(d) / 1e6)
threading.Thread(target=up, daemon=True).start()
down()
"""])
            samples = []
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                time.sleep(0.5)
                samples.append(rss())
            client.kill()
            client.wait(timeout=10)
            summary = t.stop()[-1]
        finally:
            t.close()
        peak = max(samples)
        print(f"\n  back-pressure: RSS at rest {base} kB, peak {peak} kB over {seconds} s "
              f"(bound: +{RSS_GROWTH_BOUND_KB} kB)", file=sys.stderr)
        self.assertLess(peak - base, RSS_GROWTH_BOUND_KB)
        # Both transfers moved (at about the readers' 1 MB/s), and neither ran ahead of its reader.
        self.assertGreater(summary["bytes_up"], 4 * MB, summary)
        self.assertGreater(summary["bytes_down"], 4 * MB, summary)
        self.assertLess(summary["bytes_up"], 100 * MB, summary)
        self.assertLess(summary["bytes_down"], 100 * MB, summary)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--synack":
        T.SYNACK = os.path.abspath(args[1])
        args = args[2:]
    if os.geteuid() != 0:
        print("SKIP: needs root (ip netns)")
        sys.exit(77)
    unittest.main(argv=[sys.argv[0]] + args, verbosity=2)
