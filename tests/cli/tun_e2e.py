#!/usr/bin/env python3
"""End-to-end tests: synack over TUN against the Linux kernel's TCP (issue 5's acceptance list).

Every test runs inside a network namespace of its own (`ip netns add synack-e2e-PID-N`), deleted
afterwards; every process started is killed by its PID. Addresses: 192.0.2.0/24 and 2001:db8::/32 only.
Needs root (ip netns); otherwise every test is skipped (exit 77).

Usage: tun_e2e.py --synack PATH [unittest arguments, e.g. TunE2E.test_refused]
"""
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SYNACK = os.environ.get("SYNACK", "synack")
# tshark's "TCP window full". Never tolerated on synack's frames; on the kernel's frames it means
# synack's reader was the bottleneck (CPU-starved under load) and the kernel used the window to the byte.
WINDOW_FULL = "window specified by the receiver is now completely full"
# A 50 MB transfer on a loaded 2-core machine can lose a datagram inside the kernel (its per-CPU input
# backlog is bounded): the sender then re-sends at once (fast retransmit, SACK recovery), and tshark calls a
# re-sent segment that follows its successor by less than its out-of-order threshold "(suspected)
# out-of-order" (a warning) instead of a retransmission (a note). Seen once in CI on synack's frame 5493 of
# 60,000. Loss recovery is the engine's job and is tested at 0-30 % loss in virtual time; here the SHA-256s
# are the verdict.
LOSS_UNDER_LOAD = ("out-of-order segment",)
WARNING = 6291456  # tshark's expert severity "warning"
MB50 = 50 * 1024 * 1024
# tshark warns when a sender fills the receiver's advertised window exactly. That is legal flow control, but
# the engine has no congestion window yet (it bursts a whole receive window at once), so bulk transfers hit
# it depending on timing; captures of bulk runs tolerate this one message (docs/tun.md).

# A kernel client/server in the namespace: deterministic data, sha256 of both directions.
PY_HELPERS = r'''
import hashlib, socket, sys, threading, time
BLOCK = hashlib.sha256(b"synack").digest() * 2048   # 64 KiB
def chunks(n):
    sent = 0
    while sent < n:
        c = BLOCK[: min(len(BLOCK), n - sent)]
        yield c
        sent += len(c)
def pump(s, size, shutdown=True):
    h_out = hashlib.sha256()
    def writer():
        for c in chunks(size):
            h_out.update(c); s.sendall(c)
        if shutdown: s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=writer); t.start()
    h_in = hashlib.sha256(); n = 0
    while True:
        d = s.recv(262144)
        if not d: break
        h_in.update(d); n += len(d)
    t.join()
    return h_out.hexdigest(), h_in.hexdigest(), n
'''


# scapy inside the namespace (Debian's python3-scapy under /usr/bin/python3): build packets, write them onto
# synack0 with a packet socket, read what synack writes to the kernel from the same device.
SCAPY = subprocess.run(["/usr/bin/python3", "-c", "import scapy.all"], capture_output=True).returncode == 0 \
    if os.path.exists("/usr/bin/python3") else False
SCAPY_HELPERS = r"""
import json, socket, time
from scapy.all import IP, IPv6, TCP, raw
RX = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
RX.bind(("synack0", 0))
def dst_of(src):
    return "2001:db8::2" if ":" in src else "192.0.2.2"
def ip(src):
    return IPv6(src=src, dst=dst_of(src)) if ":" in src else IP(src=src, dst=dst_of(src))
def syn(src, sport, seq=1000, options=()):
    return ip(src) / TCP(sport=sport, dport=80, flags="S", seq=seq, window=64240, options=list(options))
def segment(src, sport, seq, ack, flags, window, payload=b""):
    return ip(src) / TCP(sport=sport, dport=80, flags=flags, seq=seq, ack=ack, window=window) / payload
def send_tun(pkt):
    proto = 0x86DD if pkt.version == 6 else 0x0800
    sk = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(proto))
    sk.sendto(raw(pkt), ("synack0", proto))
    sk.close()
def replies(pred, timeout):
    # Datagrams synack wrote (not those written to it: PACKET_OUTGOING), TCP only, matching pred.
    out = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        RX.settimeout(max(0.01, end - time.monotonic()))
        try:
            data, addr = RX.recvfrom(65535)
        except socket.timeout:
            break
        if addr[2] == socket.PACKET_OUTGOING or not data:
            continue
        pkt = IPv6(data) if data[0] >> 4 == 6 else IP(data)
        if TCP in pkt and pred(pkt):
            out.append(pkt)
    return out
def summary(pkt):
    t = pkt[TCP]
    return {"src": pkt.src, "dst": pkt.dst, "flags": str(t.flags), "seq": t.seq, "ack": t.ack,
            "window": t.window, "options": [o[0] for o in t.options],
            "wscale": dict((o[0], o[1]) for o in t.options if o[0] == "WScale").get("WScale")}
"""


def sha256_of_pattern(size):
    block = hashlib.sha256(b"synack").digest() * 2048
    h = hashlib.sha256()
    sent = 0
    while sent < size:
        c = block[: min(len(block), size - sent)]
        h.update(c)
        sent += len(c)
    return h.hexdigest()


class Namespace:
    """A network namespace of the test's own (`ip netns add`), deleted by close() with the processes it ran.
    Shared by privdrop_e2e.py and forward_topology.py."""
    counter = 0

    def __init__(self, name=None):
        Namespace.counter += 1
        self.name = name or f"synack-e2e-{os.getpid()}-{Namespace.counter}"
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=10)
        self.procs = []
        self.run(["ip", "link", "set", "lo", "up"], check=True)

    def cmd(self, argv):
        return ["ip", "netns", "exec", self.name] + argv

    def run(self, argv, timeout=60, check=False, **kw):
        return subprocess.run(self.cmd(argv), timeout=timeout, check=check, capture_output=True, text=True, **kw)

    def spawn(self, argv, **kw):
        p = subprocess.Popen(self.cmd(argv), **kw)
        self.procs.append(p)
        return p

    def sysctl(self, key, value):
        self.run(["sysctl", "-q", "-w", f"{key}={value}"], check=True)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        # Anything the test's processes left in the namespace (a forking server's children), by PID.
        left = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True, timeout=10)
        for pid in left.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", self.name], timeout=10)


class LineReader:
    """Collects a process's stdout lines on a thread, so a test can wait for one with a bound."""

    def __init__(self, stream):
        self.q = queue.Queue()
        self.lines = []
        threading.Thread(target=self._run, args=(stream,), daemon=True).start()

    def _run(self, stream):
        for line in stream:
            self.q.put(line)
        self.q.put(None)

    def wait_for(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                return None
            self.lines.append(line)
            if pred(line):
                return line
        return None

    def drain(self):
        """The lines printed so far, without waiting."""
        while True:
            try:
                line = self.q.get_nowait()
            except queue.Empty:
                return self.lines
            if line is None:
                return self.lines
            self.lines.append(line)

    def rest(self, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
        return self.lines


KERNEL_ADDRESSES = ("192.0.2.1", "2001:db8::1")


def expert_problems(pcap, allow=(), allow_from_kernel=(), judged=None):
    """tshark's expert infos of warning severity or above, except the messages in `allow` (and those in
    `allow_from_kernel` on frames the kernel sent: not synack's doing). `judged(ip_src, ipv6_src)`, when
    given, picks the frames that count (forward_topology.py: only those synack wrote)."""
    # Payloads are decoded as plain data: they are the applications' bytes (often random), and a dissector
    # that a port number happens to select would warn about them ("Incorrect Mailbox data length"), which
    # is not what synack put on the wire. IP and TCP, and tshark's TCP analysis, are judged as before.
    out = subprocess.run(["tshark", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-d", "tcp.port==1-65535,data",
                          "-T", "fields",
                          "-e", "frame.number", "-e", "ip.src", "-e", "ipv6.src",
                          "-e", "_ws.expert.severity", "-e", "_ws.expert.message"],
                         capture_output=True, text=True, timeout=120)
    problems = []  # (frame, message, a kernel reset: judged below)
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) < 5 or not parts[3]:
            continue
        if judged is not None and not judged(parts[1], parts[2]):
            continue
        from_kernel = parts[1] in KERNEL_ADDRESSES or parts[2] in KERNEL_ADDRESSES
        sev = [int(s) for s in parts[3].split(",") if s]
        msgs = parts[4].split(",")
        for i, s in enumerate(sev):
            msg = msgs[i] if i < len(msgs) else "?"
            if s < WARNING or any(a in msg for a in allow):
                continue
            if from_kernel and any(a in msg for a in allow_from_kernel):
                continue
            problems.append((int(parts[0]), msg, from_kernel and msg.startswith("Connection reset")))
    after_close = _resets_after_last_ack(pcap) if any(reset for _, _, reset in problems) else set()
    judged_problems = [f"frame {n}: {msg}" for n, msg, reset in problems if not (reset and n in after_close)]
    if out.returncode != 0:
        judged_problems.append(f"tshark failed: {out.stderr.strip()}")
    return judged_problems


def _resets_after_last_ack(pcap):
    """The frame numbers of the kernel's resets that answer a duplicate ACK of its own retransmitted FIN.

    When the kernel closes second (CLOSE-WAIT, then LAST-ACK) and its FIN goes out twice (a tail-loss probe
    fires when synack is slow to answer, as on a loaded machine), synack acknowledges each copy: RFC 9293
    §3.10.7.4 (TIME-WAIT: a retransmitted FIN is acknowledged and the 2 MSL timer restarted). The first ACK
    completes LAST-ACK and the kernel forgets the connection; the second meets no socket, and the kernel
    answers it with a reset whose sequence number is that ACK's acknowledgment number (RFC 9293 §3.10.7.1).
    Correct TCP on both sides, not a problem of synack's. A reset counts as such only when, in its stream,
    the kernel sent a FIN at least twice, the reset's sequence number is that FIN's plus one, and synack had
    acknowledged the FIN before it."""
    out = subprocess.run(["tshark", "-r", pcap, "-o", "tcp.relative_sequence_numbers:FALSE",
                          "-d", "tcp.port==1-65535,data", "-Y", "tcp", "-T", "fields",
                          "-e", "frame.number", "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src",
                          "-e", "tcp.flags", "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len"],
                         capture_output=True, text=True, timeout=120)
    fins = {}      # (stream, FIN's sequence number + 1) -> how many times the kernel sent that FIN
    acked = set()  # (stream, acknowledgment number) that synack sent
    resets = set()
    for line in out.stdout.splitlines():
        f = (line.split("\t") + [""] * 8)[:8]
        if not f[0] or not f[4]:
            continue
        n, stream, flags = int(f[0]), f[1], int(f[4], 16)
        seq, ack, length = int(f[5] or 0), int(f[6] or 0), int(f[7] or 0)
        if f[2] in KERNEL_ADDRESSES or f[3] in KERNEL_ADDRESSES:
            if flags & 0x001:  # FIN
                key = (stream, (seq + length + 1) % 2**32)
                fins[key] = fins.get(key, 0) + 1
            if flags & 0x004 and fins.get((stream, seq), 0) >= 2 and (stream, seq) in acked:  # RST
                resets.add(n)
        elif flags & 0x010:  # synack's ACK
            acked.add((stream, ack))
    return resets


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip"), "needs root and iproute2 (ip netns)")
class TunE2E(unittest.TestCase):
    def setUp(self):
        self.ns = Namespace()
        self.tmp = tempfile.mkdtemp(prefix="synack-e2e-")
        self.pcap = os.path.join(self.tmp, "run.pcap")

    def tearDown(self):
        self.ns.close()
        if os.environ.get("SYNACK_E2E_KEEP"):
            print(f"\n  kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- helpers -----------------------------------------------------------------------------------
    def start_listen(self, *args):
        p = self.ns.spawn([SYNACK, "listen", "--json-stream", "--sha256", "--pcap", self.pcap] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        reader = LineReader(p.stdout)
        line = reader.wait_for(lambda l: '"listening"' in l, 10)
        self.assertIsNotNone(line, f"synack listen did not start: {p.stderr.read() if p.poll() is not None else ''}")
        return p, reader

    def stop_listen(self, p, reader):
        os.kill(p.pid, signal.SIGTERM)
        p.wait(timeout=10)
        self.assertEqual(p.returncode, 0)
        events = [json.loads(l) for l in reader.rest() if l.startswith("{")]
        self.assertEqual(events[-1]["event"], "summary")
        return events

    def kernel_device(self):
        """The TUN device and kernel addresses for a kernel server that must exist before synack starts."""
        for argv in (["ip", "tuntap", "add", "dev", "synack0", "mode", "tun"],
                     ["ip", "link", "set", "synack0", "up"],
                     ["ip", "addr", "add", "192.0.2.1/24", "dev", "synack0"],
                     ["ip", "addr", "add", "2001:db8::1/64", "dev", "synack0", "nodad"]):
            self.ns.run(argv, check=True)

    def py(self, code, timeout=60):
        r = self.ns.run(["python3", "-c", PY_HELPERS + code], timeout=timeout)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def connect(self, *args, timeout=60, stdin=None):
        t0 = time.monotonic()
        r = subprocess.run(self.ns.cmd([SYNACK, "connect", "--json", "--pcap", self.pcap] + list(args)),
                           capture_output=True, text=True, timeout=timeout, stdin=stdin)
        elapsed = time.monotonic() - t0
        lines = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
        return r.returncode, lines, elapsed, r.stderr

    def wait_port(self, port, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.ns.run(["ss", "-Htln", f"sport = :{port}"])
            if r.stdout.strip():
                return
            time.sleep(0.05)
        self.fail(f"nothing listens on port {port}")

    def assert_capture_clean(self, allow=()):
        self.assertTrue(os.path.getsize(self.pcap) > 24, "empty capture")
        self.assertEqual(expert_problems(self.pcap, allow), [])

    # ---- kernel client -> synack server -----------------------------------------------------------------
    def test_kernel_client_to_synack_server(self):
        p, reader = self.start_listen("--port", "7", "--port", "80", "--echo")
        out = self.py(r'''
for host in ("192.0.2.2", "2001:db8::2"):
    s = socket.create_connection((host, 7), timeout=10)
    o, i, n = pump(s, 100000)
    assert o == i and n == 100000, (host, o, i, n)
    s.close()
print("ok")
''')
        self.assertIn("ok", out)
        curl = self.ns.run(["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                            "--data-binary", "hello", "http://192.0.2.2:80/"])
        # --echo answers a POST with its own bytes: not HTTP, so curl fails; the handshake is what counts.
        nc = self.ns.run(["sh", "-c", "printf 'ping\\n' | nc -N -w 5 2001:db8::2 7"], timeout=15)
        self.assertEqual(nc.stdout, "ping\n", nc.stderr)
        events = self.stop_listen(p, reader)
        est = [e for e in events if e["event"] == "established"]
        self.assertGreaterEqual(len(est), 4, events)
        v4 = [e for e in est if e["peer"].startswith("192.0.2.1:")][0]
        v6 = [e for e in est if e["peer"].startswith("[2001:db8::1]")][0]
        self.assertEqual(v4["schema"], 1)
        self.assertEqual(v4["outcome"], "established")
        self.assertEqual(v4["negotiated"]["offered"]["client"]["mss"], 1460)
        self.assertEqual(v6["negotiated"]["offered"]["client"]["mss"], 1440)
        self.assertEqual(v4["negotiated"]["agreed"]["mss_server_to_client"], 1460)
        closed = [e for e in events if e["event"] == "closed"]
        self.assertGreaterEqual(len(closed), 3)
        self.assertTrue(any(e["bytes_received"] == 100000 for e in closed))
        self.assert_capture_clean(allow=("Connection reset",))
        del curl

    def test_kernel_client_listen_json_document_and_verbose_log(self):
        """listen --json prints nothing until the end, then one document; -v logs transitions and drops."""
        p = self.ns.spawn([SYNACK, "listen", "--json", "-v", "--port", "7", "--echo", "--pcap", self.pcap],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out = self.py(r'''
deadline = time.monotonic() + 10
while True:
    try:
        s = socket.create_connection(("192.0.2.2", 7), timeout=2)
        break
    except OSError:
        if time.monotonic() > deadline: raise
        time.sleep(0.05)
o, i, n = pump(s, 1000)
assert o == i and n == 1000, (o, i, n)
s.close()
try:
    socket.create_connection(("192.0.2.2", 81), timeout=2)
except ConnectionRefusedError:
    print("refused")
''')
        self.assertIn("refused", out)  # pump() saw the echo's end: synack had the client's FIN before it
        os.kill(p.pid, signal.SIGTERM)
        stdout, stderr = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, stderr)
        doc = json.loads(stdout)  # nothing but the one document
        self.assertEqual(doc["schema"], 1)
        self.assertEqual(doc["document"], "listen")
        self.assertGreaterEqual(doc["connections"], 1)
        self.assertIn("CLOSED -> ESTABLISHED (handshake completed in the listener)", stderr)
        self.assertIn("ESTABLISHED -> CLOSE-WAIT (rcv FIN", stderr)
        self.assertIn("drop SynackNoListener 192.0.2.2:81 < 192.0.2.1:", stderr)

    def test_kernel_client_http(self):
        p, reader = self.start_listen("--port", "80", "--http")
        for url in ("http://192.0.2.2/", "http://[2001:db8::2]/"):
            r = self.ns.run(["curl", "-sS", "-g", "-m", "5", url])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("Hello from synack", r.stdout)
        events = self.stop_listen(p, reader)
        self.assertEqual(len([e for e in events if e["event"] == "established"]), 2)
        self.assertEqual(len([e for e in events if e["event"] == "closed"]), 2)
        self.assert_capture_clean()

    def test_kernel_client_abort_is_reported_as_reset(self):
        p, reader = self.start_listen("--port", "7", "--discard")
        self.py(r'''
import struct
s = socket.create_connection(("192.0.2.2", 7), timeout=10)
s.sendall(b"x" * 1000)
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
time.sleep(0.2)
''')
        events = self.stop_listen(p, reader)
        self.assertTrue(any(e["event"] == "reset" for e in events), events)
        self.assert_capture_clean(allow=("Connection reset",))

    # ---- synack client -> kernel server -------------------------------------------------------------------
    def test_synack_client_to_kernel_servers(self):
        self.kernel_device()
        http = self.ns.spawn(["python3", "-m", "http.server", "--bind", "::", "8000", "--directory", self.tmp],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        socat = self.ns.spawn(["socat", "TCP6-LISTEN:9000,ipv6only=0,reuseaddr,fork", "EXEC:cat"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_port(8000)
        self.wait_port(9000)
        for host in ("192.0.2.1", "2001:db8::1"):
            code, lines, _, err = self.connect(host, "8000", "--send", "GET / HTTP/1.0\r\n\r\n")
            self.assertEqual(code, 0, err)
            self.assertEqual(lines[0]["result"], "closed")
            self.assertGreater(lines[0]["bytes_received"], 100)
            code, lines, _, err = self.connect(host, "9000", "--send", "hello synack")
            self.assertEqual(code, 0, err)
            self.assertEqual(lines[0]["bytes_received"], len("hello synack"))
            self.assertEqual(lines[0]["received_sha256"], hashlib.sha256(b"hello synack").hexdigest())
            self.assertEqual(lines[0]["outcome"], "established")
            self.assertEqual(lines[0]["negotiated"]["agreed"]["mss_client_to_server"], 1460 if ":" not in host else 1440)
        del http, socat

    def test_synack_client_json_document_and_stream(self):
        """--json with --count N is one document of N connections; --json-stream one line per connection."""
        self.kernel_device()
        self.ns.spawn(["socat", "TCP-LISTEN:9000,reuseaddr,fork", "EXEC:cat"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_port(9000)
        base = [SYNACK, "connect", "--pcap", self.pcap, "192.0.2.1", "9000", "--send", "hi", "--count", "2"]
        r = subprocess.run(self.ns.cmd(base + ["--json"]), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)  # exactly one document
        self.assertEqual(doc["document"], "connect")
        self.assertEqual([c["number"] for c in doc["connections"]], [1, 2])
        self.assertTrue(all(c["result"] == "closed" and c["bytes_received"] == 2 for c in doc["connections"]))
        r = subprocess.run(self.ns.cmd(base + ["--json-stream", "-v"]), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([(l["event"], l["number"]) for l in lines], [("connection", 1), ("connection", 2)])
        self.assertTrue(all(l["schema"] == 1 and "document" not in l for l in lines))
        # -v: synack's own transitions on stderr, each with its cause
        self.assertIn("CLOSED -> SYN-SENT (OPEN)", r.stderr)
        self.assertIn("SYN-SENT -> ESTABLISHED (rcv SYN,ACK)", r.stderr)
        self.assertIn("ESTABLISHED -> FIN-WAIT-1 (CLOSE)", r.stderr)

    def test_synack_client_abort_sends_rst(self):
        self.kernel_device()
        self.ns.spawn(["socat", "TCP-LISTEN:9000,reuseaddr,fork", "EXEC:cat"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_port(9000)
        code, lines, _, err = self.connect("192.0.2.1", "9000", "--send", "x", "--abort")
        self.assertEqual(code, 0, err)
        self.assertEqual(lines[0]["result"], "aborted")
        rst = subprocess.run(["tshark", "-r", self.pcap, "-Y", "tcp.flags.reset==1 && ip.src==192.0.2.2",
                              "-T", "fields", "-e", "frame.number"], capture_output=True, text=True, timeout=30)
        self.assertTrue(rst.stdout.strip(), "no RST from synack in the capture")
        self.assert_capture_clean(allow=("Connection reset",))

    def test_refused(self):
        self.kernel_device()
        code, lines, elapsed, err = self.connect("192.0.2.1", "9")
        self.assertEqual(code, 4, err)
        self.assertEqual(lines[0]["result"], "refused")
        self.assertLess(elapsed, 2.0)
        self.assert_capture_clean(allow=("Connection reset",))

    def test_timed_out_with_backoff(self):
        self.kernel_device()
        code, lines, elapsed, err = self.connect("192.0.2.99", "80", "--syn-retries", "2", timeout=30)
        self.assertEqual(code, 5, err)
        self.assertEqual(lines[0]["result"], "timed_out")
        t = lines[0]["syn_times_ms"]
        self.assertEqual(len(t), 3, t)
        gaps = [(t[i + 1] - t[i]) / 1000.0 for i in range(len(t) - 1)]
        self.assertAlmostEqual(gaps[0], 1.0, delta=0.2)
        self.assertAlmostEqual(gaps[1], 2.0, delta=0.2)
        self.assertGreater(elapsed, 6.5)
        self.assertLess(elapsed, 9.0)
        self.assert_capture_clean()

    # ---- bulk: 50 MB each way with equal checksums ----------------------------------------------------------
    def test_50mb_kernel_client_through_synack_echo(self):
        p, reader = self.start_listen("--port", "7", "--echo")
        out = self.py(rf'''
for host in ("192.0.2.2", "2001:db8::2"):
    s = socket.create_connection((host, 7), timeout=30)
    o, i, n = pump(s, {MB50})
    assert o == i and n == {MB50}, (host, o, i, n)
    s.close()
    print(host, o)
''', timeout=120)
        events = self.stop_listen(p, reader)
        expected = sha256_of_pattern(MB50)
        self.assertEqual(out.split()[1], expected)
        closed = [e for e in events if e["event"] == "closed"]
        self.assertEqual(len(closed), 2, events)
        for e in closed:
            self.assertEqual(e["bytes_received"], MB50)
            self.assertEqual(e["bytes_sent"], MB50)
            self.assertEqual(e["received_sha256"], expected)
        # Flow control at its limits is not an error: whichever reader is slower advertises zero windows —
        # the kernel's, or synack's echo when CI loads the CPU (seen on a loaded 2-core run) — answered by
        # zero-window probes, and the kernel may then fill synack's window to the byte. synack never fills
        # the kernel's window ("window full" on synack's frames fails the test): slow start (RFC 5681/6928)
        # paces its start, and sender silly-window avoidance sends no runt up to the window's edge. The kernel's TUN path sometimes
        # fills in 0xffff for a zero checksum (tshark: "see RFC 1624"): the kernel's frames, not synack's.
        self.assertEqual(expert_problems(self.pcap, allow=("Zero Window", "ZeroWindow") + LOSS_UNDER_LOAD,
                                         allow_from_kernel=("RFC 1624", WINDOW_FULL)), [])

    def test_50mb_synack_client_to_kernel_echo(self):
        self.kernel_device()
        self.ns.spawn(["socat", "TCP6-LISTEN:9000,ipv6only=0,reuseaddr", "EXEC:cat"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_port(9000)
        data = os.path.join(self.tmp, "50mb")
        block = hashlib.sha256(b"synack").digest() * 2048
        with open(data, "wb") as f:
            for _ in range(MB50 // len(block)):
                f.write(block)
        with open(data, "rb") as f:
            code, lines, elapsed, err = self.connect("2001:db8::1", "9000", "--stdin", stdin=f, timeout=120)
        self.assertEqual(code, 0, err)
        self.assertEqual(lines[0]["bytes_sent"], MB50)
        self.assertEqual(lines[0]["bytes_received"], MB50)
        self.assertEqual(lines[0]["received_sha256"], sha256_of_pattern(MB50))
        # As above; and synack may now fill the kernel's window to its edge with full-sized segments (its
        # sender outpaces socat's reader since the engine got cheaper: seen in CI) — flow control at its
        # limit, not a runt (sender silly-window avoidance, RFC 9293 §3.8.6.2.1, is tested in virtual time).
        # No RST: the engine used to send a window update after ACKing the kernel's FIN (the
        # kernel, already CLOSED from LAST-ACK, answered with RST); it no longer updates the window once the
        # peer's FIN has arrived (CloseWait.ReadingOpensWindow_NoWindowUpdate).
        self.assertEqual(expert_problems(self.pcap, allow=LOSS_UNDER_LOAD + (WINDOW_FULL,),
                                         allow_from_kernel=("RFC 1624", "Zero Window")),
                         [])

    # ---- option matrix: sysctls x both views ---------------------------------------------------------------
    KERNEL_VIEW = r"""
def kernel_view(s, peer):
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    opts, ws = info[5], info[6]
    # TCP_INFO's options (ss -tni prints them as "ts" and "sack"; some kernels' inet_diag leaves them out).
    out = "TCPINFO ts=%d sack=%d wscale=%d snd_wscale=%d rcv_wscale=%d\n" % (
        bool(opts & 1), bool(opts & 2), bool(opts & 4), ws & 15, ws >> 4)
    import subprocess
    return out + subprocess.run(["ss", "-tniH", "dst", peer], capture_output=True, text=True).stdout
"""

    def compare_views(self, ss, negotiated, us, maxseg, case):
        """The kernel's view (ss + TCP_INFO) against synack's "negotiated" object (docs/json.md); `us` is
        synack's side, "client" or "server"."""
        peer = "server" if us == "client" else "client"
        agreed = negotiated["agreed"]
        offered = negotiated["offered"][peer]  # the kernel's offer, as synack saw it
        ours = negotiated["offered"][us]
        kernel_ts = "ts=1" in ss or re.search(r"\sts\s", ss) is not None
        kernel_sack = "sack=1" in ss or re.search(r"\ssack\s", ss) is not None
        ws = re.search(r"wscale:(\d+),(\d+)", ss)
        case = f"{case}: kernel says {ss.strip()}; synack agreed {agreed}, kernel offered {offered}"
        self.assertEqual(ws is not None, "wscale=1" in ss, case)  # ss and TCP_INFO agree
        mss = int(re.search(r"\bmss:(\d+)", ss).group(1))
        # Each option is in effect on both sides, or on neither.
        self.assertEqual(kernel_ts, agreed["timestamps"], case)
        self.assertEqual(kernel_sack, agreed["sack"], case)
        self.assertEqual(ws is not None, agreed["window_scaling"], case)
        if ws:
            self.assertEqual(int(ws.group(1)), agreed["wscale_" + us], case)  # kernel's snd = synack's shift
            self.assertEqual(int(ws.group(2)), agreed["wscale_" + peer], case)
        # The kernel sends segments of synack's MSS (capped by its TCP_MAXSEG, less the timestamp option);
        # synack sends segments of the kernel's MSS.
        self.assertEqual(mss, min(ours["mss"], maxseg or 65535) - (12 if kernel_ts else 0), case)
        self.assertEqual(agreed["mss_%s_to_%s" % (us, peer)], offered["mss"], case)
        if maxseg:
            self.assertEqual(offered["mss"], maxseg, case)
        return kernel_ts, kernel_sack, ws is not None

    def check_options_case(self, sysctl=None, value=None, maxseg=None):
        if sysctl:
            self.ns.sysctl(sysctl, value)
        case = f"{sysctl}={value} maxseg={maxseg}"
        # Passive: a kernel client (the sysctl and TCP_MAXSEG on its side) -> synack listen.
        p, reader = self.start_listen("--port", "7", "--echo")
        client = self.KERNEL_VIEW + r"""
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if MAXSEG_VALUE: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, MAXSEG_VALUE)
s.settimeout(10)
s.connect(("192.0.2.2", 7))
s.sendall(b"hello")
s.recv(100)
print(kernel_view(s, "192.0.2.2"))
s.close()
"""
        ss = self.py(client.replace("MAXSEG_VALUE", str(maxseg or 0)))
        events = self.stop_listen(p, reader)
        est = [e for e in events if e["event"] == "established"]
        self.assertEqual(len(est), 1, events)
        passive = self.compare_views(ss, est[0]["negotiated"], "server", maxseg, "passive " + case)

        # Active: synack connect -> a kernel server (TCP_MAXSEG on its listening socket).
        view = os.path.join(self.tmp, "kernel-view.txt")
        server = PY_HELPERS + self.KERNEL_VIEW + r"""
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if MAXSEG_VALUE: l.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, MAXSEG_VALUE)
l.bind(("0.0.0.0", 7007)); l.listen(1); l.settimeout(20)
c, _ = l.accept(); c.settimeout(10)
data = c.recv(100)
text = kernel_view(c, "192.0.2.2")
open("VIEW_PATH", "w").write(text)
c.sendall(data); c.shutdown(socket.SHUT_WR); c.recv(100); c.close()
"""
        proc = self.ns.spawn(["python3", "-c", server.replace("MAXSEG_VALUE", str(maxseg or 0))
                              .replace("VIEW_PATH", view)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.wait_port(7007)
        code, lines, _, err = self.connect("192.0.2.1", "7007", "--send", "hello")
        self.assertEqual(code, 0, err)
        proc.wait(timeout=10)
        with open(view) as f:
            ss = f.read()
        active = self.compare_views(ss, lines[0]["negotiated"], "client", maxseg, "active " + case)
        if sysctl and value == 0:
            index = {"net.ipv4.tcp_timestamps": 0, "net.ipv4.tcp_sack": 1, "net.ipv4.tcp_window_scaling": 2}
            self.assertFalse(passive[index[sysctl]], case)
            self.assertFalse(active[index[sysctl]], case)

    # ---- ECN (RFC 3168) against the kernel, both directions -------------------------------------------
    def ecn_marks(self):
        """(synack's new-data frames, of them ECT(0); the kernel's, of them ECT(0)) in self.pcap; synack is
        192.0.2.2 / 2001:db8::2 in both directions. Retransmissions are left out: they are never ECT
        (RFC 3168 §6.1.5), and a loaded machine may provoke one (a tail-loss probe)."""
        new_data = ("tcp.len > 0 && !tcp.analysis.retransmission && !tcp.analysis.fast_retransmission && "
                    "!tcp.analysis.spurious_retransmission")
        out = subprocess.run(["tshark", "-r", self.pcap, "-Y", new_data, "-T", "fields", "-e", "ip.src",
                              "-e", "ipv6.src", "-e", "ip.dsfield.ecn", "-e", "ipv6.tclass.ecn"],
                             capture_output=True, text=True, timeout=60).stdout
        counts = [0, 0, 0, 0]
        for line in out.splitlines():
            src4, src6, ecn4, ecn6 = (line.split("\t") + ["", "", "", ""])[:4]
            ours = (src4 or src6) in ("192.0.2.2", "2001:db8::2")
            ect0 = (ecn4 or ecn6) == "2"
            counts[0 if ours else 2] += 1
            counts[1 if ours else 3] += ect0
        return counts

    ECN_VIEW = r"""
def kernel_ecn(s):
    return bool(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[5] & 8)  # TCPI_OPT_ECN
"""

    def check_ecn_case(self, kernel_ecn, synack_ecn, expect):
        self.ns.sysctl("net.ipv4.tcp_ecn", kernel_ecn)  # this namespace's own (per-netns sysctl)
        case = f"kernel tcp_ecn={kernel_ecn}, synack --ecn {synack_ecn}"
        # Passive: a kernel client -> synack listen --echo, 200 kB each way.
        p, reader = self.start_listen("--port", "7", "--echo", "--ecn", synack_ecn)
        out = self.py(self.ECN_VIEW + r"""
s = socket.create_connection(("192.0.2.2", 7), timeout=10)
o, i, n = pump(s, 200000)
assert o == i and n == 200000
print("ECN", kernel_ecn(s))
""")
        events = self.stop_listen(p, reader)
        est = [e for e in events if e["event"] == "established"]
        self.assertEqual(len(est), 1, events)
        self.assertEqual(est[0]["negotiated"]["agreed"]["ecn"], expect, case)
        self.assertIn(f"ECN {expect}", out, case)  # the kernel's own view (TCP_INFO)
        ours, ours_ect, theirs, theirs_ect = self.ecn_marks()
        self.assertGreater(ours, 0)
        self.assertEqual(ours_ect, ours if expect else 0, f"passive {case}: synack's data frames")
        self.assertEqual(theirs_ect, theirs if expect else 0, f"passive {case}: the kernel's data frames")
        self.assert_capture_clean()
        # Active: synack connect -> a kernel echo server.
        view = os.path.join(self.tmp, "ecn-view.txt")
        server = PY_HELPERS + self.ECN_VIEW + r"""
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 7008)); l.listen(1); l.settimeout(20)
c, _ = l.accept(); c.settimeout(10)
data = b""
while len(data) < 5000:
    d = c.recv(65536)
    if not d: break
    data += d
open("VIEW_PATH", "w").write("ECN %s" % kernel_ecn(c))
c.sendall(data); c.shutdown(socket.SHUT_WR); c.recv(100); c.close()
"""
        proc = self.ns.spawn(["python3", "-c", server.replace("VIEW_PATH", view)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.wait_port(7008)
        code, lines, _, err = self.connect("192.0.2.1", "7008", "--ecn", synack_ecn, "--send", "e" * 5000)
        self.assertEqual(code, 0, err)
        proc.wait(timeout=10)
        with open(view) as f:
            self.assertEqual(f.read(), f"ECN {expect}", case)
        self.assertEqual(lines[0]["negotiated"]["agreed"]["ecn"], expect, case)
        self.assertEqual(lines[0]["bytes_received"], 5000)
        ours, ours_ect, theirs, theirs_ect = self.ecn_marks()
        self.assertGreater(ours, 0)
        self.assertEqual(ours_ect, ours if expect else 0, f"active {case}: synack's data frames")
        self.assertEqual(theirs_ect, theirs if expect else 0, f"active {case}: the kernel's data frames")
        self.assert_capture_clean()

    def test_ecn_kernel_1_synack_on(self):
        # The kernel asks (tcp_ecn=1) and synack agrees; synack asks and the kernel agrees.
        self.check_ecn_case(1, "on", True)

    def test_ecn_kernel_1_synack_off(self):
        self.check_ecn_case(1, "off", False)

    def test_ecn_kernel_0_synack_on(self):
        # The kernel neither asks nor agrees: no ECN, and no ECT mark on anyone's data.
        self.check_ecn_case(0, "on", False)

    def test_options_timestamps_0(self):
        self.check_options_case("net.ipv4.tcp_timestamps", 0)

    def test_options_timestamps_1(self):
        self.check_options_case("net.ipv4.tcp_timestamps", 1)

    def test_options_sack_0(self):
        self.check_options_case("net.ipv4.tcp_sack", 0)

    def test_options_sack_1(self):
        self.check_options_case("net.ipv4.tcp_sack", 1)

    def test_options_window_scaling_0(self):
        self.check_options_case("net.ipv4.tcp_window_scaling", 0)

    def test_options_window_scaling_1(self):
        self.check_options_case("net.ipv4.tcp_window_scaling", 1)

    def test_options_tcp_maxseg(self):
        self.check_options_case(maxseg=1000)

    # ---- SYN cookies on every SYN -------------------------------------------------------------------------
    def test_syncookies_2(self):
        self.ns.sysctl("net.ipv4.tcp_syncookies", 2)
        self.kernel_device()
        self.ns.spawn(["socat", "TCP-LISTEN:9000,reuseaddr,fork", "EXEC:cat"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_port(9000)
        before = self.ns.run(["nstat", "-az", "TcpExtSyncookiesSent"]).stdout
        text = "cookies " * 2500  # 20 kB: less than the SYN-ACK window (see docs/tun.md, "window full")
        code, lines, _, err = self.connect("192.0.2.1", "9000", "--send", text)
        after = self.ns.run(["nstat", "-az", "TcpExtSyncookiesSent"]).stdout
        self.assertEqual(code, 0, err)
        self.assertEqual(lines[0]["bytes_received"], len(text))
        self.assertEqual(lines[0]["received_sha256"], hashlib.sha256(text.encode()).hexdigest())

        def count(out):
            m = re.search(r"TcpExtSyncookiesSent\s+(\d+)", out)
            return int(m.group(1)) if m else 0
        self.assertGreater(count(after), count(before), after)
        self.assert_capture_clean()

    def test_syncookies_always_keep_wscale_and_sack_without_timestamps(self):
        """A cookie on every SYN (`--syn-cookies always`) from a kernel client that offers window scale and
        SACK but no timestamps: the connection still gets both (Linux's own cookies lose them), as the
        kernel itself reports (ss / TCP_INFO), over IPv4 and IPv6."""
        self.ns.sysctl("net.ipv4.tcp_timestamps", 0)
        p, reader = self.start_listen("--port", "7", "--echo", "--syn-cookies", "always")
        views = {}
        for family, host in (("AF_INET", "192.0.2.2"), ("AF_INET6", "2001:db8::2")):
            client = self.KERNEL_VIEW + f"""
s = socket.socket(socket.{family}, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(("{host}", 7))
s.sendall(b"hello")
s.recv(100)
print(kernel_view(s, "{'[' + host + ']' if ':' in host else host}"))
s.close()
"""
            views[host] = self.py(client)
        events = self.stop_listen(p, reader)
        est = [e for e in events if e["event"] == "established"]
        self.assertEqual(len(est), 2, events)
        for host, ss in views.items():
            mine = [e for e in est if e["peer"].startswith("[2001:db8::1]" if ":" in host else "192.0.2.1")][0]
            ts, sack, ws = self.compare_views(ss, mine["negotiated"], "server", None, "cookie " + host)
            self.assertFalse(ts, ss)
            self.assertTrue(sack, ss)
            self.assertTrue(ws, ss)
            self.assertEqual(mine["negotiated"]["agreed"]["wscale_server"], 7, mine)  # synack's shift survived the cookie
        counters = events[-1].get("counters", {})
        self.assertEqual(counters.get("TcpExtSyncookiesSent"), 2, counters)
        self.assertEqual(counters.get("TcpExtSyncookiesRecv"), 2, counters)
        self.assertEqual(counters.get("TcpExtSyncookiesFailed"), 0, counters)

    # ---- the demo ------------------------------------------------------------------------------------------
    def test_demo(self):
        pcap = os.path.join(self.tmp, "demo.pcap")
        t0 = time.monotonic()
        r = subprocess.run([SYNACK, "demo", "--pcap", pcap], capture_output=True, text=True, timeout=30)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(elapsed, 15.0)
        out = r.stdout
        for needle in ("kernel (client) → synack (server)", "synack (client) → kernel (server)",
                       "192.0.2.1", "[2001:db8::1]", "mss 1460", "mss 1360", "mss 1440", "mss 1340",
                       "→ established after", "→ refused (RST)", "timed out after 2 SYN retransmissions",
                       "[retransmission]", "the kernel's view (ss -tni)", "Capture: " + pcap):
            self.assertIn(needle, out)
        self.assertEqual(out.count("→ established after"), 4, out)
        self.assertEqual(r.stderr, "")
        self.assertEqual(expert_problems(pcap, allow=("Connection reset",)), [])

    def test_demo_json_matches_analyze(self):
        # The live tour's --json and `synack analyze --json` of its capture report every connection with the
        # same outcome and negotiated options (docs/json.md); the tour's text goes to stderr.
        pcap = os.path.join(self.tmp, "demo.pcap")
        r = subprocess.run([SYNACK, "demo", "--json", "--pcap", pcap], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        demo = json.loads(r.stdout)
        self.assertEqual((demo["schema"], demo["document"], demo["mode"]), (1, "demo", "live"), demo)
        self.assertIn("→ established after", r.stderr)
        self.assertEqual([c["number"] for c in demo["connections"]], list(range(1, len(demo["connections"]) + 1)))
        a = subprocess.run([SYNACK, "analyze", "--json", pcap], capture_output=True, text=True, timeout=30)
        self.assertEqual(a.returncode, 0, a.stderr)
        analysed = {c["client"]: c for c in json.loads(a.stdout)["connections"]}
        self.assertEqual(len(analysed), len(demo["connections"]), a.stdout)
        for c in demo["connections"]:
            seen = analysed[c["client"]]
            # The analyzer judges the handshake; the tour also reports a reset after establishment.
            self.assertEqual(seen["outcome"], "established" if c["outcome"] == "reset" else c["outcome"], c)
            self.assertEqual(seen["negotiated"], c["negotiated"], c["title"])

    def test_demo_simulated(self):
        pcap = os.path.join(self.tmp, "demo.pcap")
        r = subprocess.run([SYNACK, "demo", "--simulated", "--pcap", pcap], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no live kernel peer (--simulated was given)", r.stdout)
        self.assertIn("→ refused (RST)", r.stdout)
        self.assertIn("timed out after", r.stdout)

    @unittest.skipUnless(shutil.which("setpriv"), "needs setpriv")
    def test_demo_unprivileged_says_what_is_missing(self):
        # As nobody: either a user + network namespace with a usable /dev/net/tun (the live tour), or one
        # line naming what is missing, then the same tour over the simulated link.
        os.chmod(self.tmp, 0o755)
        binary = os.path.join(self.tmp, "synack")
        shutil.copy(SYNACK, binary)
        os.chmod(binary, 0o755)
        pcap = os.path.join(self.tmp, "demo.pcap")
        open(pcap, "w").close()
        os.chmod(pcap, 0o666)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "demo",
                            "--pcap", pcap], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        first = r.stdout.splitlines()[0]
        if first.startswith("synack demo: no live kernel peer ("):
            self.assertIn("the same tour over the simulated link instead", first)
            self.assertIn("→ refused (RST)", r.stdout)
        else:
            self.assertIn("→ established after", r.stdout)

    # ---- martian probes (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7) --------------------------------------------
    def test_martians(self):
        """SYNs from each martian source class, IPv4 and IPv6, written straight onto the TUN device (a
        packet socket: no kernel routing check in the way) get no SYN-ACK and are counted by reason; a
        SIGUSR1 prints the counters while listen goes on; two legitimate SYNs are answered."""
        p, reader = self.start_listen("--port", "80", "--discard")
        errors = LineReader(p.stderr)
        out = self.py(r"""
import ipaddress, socket, struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF
def syn(src, dst, sport):
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, 80, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    if s.version == 4:
        pseudo = s.packed + d.packed + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, s.packed, d.packed)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        return 0x0800, ip + tcp
    pseudo = s.packed + d.packed + struct.pack("!I3xB", len(tcp), 6)
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    return 0x86DD, struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, s.packed, d.packed) + tcp
probes = ["0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1", "239.1.2.3", "240.0.0.1", "255.255.255.255",
          "192.0.2.2", "::", "::1", "ff02::1", "::ffff:c000:201", "2001:db8::2",
          "192.0.2.1", "2001:db8::1"]  # the last two are legitimate: the kernel's (it resets the SYN-ACKs)
for i, src in enumerate(probes):
    dst = "192.0.2.2" if ":" not in src else "2001:db8::2"
    proto, pkt = syn(src, dst, 40000 + i)
    sk = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(proto))
    sk.sendto(pkt, ("synack0", proto))
    sk.close()
print("sent", len(probes))
""")
        self.assertIn("sent 15", out)
        expected = {"SynackMartianZeroNet": 2, "SynackMartianLoopback": 1, "SynackMartianMulticast": 2,
                    "SynackMartianBroadcastReserved": 2, "SynackMartianOwnAddress": 2,
                    "SynackMartianV6Unspecified": 1, "SynackMartianV6Loopback": 1,
                    "SynackMartianV6Multicast": 1, "SynackMartianV4Mapped": 1, "SynackMartianDestination": 0}
        # SIGUSR1 until the counters show every probe (the probes cross the device asynchronously).
        counters = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(p.pid, signal.SIGUSR1)
            line = errors.wait_for(lambda l: '"counters"' in l, 2)
            self.assertIsNotNone(line, "no counters on SIGUSR1")
            counters = json.loads(line)["counters"]
            if counters["SynackSynAcksSent"] >= 2 and all(counters[k] >= v for k, v in expected.items()):
                break
            time.sleep(0.1)
        self.assertIsNone(p.poll(), "SIGUSR1 must not end synack listen")
        events = self.stop_listen(p, reader)
        final = events[-1]["counters"]
        for name, n in expected.items():
            self.assertEqual(final[name], n, name)
        # Only the two legitimate SYNs were answered; no RST went to a martian either.
        self.assertEqual(final["SynackListenSyns"], 2)
        self.assertGreaterEqual(final["SynackSynAcksSent"], 2)
        self.assertEqual(final["TcpOutRsts"], 0)
        self.assertEqual(final["SynackNoListener"], 0)
        self.assertGreaterEqual(final["TcpOutSegs"], 2)
        self.assertIn("SynackTunWriteDrops", final)
        self.assertIn("TcpExtListenDrops", final)


    # ---- scapy probes over TUN ---------------------------------------------------------------------------
    # Packets are built and parsed with scapy and written straight onto the TUN device with a packet socket
    # (no kernel routing check in the way, so martian sources reach synack as a forged packet would); what
    # synack writes back is read from the same device. Sources that are not the kernel's (192.0.2.77,
    # 2001:db8::77) keep the kernel out of the handshake: it drops synack's SYN-ACKs to them (not a router).
    def scapy_probe(self, body, timeout=60):
        if not SCAPY:
            self.skipTest("needs /usr/bin/python3 with scapy (python3-scapy)")
        r = self.ns.run(["/usr/bin/python3", "-c", SCAPY_HELPERS + body], timeout=timeout)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout.strip().splitlines()[-1])

    def test_scapy_martians(self):
        """SYNs from each martian source class (scapy), IPv4 and IPv6: no SYN-ACK comes back, no state is
        created (the listener saw only the two legitimate SYNs) and each is counted under its reason."""
        p, reader = self.start_listen("--port", "80", "--discard")
        got = self.scapy_probe(r"""
probes = ["0.0.0.0", "0.1.2.3", "127.0.0.1", "127.9.9.9", "224.0.0.1", "239.1.2.3", "240.0.0.1",
          "255.255.255.255", "192.0.2.2", "::", "::1", "ff02::1", "ff0e::5", "::ffff:c000:201", "::ffff:7f00:1",
          "2001:db8::2"]
legit = ["192.0.2.77", "2001:db8::77"]
answers = {}
for i, src in enumerate(probes + legit):
    pkt = syn(src, 41000 + i, options=[("MSS", 1400)])
    send_tun(pkt)
    answers[src] = [summary(r) for r in replies(lambda r: r[TCP].dport == 41000 + i, 0.3)]
print(json.dumps(answers))
""")
        for src, answers in got.items():
            if src in ("192.0.2.77", "2001:db8::77"):
                self.assertEqual([a["flags"] for a in answers][:1], ["SA"], (src, answers))
            else:
                self.assertEqual(answers, [], f"{src} got an answer")
        events = self.stop_listen(p, reader)
        c = events[-1]["counters"]
        expected = {"SynackMartianZeroNet": 2, "SynackMartianLoopback": 2, "SynackMartianMulticast": 2,
                    "SynackMartianBroadcastReserved": 2, "SynackMartianOwnAddress": 2,
                    "SynackMartianV6Unspecified": 1, "SynackMartianV6Loopback": 1,
                    "SynackMartianV6Multicast": 2, "SynackMartianV4Mapped": 2, "SynackMartianDestination": 0}
        for name, n in expected.items():
            self.assertEqual(c[name], n, name)
        # No state: only the two legitimate SYNs reached the listener and took a SYN-queue entry.
        self.assertEqual(c["SynackListenSyns"], 2, c)
        self.assertEqual(events[-1]["listeners"][0]["syns_received"], 2)
        self.assertEqual(c["TcpOutRsts"], 0, c)
        self.assertEqual(c["SynackNoListener"], 0, c)

    def test_scapy_cookie_keeps_wscale_and_sack(self):
        """`--syn-cookies always`: a SYN with window scale 7 and SACK-permitted but no timestamps (scapy)
        gets a cookie SYN-ACK with both; the final ACK completes a connection whose window scale is 7 and
        SACK on (synack's established line), IPv4 and IPv6; data sent scaled by 7 is acknowledged."""
        p, reader = self.start_listen("--port", "80", "--discard", "--syn-cookies", "always")
        got = self.scapy_probe(r"""
out = {}
for src in ("192.0.2.77", "2001:db8::77"):
    sport = 42000 + (src.count(":") and 1)
    send_tun(syn(src, sport, seq=1000, options=[("MSS", 1400), ("NOP", None), ("WScale", 7),
                                                 ("NOP", None), ("NOP", None), ("SAckOK", b"")]))
    sa = replies(lambda r: r[TCP].dport == sport and "S" in str(r[TCP].flags), 2)
    if not sa:
        out[src] = None
        continue
    t = sa[0][TCP]
    # The final ACK, then 100 bytes: a window of 4 means 512 bytes once scaled by 7.
    send_tun(segment(src, sport, 1001, t.seq + 1, "A", window=4))
    send_tun(segment(src, sport, 1001, t.seq + 1, "PA", window=4, payload=b"x" * 100))
    acks = replies(lambda r: r[TCP].dport == sport and r[TCP].ack == 1101, 2)
    out[src] = {"synack": summary(sa[0]), "acked_data": bool(acks)}
    send_tun(segment(src, sport, 1101, t.seq + 1, "R", window=0))
print(json.dumps(out))
""")
        events = self.stop_listen(p, reader)
        est = [e for e in events if e["event"] == "established"]
        self.assertEqual(len(est), 2, events)
        for src in ("192.0.2.77", "2001:db8::77"):
            self.assertIsNotNone(got[src], f"no SYN-ACK for {src}")
            sa = got[src]["synack"]
            self.assertEqual(sa["flags"], "SA")
            self.assertIn("SAckOK", sa["options"], sa)
            self.assertIn("WScale", sa["options"], sa)
            self.assertNotIn("Timestamp", sa["options"], sa)
            self.assertTrue(got[src]["acked_data"], src)
            mine = [e for e in est if e["peer"].startswith("[2001:db8::77]" if ":" in src else "192.0.2.77:")]
            self.assertEqual(len(mine), 1, est)
            agreed = mine[0]["negotiated"]["agreed"]
            self.assertEqual(agreed["wscale_client"], 7, agreed)  # the client's shift survived the cookie
            self.assertTrue(agreed["sack"], agreed)
            self.assertFalse(agreed["timestamps"], agreed)
        c = events[-1]["counters"]
        self.assertEqual(c["TcpExtSyncookiesSent"], 2, c)
        self.assertEqual(c["TcpExtSyncookiesRecv"], 2, c)
        self.assertEqual(c["TcpExtSyncookiesFailed"], 0, c)
        self.assertEqual(events[-1]["listeners"][0]["syn_queue"], 0)

    def low_rate_attack(self, mode, syn_queue=None):
        """10 spoofed SYN/s (scapy, random sources in 198.51.100.0/24 and 203.0.113.0/24 that never
        answer) while a kernel client connects once a second (3 s timeout): every legitimate connection
        completes. SYNACK_LOW_RATE_SECONDS sets the length (default 15; the issue's full run is 90).
        With the default SYN queue (65,536 entries) the attack never fills it: sizing alone carries the
        clients. With a small queue (syn_queue) it is full within seconds, and with cookies off only
        pruning the oldest retransmitted entry carries them (before pruning, a full queue dropped every
        SYN until an entry's five SYN-ACK retransmissions ran out)."""
        seconds = int(os.environ.get("SYNACK_LOW_RATE_SECONDS", "15"))
        extra = ["--syn-queue", str(syn_queue)] if syn_queue else []
        p, reader = self.start_listen("--port", "80", "--discard", "--quiet", "--syn-cookies", mode, *extra)
        got = self.scapy_probe(rf"""
import random, threading
stop = time.monotonic() + {seconds}
sent = [0]
def attacker():
    rng = random.Random(11)
    n = 0
    while time.monotonic() < stop:
        net = rng.choice(("198.51.100.", "203.0.113."))
        send_tun(syn(net + str(rng.randrange(1, 255)), rng.randrange(1024, 65536), seq=rng.randrange(2**32)))
        n += 1
        time.sleep(max(0.0, (n / 10.0) - (time.monotonic() - (stop - {seconds}))))
    sent[0] = n
t = threading.Thread(target=attacker)
t.start()
results = []
for i in range({seconds}):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    a = time.monotonic()
    try:
        s.connect(("192.0.2.2", 80))
        results.append(time.monotonic() - a)
    except OSError:
        results.append(None)
    s.close()
    time.sleep(max(0.0, 1.0 - (time.monotonic() - a)))
t.join()
print(json.dumps({{"results": results, "spoofed": sent[0]}}))
""", timeout=seconds * 5 + 60)
        events = self.stop_listen(p, reader)
        c = events[-1]["counters"]
        ok = [r for r in got["results"] if r is not None]
        queue = f", --syn-queue {syn_queue}" if syn_queue else ""
        print(f"\n  low-rate attack, --syn-cookies {mode}{queue}, {seconds} s: {len(ok)} of {len(got['results'])} "
              f"legitimate connections, {got['spoofed']} spoofed SYNs; listener SYNs "
              f"{c['SynackListenSyns']}, SYN-ACKs {c['SynackSynAcksSent']}, cookies {c['TcpExtSyncookiesSent']}, "
              f"queue-full drops {c['TcpExtTCPReqQFullDrop']}, pruned {c['SynackSynQueuePruned']}",
              file=sys.stderr)
        self.assertEqual(len(ok), seconds, got)
        self.assertGreaterEqual(got["spoofed"], seconds * 10 - 2)
        self.assertGreaterEqual(c["SynackListenSyns"], got["spoofed"] + seconds)
        self.assertEqual(c["TcpExtTCPReqQFullDrop"], 0, c)
        if syn_queue and mode == "never":
            # The queue filled (more spoofed SYNs than entries) and pruning made room for every SYN.
            self.assertGreater(got["spoofed"], syn_queue)
            self.assertGreater(c["SynackSynQueuePruned"], 0, c)
            self.assertEqual(c["TcpExtSyncookiesSent"], 0, c)
        return c

    def test_scapy_low_rate_attack_never(self):
        self.low_rate_attack("never")

    def test_scapy_low_rate_attack_small_queue_never(self):
        # SYNACK_LOW_RATE_QUEUE sets the size (default 64; BENCHMARKS.md's run uses 256, the old bound).
        self.low_rate_attack("never", syn_queue=int(os.environ.get("SYNACK_LOW_RATE_QUEUE", "64")))

    def test_scapy_low_rate_attack_when_full(self):
        self.low_rate_attack("when-full")

    def test_refuses_to_configure_a_shared_namespace(self):
        # A namespace with a veth (like any real host's) is not private: synack must not add addresses.
        self.ns.run(["ip", "link", "add", "e2e0", "type", "veth", "peer", "name", "e2e1"], check=True)
        r = self.ns.run([SYNACK, "listen", "--port", "7"], timeout=10)
        self.assertEqual(r.returncode, 7)
        self.assertIn("refusing to add addresses", r.stderr)
        addrs = self.ns.run(["ip", "-br", "addr"]).stdout
        self.assertNotIn("192.0.2.", addrs)


def main():
    """The kernel tests' command line, for this file and those that import it: [--synack PATH] [unittest
    arguments]; exit 77 (CTest's skip) without root."""
    global SYNACK
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--synack":
        SYNACK = os.path.abspath(args[1])
        args = args[2:]
    if os.geteuid() != 0:
        print("SKIP: needs root (ip netns)")
        sys.exit(77)
    unittest.main(module="__main__", argv=[sys.argv[0]] + args, verbosity=2)


if __name__ == "__main__":
    main()
