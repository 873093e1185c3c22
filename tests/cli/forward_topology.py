#!/usr/bin/env python3
"""The namespaces, servers and `synack forward` process shared by forward_e2e.py and
bench/tun/forward_bench.py (the topology is drawn in forward_e2e.py's docstring and docs/forward.md)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tun_e2e  # noqa: E402  (Namespace, LineReader)

SYNACK = os.environ.get("SYNACK", "synack")
SERVER4, SERVER6 = "203.0.113.10", "2001:db8:2::10"
FILTERED4, FILTERED6 = "203.0.113.99", "2001:db8:2::99"
ECHO_PORTS = (7003, 7007, 7011)  # the asyncio echo server's; 7000-7019 is the scanned range
SOCAT_PORT, HTTP_PORT = 7100, 8080
HALF_PORT, CLOSE_FIRST_PORT, RST_PORT, SLOW_PORT, SOURCE_PORT = 7200, 7201, 7202, 7203, 7204
MB = 1024 * 1024
# RSS bound of the back-pressure test: the process at rest plus this much (docs/forward.md "Memory").
RSS_GROWTH_BOUND_KB = 16 * 1024

# Servers in S: echo on several ports (asyncio), half-close and reset behaviours, a slow reader and a
# fast source (for the back-pressure test).
SERVERS = r'''
import asyncio, hashlib, os, socket, struct, sys
BLOCK = hashlib.sha256(b"synack").digest() * 2048   # 64 KiB
async def echo(r, w):
    try:
        while True:
            d = await r.read(65536)
            if not d: break
            w.write(d); await w.drain()
        w.write_eof(); await w.drain()
    except Exception: pass
    w.close()
async def half(r, w):          # reads to EOF, then sends what it read and 1 MiB more, then closes
    got = b""
    while True:
        d = await r.read(65536)
        if not d: break
        got += d
    w.write(got + BLOCK * 16); await w.drain(); w.close()
async def close_first(r, w):   # sends 100 KiB and FIN first, then reads what the client still sends
    w.write((BLOCK * 2)[:100 * 1024]); await w.drain(); w.write_eof()
    got = b""
    while True:
        d = await r.read(65536)
        if not d: break
        got += d
    open(os.path.join(sys.argv[1], "close_first.txt"), "wb").write(got)
    w.close()
async def rst(r, w):           # answers the first byte with an RST
    await r.read(1)
    s = w.get_extra_info("socket")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    w.transport.abort()
async def slow(r, w):          # reads at 1 MB/s
    try:
        while True:
            d = await r.read(65536)
            if not d: break
            await asyncio.sleep(len(d) / 1e6)
    except Exception: pass
    w.close()
async def source(r, w):        # sends 200 MB as fast as the peer takes it
    try:
        for _ in range(200 * 16):
            w.write(BLOCK); await w.drain()
        w.write_eof(); await w.drain()
    except Exception: pass
    w.close()
async def main():
    servers = []
    for port, fn in [(7003, echo), (7007, echo), (7011, echo), (7200, half), (7201, close_first),
                     (7202, rst), (7203, slow), (7204, source)]:
        servers.append(await asyncio.start_server(fn, host=["203.0.113.10", "2001:db8:2::10"], port=port,
                                                  backlog=2048))
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
'''

# Deterministic data and sha256 of both directions, for Python run inside a namespace (tun_e2e's).
PY_HELPERS = tun_e2e.PY_HELPERS


class Namespace(tun_e2e.Namespace):
    """tun_e2e's namespace, with the client helpers (PY_HELPERS) for code run inside it."""

    def py(self, code, timeout=120):
        r = self.run(["/usr/bin/python3", "-c", PY_HELPERS + code], timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"client failed: {r.stderr[-2000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])


LineReader = tun_e2e.LineReader


def expert_problems(pcap, allow=()):
    """tshark's expert infos of warning severity or above on the frames synack wrote (source: a server
    address, for which synack answers), except the messages in `allow`. The judge is tun_e2e's, payloads
    decoded as plain data: a client's ephemeral port can be one that tshark gives a dissector (34980,
    EtherCAT), which then warns about the echoed bytes ("Incorrect Mailbox data length", seen in CI)."""
    return tun_e2e.expert_problems(
        pcap, allow, judged=lambda src4, src6: src4.startswith("203.0.113.") or src6.startswith("2001:db8:2::"))


class Topology:
    """C, U and S with the servers running in S and `synack forward` in C (see the file comment)."""
    counter = 0

    def __init__(self, forward_args=(), http_dir=None, upstream_device=False):
        """upstream_device: no U; the veth to S is in C itself and synack's sockets leave through it by
        --upstream-device (SO_BINDTODEVICE) while the servers' host routes in C point into the TUN
        device. C then has a real interface, so synack runs with --no-configure and the test configures
        synack0 (docs/forward.md, routing option 2)."""
        Topology.counter += 1
        base = f"synack-fwd-{os.getpid()}-{Topology.counter}"
        self.tmp = tempfile.mkdtemp(prefix="synack-fwd-")
        os.chmod(self.tmp, 0o777)  # synack writes its pcap here as root before dropping to nobody
        self.c = self.u = self.s = None
        try:
            self.c, self.s = Namespace(base + "-c"), Namespace(base + "-s")
            self.u = self.c if upstream_device else Namespace(base + "-u")
            self._wire()
            self._servers(http_dir)
            self.pcap = os.path.join(self.tmp, "forward.pcap")
            if upstream_device:
                route = ["--no-configure", "--upstream-device", "fwd0"]
            else:
                route = ["--kernel-addr", "192.0.2.1/24", "--kernel-addr", "2001:db8::1/64", "--route",
                         "203.0.113.0/24", "--route", "2001:db8:2::/64", "--upstream-netns", self.u.name]
            self.fwd = self.c.spawn([SYNACK, "forward", "--tun", "synack0", *route, "--pcap", self.pcap,
                                     "--json-stream", *forward_args],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.reader = LineReader(self.fwd.stdout)
            if self.reader.wait_for(lambda l: '"forwarding"' in l, 20) is None:
                raise AssertionError(f"synack forward did not start: {self.fwd.stderr.read()}")
            if upstream_device:
                self._route_into_tun()
        except BaseException:
            self.close()
            raise

    def _wire(self):
        subprocess.run(["ip", "link", "add", "fwd0", "netns", self.u.name, "type", "veth", "peer", "name",
                        "srv0", "netns", self.s.name], check=True, timeout=10)
        for ns, dev, v4, v6 in ((self.u, "fwd0", "203.0.113.1/24", "2001:db8:2::1/64"),
                                (self.s, "srv0", "203.0.113.10/24", "2001:db8:2::10/64")):
            ns.run(["ip", "addr", "add", v4, "dev", dev], check=True)
            ns.run(["ip", "-6", "addr", "add", v6, "dev", dev, "nodad"], check=True)
            ns.run(["ip", "link", "set", dev, "up"], check=True)
        self.u.run(["ip", "route", "add", "blackhole", FILTERED4 + "/32"], check=True)
        self.u.run(["ip", "-6", "route", "add", "blackhole", FILTERED6 + "/128"], check=True)

    def _route_into_tun(self):
        """--upstream-device: the kernel side of synack0 and host routes to the servers into it; more
        specific than fwd0's connected prefixes, so the applications in C reach the servers through
        synack, while synack's sockets, bound to fwd0, can only use fwd0's routes."""
        for cmd in (["ip", "link", "set", "synack0", "up"],
                    ["ip", "addr", "add", "192.0.2.1/24", "dev", "synack0"],
                    ["ip", "-6", "addr", "add", "2001:db8::1/64", "dev", "synack0", "nodad"],
                    ["ip", "route", "add", SERVER4 + "/32", "dev", "synack0"],
                    ["ip", "-6", "route", "add", SERVER6 + "/128", "dev", "synack0"]):
            self.c.run(cmd, check=True)

    def _servers(self, http_dir):
        srv = self.s.spawn(["/usr/bin/python3", "-c", SERVERS, self.tmp], stdout=subprocess.PIPE, text=True)
        if LineReader(srv.stdout).wait_for(lambda l: "ready" in l, 20) is None:
            raise AssertionError("the servers in S did not start")
        for addr in (SERVER4, SERVER6):
            bind = f"[{addr}]" if ":" in addr else addr
            # -b 4096: socat's PIPE echo is one process that writes each block into a pipe only it
            # reads; with its default 8 KiB blocks a write into a pipe with one free 4 KiB slot (poll
            # calls that writable) blocks for good once data flows both ways at full speed (seen: the
            # socat child asleep in anon_pipe_write in at least 1 of 12 runs over plain loopback,
            # without synack). A block of PIPE_BUF always fits in a free slot.
            self.s.spawn(["socat", "-b", "4096", f"TCP{'6' if ':' in addr else '4'}-LISTEN:{SOCAT_PORT},"
                          f"bind={bind},reuseaddr,fork,backlog=128", "PIPE"])
        if http_dir:
            for addr in (SERVER4, SERVER6):
                self.s.spawn(["/usr/bin/python3", "-m", "http.server", "--bind", addr, "--directory", http_dir,
                              str(HTTP_PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait until every server answers from U (where synack's sockets are).
        wait = "import socket,time\n" \
               "for a,p in [('%s',%d),('%s',%d),('%s',%d)]:\n" \
               "  for i in range(200):\n" \
               "    try: socket.create_connection((a,p),1).close(); break\n" \
               "    except OSError: time.sleep(0.05)\n" % (SERVER4, SOCAT_PORT, SERVER6, SOCAT_PORT,
                                                            SERVER6 if http_dir else SERVER4,
                                                            HTTP_PORT if http_dir else ECHO_PORTS[0])
        self.u.run(["/usr/bin/python3", "-c", wait], timeout=30)

    def status(self):
        with open(f"/proc/{self.fwd.pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)

    def stop(self):
        """SIGINT; returns the JSON events synack printed (the summary last)."""
        os.kill(self.fwd.pid, signal.SIGINT)
        try:
            self.fwd.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        lines = self.reader.rest(5)
        return [json.loads(l) for l in lines if l.startswith("{")]

    def close(self):
        for stream in (getattr(self, "fwd", None) and self.fwd.stdout, getattr(self, "fwd", None) and self.fwd.stderr):
            if stream:
                stream.close()
        for ns in {id(n): n for n in (self.c, self.u, self.s) if n is not None}.values():
            ns.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


