#!/usr/bin/env python3
"""TCP Fast Open (RFC 7413) against the Linux kernel over TUN, both directions (issue 16's acceptance).

Each test runs in a network namespace of its own (tun_e2e.Namespace), whose own net.ipv4.tcp_fastopen the
test sets (a per-namespace sysctl: the root namespace is never touched); every process is killed by PID.
Addresses: 192.0.2.0/24 only. Needs root; otherwise skipped (exit 77).

Usage: tfo_e2e.py --synack PATH [unittest arguments]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tun_e2e  # noqa: E402  (Namespace, LineReader, the TunE2E helpers)


def frames(pcap, display_filter):
    """(frame number, src, flags, seq, ack, len, tfo cookie) of the frames matching the filter, absolute
    sequence numbers."""
    out = subprocess.run(["tshark", "-r", pcap, "-o", "tcp.relative_sequence_numbers:FALSE", "-Y", display_filter,
                          "-T", "fields", "-e", "frame.number", "-e", "ip.src", "-e", "tcp.flags",
                          "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len", "-e", "tcp.options.tfo.cookie",
                          "-e", "tcp.options.tfo.request"],
                         capture_output=True, text=True, timeout=60)
    rows = []
    for line in out.stdout.splitlines():
        f = (line.split("\t") + [""] * 8)[:8]
        rows.append({"n": int(f[0]), "src": f[1], "flags": int(f[2], 16), "seq": int(f[3] or 0),
                     "ack": int(f[4] or 0), "len": int(f[5] or 0), "cookie": f[6], "request": f[7]})
    return rows


SYN, ACK = 0x002, 0x010


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip") and shutil.which("tshark"),
                     "needs root, iproute2 and tshark")
class FastOpenE2E(unittest.TestCase):
    setUp = tun_e2e.TunE2E.setUp
    tearDown = tun_e2e.TunE2E.tearDown
    start_listen = tun_e2e.TunE2E.start_listen
    stop_listen = tun_e2e.TunE2E.stop_listen
    kernel_device = tun_e2e.TunE2E.kernel_device
    py = tun_e2e.TunE2E.py
    connect = tun_e2e.TunE2E.connect
    wait_port = tun_e2e.TunE2E.wait_port

    def test_fastopen_kernel_client_to_synack_listen(self):
        self.ns.sysctl("net.ipv4.tcp_fastopen", 1)  # the client side, in this namespace only
        p, reader = self.start_listen("--port", "7", "--echo", "--fastopen")
        out = self.py(r"""
MSG_FASTOPEN = 0x20000000
for i in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    msg = b"tfo-%d" % i
    s.sendto(msg, MSG_FASTOPEN, ("192.0.2.2", 7))  # blocking: connects (with the data when a cookie is cached)
    s.settimeout(10)
    got = b""
    while len(got) < len(msg):
        d = s.recv(100)
        if not d: break
        got += d
    assert got == msg, got
    s.shutdown(socket.SHUT_WR); s.recv(100); s.close()
    time.sleep(0.2)
print("ok")
""")
        self.assertIn("ok", out)
        events = self.stop_listen(p, reader)
        est = [e for e in events if e["event"] == "established"]
        self.assertEqual(len(est), 2, events)
        self.assertIsNone(est[0]["fast_open"])  # the first connection only obtained a cookie
        self.assertEqual(est[1]["fast_open"]["syn_data_bytes"], 5)
        self.assertTrue(est[1]["fast_open"]["syn_data_accepted"])
        syns = frames(self.pcap, "ip.src == 192.0.2.1 && tcp.flags.syn == 1 && tcp.flags.ack == 0")
        self.assertEqual(len(syns), 2, syns)
        self.assertEqual(syns[0]["len"], 0)  # a cookie request
        self.assertEqual(syns[1]["len"], 5)  # data in the SYN, with the cookie
        self.assertTrue(syns[1]["cookie"], syns)
        acks = frames(self.pcap, "ip.src == 192.0.2.2 && tcp.flags.syn == 1 && tcp.flags.ack == 1")
        self.assertEqual(len(acks), 2, acks)
        self.assertTrue(acks[0]["cookie"], "the first SYN-ACK carries a cookie")
        self.assertEqual(acks[1]["ack"], (syns[1]["seq"] + 1 + 5) % 2**32, "SYN-ACK acknowledges SYN+data")
        # The echoed reply leaves before the client's final ACK reaches synack.
        after = [f for f in frames(self.pcap, "tcp") if f["n"] > acks[1]["n"]]
        reply = next(f for f in after if f["src"] == "192.0.2.2" and f["len"] == 5)
        final_ack = next(f for f in after if f["src"] == "192.0.2.1" and f["flags"] & ACK)
        self.assertLess(reply["n"], final_ack["n"], after[:6])
        self.assertEqual(tun_e2e.expert_problems(self.pcap), [])

    def test_fastopen_synack_connect_to_kernel_server(self):
        self.ns.sysctl("net.ipv4.tcp_fastopen", 3)  # client and server, in this namespace only
        self.kernel_device()
        server = self.ns.spawn(["python3", "-c", r"""
import socket
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.setsockopt(socket.IPPROTO_TCP, 23, 16)  # TCP_FASTOPEN, queue length 16
l.bind(("0.0.0.0", 7009)); l.listen(8); l.settimeout(30)
for _ in range(3):
    c, _ = l.accept(); c.settimeout(10)
    d = c.recv(100)
    c.sendall(d); c.shutdown(socket.SHUT_WR)
    try: c.recv(100)
    except OSError: pass
    c.close()
"""], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.wait_port(7009)
        cache = os.path.join(self.tmp, "tfo-cache")
        runs = []
        syn_lens = []
        for i in range(3):
            self.pcap = os.path.join(self.tmp, f"connect{i}.pcap")
            if i == 2:
                # A corrupted cookie: the server must refuse the data and the handshake continue plainly.
                with open(cache) as f:
                    addr, mss, cookie = f.read().split("\n")[0].split(" ")
                bad = ("0" if cookie[0] != "0" else "1") + cookie[1:]
                with open(cache, "w") as f:
                    f.write(f"{addr} {mss} {bad}\n")
            code, lines, _, err = self.connect("192.0.2.1", "7009", "--fastopen", "--fastopen-cache", cache,
                                               "--send", "hello")
            self.assertEqual(code, 0, err)
            self.assertEqual(lines[0]["bytes_received"], 5, lines)
            runs.append(lines[0]["fast_open"])
            syns = frames(self.pcap, "ip.src == 192.0.2.2 && tcp.flags.syn == 1 && tcp.flags.ack == 0")
            syn_lens.append([x["len"] for x in syns])
            self.assertEqual(tun_e2e.expert_problems(self.pcap), [], f"connection {i}")
        server.wait(timeout=10)
        self.assertTrue(runs[0]["cookie_requested"] and runs[0]["cookie_received"], runs)
        self.assertEqual(runs[0]["syn_data_bytes"], 0)
        self.assertTrue(runs[1]["cookie_sent"], runs)
        self.assertEqual(runs[1]["syn_data_bytes"], 5)
        self.assertTrue(runs[1]["syn_data_accepted"], runs)
        self.assertEqual(runs[2]["syn_data_bytes"], 5)
        self.assertFalse(runs[2]["syn_data_accepted"], runs)
        self.assertTrue(runs[2]["cookie_received"], "a fresh cookie replaces the corrupted one")
        with open(cache) as f:
            self.assertNotEqual(f.read().split("\n")[0].split(" ")[2], bad)
        self.assertEqual(syn_lens, [[0], [5], [5]])


if __name__ == "__main__":
    tun_e2e.main()
