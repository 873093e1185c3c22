#!/usr/bin/env python3
"""The tshark judge of the TUN end-to-end tests (tun_e2e.expert_problems, forward_topology.expert_problems)
on captures written here: what it must report, and what it must not.

CI once failed forward_e2e on "Malformed Packet (Exception occurred)" on a sound segment synack had relayed:
the client's ephemeral port was 34980, which tshark gives to EtherCAT, and EtherCAT parsed the echoed
pattern bytes ("Incorrect Mailbox data length" in another run). The judge decodes every TCP payload as data;
IP, TCP and tshark's TCP analysis are judged as before. Needs tshark (skipped, 77, otherwise); no root.
"""
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forward_topology  # noqa: E402
import tun_e2e  # noqa: E402

BLOCK = hashlib.sha256(b"synack").digest() * 2048  # the e2e helpers' pattern
SERVER, CLIENT = bytes([203, 0, 113, 10]), bytes([192, 0, 2, 1])
ETHERCAT_PORT = 34980  # 0x88A4: a tcp.port tshark decodes as EtherCAT ("ecatf")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_tcp(src, dst, sport, dport, seq, ack, payload, total_length=None):
    """An IPv4 datagram with a TCP segment (ACK|PSH, timestamps), both checksums right; `total_length`
    overrides the IP header's length field (the IP checksum covers the value written)."""
    options = struct.pack("!BBBBII", 1, 1, 8, 10, 1000, 2000)
    offset = (20 + len(options)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, 0x18, 502, 0, 0) + options + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    length = 20 + len(tcp) if total_length is None else total_length
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def write_pcap(path, datagrams):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for i, d in enumerate(datagrams):
            f.write(struct.pack("<IIII", 1, i, len(d), len(d)) + d)


def echoed_stream(dport):
    """A server's in-order echo of the pattern to a client port: 32 full segments, each starting at another
    offset into the pattern's 32-byte period (so that a payload dissector sees every alignment)."""
    out, seq = [], 1
    for off in range(32):
        payload = BLOCK[off:off + 1420]
        out.append(ipv4_tcp(SERVER, CLIENT, 7003, dport, seq, 1, payload))
        seq += len(payload)
    return out


@unittest.skipUnless(shutil.which("tshark"), "needs tshark")
class ExpertJudge(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="synack-judge-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def pcap(self, name, datagrams):
        path = os.path.join(self.dir, name)
        write_pcap(path, datagrams)
        return path

    def test_payload_on_a_dissector_port_is_not_judged(self):
        path = self.pcap("ethercat.pcap", echoed_stream(ETHERCAT_PORT))
        # The premise: tshark's own dissection of these bytes warns (otherwise this test proves nothing).
        raw = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "_ws.expert.message"],
                             capture_output=True, text=True, timeout=60).stdout
        self.assertTrue("Mailbox" in raw or "Malformed" in raw, raw)
        self.assertEqual(tun_e2e.expert_problems(path), [])
        self.assertEqual(forward_topology.expert_problems(path), [])

    def test_segment_shorter_than_its_tcp_header_is_reported(self):
        stream = echoed_stream(40000)
        stream.append(ipv4_tcp(SERVER, CLIENT, 7003, 40000, 1, 1, b"", total_length=30))
        path = self.pcap("short.pcap", stream)
        for judge in (tun_e2e.expert_problems, forward_topology.expert_problems):
            problems = judge(path)
            self.assertEqual(len(problems), 1, problems)
            self.assertIn("frame 33: Malformed", problems[0])

    def test_forward_judge_counts_only_synack_frames(self):
        # The same short datagram from the client's side: the kernel's, not synack's doing.
        path = self.pcap("client.pcap", [ipv4_tcp(CLIENT, SERVER, 40000, 7003, 1, 1, b"", total_length=30)])
        self.assertEqual(forward_topology.expert_problems(path), [])
        self.assertEqual(len(tun_e2e.expert_problems(path)), 1)


if __name__ == "__main__":
    if not shutil.which("tshark"):
        print("skipped: needs tshark")
        sys.exit(77)
    unittest.main()
