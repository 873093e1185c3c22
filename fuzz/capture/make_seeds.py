#!/usr/bin/python3
"""Writes the seed corpus of capture_reader_fuzz (fuzz/corpus/capture_reader_fuzz): small pcapng files with
several interfaces, sections in both byte orders, if_tsresol / if_tsoffset, every packet block type, an
unknown block, and a classic pcap in each byte order. Run from the repository root."""
import pathlib
import struct

OUT = pathlib.Path("fuzz/corpus/capture_reader_fuzz")


def ipv4_tcp(sport, dport, flags):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 0x50, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
    return ip + tcp


def ether(payload, vlans=()):
    out = bytes(range(2, 8)) + bytes(range(0x12, 0x18))
    for tpid, tci in vlans:
        out += struct.pack("!HH", tpid, tci)
    return out + struct.pack("!H", 0x0800) + payload


def sll2(payload):
    return struct.pack("!HHIHBB8s", 0x0800, 0, 3, 1, 0, 6, bytes(8)) + payload


class Ng:
    def __init__(self):
        self.out = b""
        self.e = "<"

    def block(self, kind, body):
        body += bytes(-len(body) % 4)
        n = 12 + len(body)
        self.out += struct.pack(self.e + "II", kind, n) + body + struct.pack(self.e + "I", n)
        return self

    def section(self, big=False):
        self.e = ">" if big else "<"
        return self.block(0x0A0D0D0A, struct.pack(self.e + "IHHq", 0x1A2B3C4D, 1, 0, -1))

    def interface(self, linktype, tsresol=None, tsoffset=None):
        body = struct.pack(self.e + "HHI", linktype, 0, 262144)
        if tsresol is not None:
            body += struct.pack(self.e + "HHB3x", 9, 1, tsresol)
        if tsoffset is not None:
            body += struct.pack(self.e + "HHq", 14, 8, tsoffset)
        return self.block(1, body + bytes(4))

    def epb(self, iface, units, data):
        body = struct.pack(self.e + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data), len(data))
        return self.block(6, body + data)

    def spb(self, data):
        return self.block(3, struct.pack(self.e + "I", len(data)) + data)

    def opb(self, iface, units, data):
        body = struct.pack(self.e + "HHIIII", iface, 0, units >> 32, units & 0xFFFFFFFF, len(data), len(data))
        return self.block(2, body + data)


def pcap(big, nano, linktype, records):
    e = ">" if big else "<"
    out = struct.pack(e + "IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for sec, frac, data in records:
        out += struct.pack(e + "IIII", sec, frac, len(data), len(data)) + data
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    syn, synack = ipv4_tcp(40000, 80, 0x02), ipv4_tcp(80, 40000, 0x12)
    multi = (Ng().section().interface(1).interface(101, 9).interface(276, 3, 100)
             .epb(0, 1_700_000_000_000_000, ether(syn, [(0x88A8, 1), (0x8100, 2)]))
             .epb(1, 1_700_000_000_000_000_500, synack).epb(2, 1_700_000_000_001, sll2(syn)))
    (OUT / "pcapng_three_interfaces").write_bytes(multi.out)
    two = Ng().section().interface(101).epb(0, 5, syn).section(big=True).interface(1, 0x80 | 20).epb(0, 7, ether(synack))
    two.block(5, bytes(16)).spb(ether(syn)).opb(0, 9, ether(synack))
    (OUT / "pcapng_two_sections_both_orders").write_bytes(two.out)
    (OUT / "pcap_big_micro").write_bytes(pcap(True, False, 1, [(100, 1, ether(syn)), (100, 2, ether(synack))]))
    (OUT / "pcap_little_nano").write_bytes(pcap(False, True, 101, [(100, 1, syn), (100, 2, synack)]))


if __name__ == "__main__":
    main()
