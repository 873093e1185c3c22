#!/usr/bin/env python3
"""Accurate ECN (RFC 9768) against the Linux kernel over TUN, both directions (issue 16).

synack asks for AccECN (--ecn accecn) or agrees to it; the kernel's net.ipv4.tcp_ecn, set in each test's
own network namespace (a per-namespace sysctl: the root namespace is never touched), decides what Linux
offers: 0 nothing, 1 RFC 3168 ECN both ways, 2 RFC 3168 when asked, 3 AccECN both ways (where the kernel
takes the value). tshark reads the SYN, SYN-ACK and ACK flags and the IP ECN field from the capture; the
kernel's TCP_INFO says whether it uses ECN. Addresses: 192.0.2.0/24 only. Needs root, iproute2 and tshark;
otherwise skipped (exit 77).

Usage: accecn_e2e.py --synack PATH [unittest arguments]
"""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import tun_e2e  # noqa: E402  (Namespace, LineReader, the TunE2E helpers)

SYN, ACK, ECE, CWR, AE = 0x002, 0x010, 0x040, 0x080, 0x100
ACE_BITS = AE | CWR | ECE
SYNACK_ADDR = "192.0.2.2"


def ace(flags):
    """The three ECN flags as one number, AE the most significant (RFC 9768's ACE field)."""
    return (flags >> 6) & 7


def frames(pcap):
    """(src, tcp flags, IP ECN field, payload length) of every TCP frame in the capture, in order."""
    out = subprocess.run(["tshark", "-r", pcap, "-Y", "tcp", "-T", "fields", "-e", "ip.src", "-e", "tcp.flags",
                          "-e", "ip.dsfield.ecn", "-e", "tcp.len"],
                         capture_output=True, text=True, timeout=60).stdout
    rows = []
    for line in out.splitlines():
        src, flags, ecn, length = (line.split("\t") + ["", "", "", ""])[:4]
        rows.append({"src": src, "flags": int(flags, 16), "ecn": int(ecn or 0), "len": int(length or 0)})
    return rows


KERNEL_ECN = r"""
def kernel_ecn(s):
    return bool(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[5] & 8)  # TCPI_OPT_ECN
def ss_line():
    import subprocess
    return " ".join(subprocess.run(["ss", "-tniH", "state", "established"], capture_output=True,
                                   text=True).stdout.split())
"""


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip") and shutil.which("tshark"),
                     "needs root, iproute2 and tshark")
class AccEcnE2E(unittest.TestCase):
    setUp = tun_e2e.TunE2E.setUp
    tearDown = tun_e2e.TunE2E.tearDown
    start_listen = tun_e2e.TunE2E.start_listen
    stop_listen = tun_e2e.TunE2E.stop_listen
    py = tun_e2e.TunE2E.py
    connect = tun_e2e.TunE2E.connect
    wait_port = tun_e2e.TunE2E.wait_port

    def set_kernel_ecn(self, value):
        """net.ipv4.tcp_ecn in this test's namespace; False when the kernel refuses the value."""
        r = self.ns.run(["sysctl", "-q", "-w", f"net.ipv4.tcp_ecn={value}"])
        return r.returncode == 0

    def handshake(self, client):
        """The SYN, SYN-ACK and the client's first ACK (flags), and both sides' data frames and later ACKs."""
        rows = frames(self.pcap)
        syn = next(r for r in rows if r["flags"] & (SYN | ACK) == SYN)
        syn_ack = next(r for r in rows if r["flags"] & (SYN | ACK) == SYN | ACK)
        after = [r for r in rows if not r["flags"] & SYN]
        first_ack = next(r for r in after if r["src"] == syn["src"])
        self.assertEqual(syn["src"], client)
        return syn, syn_ack, first_ack, after

    # ---- synack connect --ecn accecn -> a kernel server -----------------------------------------------
    def synack_client_case(self, kernel_ecn, expect_ecn, expect_accecn):
        self.assertTrue(self.set_kernel_ecn(kernel_ecn))
        view = os.path.join(self.tmp, "view.txt")
        server = tun_e2e.PY_HELPERS + KERNEL_ECN + r"""
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 7010)); l.listen(1); l.settimeout(20)
c, _ = l.accept(); c.settimeout(10)
data = b""
while len(data) < 20000:
    d = c.recv(65536)
    if not d: break
    data += d
c.sendall(data)
open("VIEW_PATH", "w").write("ECN %s\n%s" % (kernel_ecn(c), ss_line()))
c.shutdown(socket.SHUT_WR); c.recv(100); c.close()
"""
        proc = self.ns.spawn(["python3", "-c", server.replace("VIEW_PATH", view)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.wait_port(7010)
        code, lines, _, err = self.connect("192.0.2.1", "7010", "--ecn", "accecn", "--send", "a" * 20000)
        self.assertEqual(code, 0, err)
        proc.wait(timeout=10)
        with open(view) as f:
            kernel_view = f.read()
        case = f"kernel tcp_ecn={kernel_ecn}: {kernel_view}"
        agreed = lines[0]["negotiated"]["agreed"]
        self.assertEqual((agreed["ecn"], agreed["accecn"]), (expect_ecn, expect_accecn), case)
        self.assertTrue(lines[0]["negotiated"]["offered"]["client"]["accecn"], case)
        self.assertIn(f"ECN {expect_ecn}", kernel_view, case)
        syn, syn_ack, first_ack, after = self.handshake(SYNACK_ADDR)
        self.assertEqual(syn["flags"] & ACE_BITS, ACE_BITS, "an AccECN SYN: AE, CWR and ECE")
        self.assertEqual(syn["ecn"], 0, "the SYN is Not-ECT")
        if expect_accecn:
            self.assertIn(ace(syn_ack["flags"]), (0b010, 0b011, 0b100, 0b110), case)
            self.assertEqual(ace(first_ack["flags"]), 0b010 + {0: 0, 1: 1, 2: 2, 3: 4}[syn_ack["ecn"]], case)
            self.assertIn("accecn", kernel_view.lower(), case)
        elif expect_ecn:
            self.assertEqual(ace(syn_ack["flags"]), 0b001, f"RFC 3168's SYN-ACK: {case}")
            self.assertEqual(ace(first_ack["flags"]), 0, case)
        else:
            self.assertEqual(ace(syn_ack["flags"]), 0, case)
        ours = [r for r in after if r["src"] == SYNACK_ADDR and r["len"] > 0]
        self.assertTrue(ours)
        self.assertTrue(all(r["ecn"] == (2 if expect_ecn else 0) for r in ours), f"synack's data ECT: {case}")
        self.assertEqual(tun_e2e.expert_problems(self.pcap), [])
        return syn_ack

    def test_synack_client_kernel_ecn_2_falls_back_to_rfc3168(self):
        # Linux's default: agree to RFC 3168 ECN when asked; an AccECN SYN is an RFC 3168 ECN-setup SYN to it.
        self.synack_client_case(2, True, False)

    def test_synack_client_kernel_ecn_1_falls_back_to_rfc3168(self):
        self.synack_client_case(1, True, False)

    def test_synack_client_kernel_ecn_0_no_ecn(self):
        self.synack_client_case(0, False, False)

    # ---- a kernel client -> synack listen --ecn accecn ----------------------------------------------
    def kernel_client_case(self, kernel_ecn, expect_ecn, expect_accecn):
        self.assertTrue(self.set_kernel_ecn(kernel_ecn))
        p, reader = self.start_listen("--port", "7", "--echo", "--ecn", "accecn")
        out = self.py(KERNEL_ECN + r"""
s = socket.create_connection(("192.0.2.2", 7), timeout=10)
s.sendall(b"x"); assert s.recv(10) == b"x"
print(ss_line())
o, i, n = pump(s, 100000)
assert o == i and n == 100000
print("ECN", kernel_ecn(s))
s.close()
""")
        events = self.stop_listen(p, reader)
        est = [e for e in events if e["event"] == "established"]
        self.assertEqual(len(est), 1, events)
        case = f"kernel tcp_ecn={kernel_ecn}: {out}"
        agreed = est[0]["negotiated"]["agreed"]
        self.assertEqual((agreed["ecn"], agreed["accecn"]), (expect_ecn, expect_accecn), case)
        self.assertIn(f"ECN {expect_ecn}", out, case)
        syn, syn_ack, first_ack, after = self.handshake("192.0.2.1")
        if expect_accecn:
            self.assertEqual(syn["flags"] & ACE_BITS, ACE_BITS, case)
            # RFC 9768 Table 2: the SYN-ACK feeds back the SYN's IP-ECN field.
            self.assertEqual(ace(syn_ack["flags"]), 0b010 + {0: 0, 1: 1, 2: 2, 3: 4}[syn["ecn"]], case)
            acks = [r for r in after if r["src"] == SYNACK_ADDR and r["flags"] & ACK]
            self.assertTrue(all(ace(r["flags"]) == 5 for r in acks), "r.cep = 5 on every ACK (no CE here)")
            self.assertIn("accecn", out.lower(), case)
        elif expect_ecn:
            self.assertEqual(syn["flags"] & ACE_BITS, CWR | ECE, case)
            self.assertEqual(ace(syn_ack["flags"]), 0b001, f"RFC 3168's SYN-ACK: {case}")
        else:
            self.assertEqual(ace(syn_ack["flags"]), 0, case)
        ours = [r for r in after if r["src"] == SYNACK_ADDR and r["len"] > 0]
        self.assertTrue(ours)
        self.assertTrue(all(r["ecn"] == (2 if expect_ecn else 0) for r in ours), f"synack's data ECT: {case}")
        self.assertEqual(tun_e2e.expert_problems(self.pcap), [])

    def test_kernel_client_ecn_1_rfc3168(self):
        # The kernel asks for RFC 3168 ECN: an AccECN listener answers with RFC 3168's SYN-ACK (Table 2).
        self.kernel_client_case(1, True, False)

    def test_kernel_client_ecn_0_no_ecn(self):
        self.kernel_client_case(0, False, False)

    # ---- tcp_ecn = 3: AccECN both ways, where the kernel takes the value --------------------------------
    def test_kernel_accecn_both_ways(self):
        if not self.set_kernel_ecn(3):
            self.skipTest("this kernel refuses net.ipv4.tcp_ecn=3 (it takes 0-2): it neither asks for nor "
                          "agrees to AccECN")
        self.kernel_client_case(3, True, True)
        self.tearDown()
        self.setUp()
        self.synack_client_case(3, True, True)


if __name__ == "__main__":
    tun_e2e.main()
