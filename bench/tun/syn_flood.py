#!/usr/bin/env python3
"""SYN flood, same run, two servers: `synack listen` over TUN and the Linux kernel's own listener over a
veth pair, each hit by `hping3 -S --flood --rand-source` while a kernel client makes sequential
connections (3 s timeout each); the same client runs first without a flood (the baseline).

Prints one table: connections completed, connect time (median, p99) without and with the flood,
synack's RSS growth (VmRSS), the SYN rate that reached each server, and SYN-ACKs / cookies sent.

Safety. Everything runs in network namespaces this script creates (`ip netns add synack-flood-PID-*`),
deleted on exit (also on failure); processes are killed by PID. Addresses: 192.0.2.0/24 on the TUN
device, 198.51.100.0/24 on the veth pair. hping3 --rand-source forges sources from all of IPv4, so before
each flood the script proves, from inside the process that then exec()s hping3, that its network namespace
is not the one the script started in, and that the namespace has no default route and no interface but
lo and the TUN device (synack) or one veth whose peer is in the server namespace this script created
(Linux). Sysctls (tcp_syncookies) are written only inside the server namespace. Every flood is bounded
in time (`timeout -s INT`, then SIGKILL by PID): hping3 ignores -c in flood mode (checked with hping3
3.0.0-alpha-2), so its count is bounded by the time and the rate one core can send (about 250 k/s here).

--check is the CTest (tests/cli/CMakeLists.txt, `tun_flood`): no Linux run, no timing assertions; a paced
flood bounded in count and time (hping3 -i u1 -c 90000: the TUN device's queue does not overflow, so the
outcome is the listener's), 50 connections started once the SYN queue (65,536) is full: with
`--syn-cookies when-full` all complete, each from a cookie; with `never` all complete by pruning (with the
queue sized by memory and pruning, a flood no longer locks legitimate clients out without cookies: see
BENCHMARKS.md); and synack's counters add up (see check_counters).

usage: bench/tun/syn_flood.py [--synack PATH] [--seconds S] [--connections N] [--modes when-full,never]
                              [--linux 1,0 | --linux none] [--check]
Exit: 0 done (--check: every check passed), 1 a check failed, 2 bad arguments, 77 skipped (not root, no
hping3, no ip).
"""
import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

START_NETNS = os.readlink("/proc/self/ns/net")
PROCS = []  # (Popen, [extra pids]) of everything started, killed by PID on exit
NAMESPACES = []

CLIENT = r'''
import json, socket, struct, sys, time
host, port, n, interval, timeout, deadline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
times = []
t0 = time.monotonic()
end = t0 + deadline
for i in range(n):
    now = time.monotonic()
    if now >= end:
        break  # bounded in time: the connections not started are reported as not attempted
    wait = t0 + i * interval - now
    if wait > 0:
        time.sleep(wait)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
    a = time.perf_counter()
    try:
        s.connect((host, port))
        times.append(time.perf_counter() - a)
    except OSError:
        times.append(None)
    s.close()
print(json.dumps(times))
'''

SERVER = r'''
import socket, sys, time
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 80))
l.listen(4096)
l.settimeout(0.5)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        c, _ = l.accept()
        c.close()
    except OSError:
        pass
'''


def run(argv, check=True, timeout=30):
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout)


def ns_run(ns, argv, **kw):
    return run(["ip", "netns", "exec", ns] + argv, **kw)


def new_ns(name):
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        print(f"skipped: cannot create a network namespace: {r.stderr.strip()}")
        sys.exit(77)
    NAMESPACES.append(name)
    run(["ip", "-n", name, "link", "set", "lo", "up"])
    inode = ns_run(name, ["readlink", "/proc/self/ns/net"]).stdout.strip()
    if inode == START_NETNS:
        raise SystemExit(f"namespace {name} is the script's own network namespace: refusing")
    return name


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    PROCS.append(p)
    return p


def kill(p):
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def cleanup():
    for p in PROCS:
        for c in getattr(p, "extra_pids", []):
            try:
                os.kill(c, signal.SIGKILL)
            except ProcessLookupError:
                pass
        kill(p)
    for ns in NAMESPACES:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def link_stats(ns, dev):
    """The kernel's counters of `dev` (ip -s -j link): its tx is what the kernel handed to the device."""
    j = json.loads(ns_run(ns, ["ip", "-s", "-j", "link", "show", dev]).stdout)[0]["stats64"]
    return {"tx": j["tx"]["packets"], "tx_dropped": j["tx"]["dropped"], "rx": j["rx"]["packets"],
            "rx_dropped": j["rx"]["dropped"]}


def nstat(ns):
    out = ns_run(ns, ["nstat", "-asz"]).stdout
    values = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            values[parts[0]] = int(parts[1])
    return values


def percentile(values, q):
    v = sorted(values)
    return v[max(0, math.ceil(q * len(v)) - 1)] if v else float("nan")


class Flood:
    """hping3 -S --flood --rand-source at ADDR:80 inside `ns`, bounded by `timeout` (SIGINT, so that it
    prints what it sent) and by a SIGKILL by PID; privacy is proven before exec (see the docstring)."""

    def __init__(self, ns, target, seconds, allowed_links, count=None):
        guard = (
            'set -e; [ "$(readlink /proc/self/ns/net)" != "$0" ] || { echo "same netns as the script" >&2; '
            'exit 90; }; '
            '[ -z "$(ip -4 route show default)$(ip -6 route show default)" ] || { echo "default route" >&2; '
            'exit 91; }; '
            'links=$(ip -o link show | awk -F": " \'{ sub(/@.*/, "", $2); print $2 }\' | sort | tr "\\n" " "); '
            f'[ "$links" = "{allowed_links} " ] || {{ echo "unexpected links: $links" >&2; exit 92; }}; '
            f'exec timeout -s INT {seconds} hping3 -q -S --rand-source -p 80 '
            + (f'-i u1 -c {count} ' if count else '--flood ') + target)
        self.started = time.monotonic()
        self.proc = spawn(["ip", "netns", "exec", ns, "sh", "-c", guard, START_NETNS],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proc.extra_pids = []
        self.seconds = seconds
        # timeout's child is hping3: remember its PID too, to kill it if timeout itself were killed.
        for _ in range(50):
            kids = children(self.proc.pid)
            if kids or self.proc.poll() is not None:
                self.proc.extra_pids = kids
                break
            time.sleep(0.02)

    def wait(self):
        try:
            out, err = self.proc.communicate(timeout=self.seconds + 5)
        except subprocess.TimeoutExpired:
            for c in self.proc.extra_pids:
                try:
                    os.kill(c, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            kill(self.proc)
            out, err = self.proc.communicate()
        self.duration = time.monotonic() - self.started
        if self.proc.returncode in (90, 91, 92):
            raise SystemExit(f"privacy check failed before the flood: {err.strip()}")
        text = out + err
        sent = None
        for line in text.splitlines():
            if "packets tramitted" in line or "packets transmitted" in line:
                sent = int(line.split()[0])
        self.sent = sent
        return sent


def run_client(ns, host, n, interval, timeout, deadline):
    r = ns_run(ns, [sys.executable if os.path.basename(sys.executable).startswith("python") else "python3",
                    "-c", CLIENT, host, "80", str(n), str(interval), str(timeout), str(deadline)],
               timeout=deadline + timeout + 30)
    return json.loads(r.stdout)


def summarize(times, n):
    ok = [t for t in times if t is not None]
    return {"attempted": len(times), "completed": len(ok), "of": n,
            "median_ms": statistics.median(ok) * 1e3 if ok else float("nan"),
            "p99_ms": percentile(ok, 0.99) * 1e3 if ok else float("nan"),
            "slow": sum(1 for t in ok if t >= 0.9)}  # a SYN (or SYN-ACK) retransmitted: about 1 s


class Synack:
    def __init__(self, binary, ns, mode, tmp, syn_queue=None):
        self.out = os.path.join(tmp, f"synack-{mode}.out")
        self.err = os.path.join(tmp, f"synack-{mode}.err")
        self.proc = spawn(["ip", "netns", "exec", ns, binary, "listen", "--discard", "--quiet", "--json-stream",
                           "--port", "80", "--addr", "192.0.2.2", "--kernel-addr", "192.0.2.1/24",
                           "--syn-cookies", mode] + (["--syn-queue", str(syn_queue)] if syn_queue else []),
                          stdout=open(self.out, "w"), stderr=open(self.err, "w"))
        for _ in range(100):
            if '"listening"' in open(self.out).read():
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        else:
            pass
        if '"listening"' not in open(self.out).read():
            raise SystemExit(f"synack listen did not start: {open(self.err).read()}")
        with open(f"/proc/{self.proc.pid}/comm") as f:
            if f.read().strip() != "synack":
                raise SystemExit(f"pid {self.proc.pid} is not synack")

    def counters(self):
        """SIGUSR1: the counters as one JSON line on stderr (--json-stream)."""
        before = len([l for l in open(self.err).read().splitlines() if '"counters"' in l])
        os.kill(self.proc.pid, signal.SIGUSR1)
        for _ in range(100):
            lines = [l for l in open(self.err).read().splitlines() if '"counters"' in l]
            if len(lines) > before:
                return json.loads(lines[-1])["counters"]
            time.sleep(0.05)
        raise SystemExit("no counters on SIGUSR1")

    def stop(self):
        os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=15)
        for line in open(self.out).read().splitlines():
            if '"summary"' in line:
                return json.loads(line)
        raise SystemExit("no summary from synack listen")


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop_flag = pid, rss_kb(pid), False

    def run(self):
        while not self.stop_flag:
            try:
                self.peak = max(self.peak, rss_kb(self.pid))
            except OSError:
                return
            time.sleep(0.1)


MARTIANS = ("SynackMartianZeroNet", "SynackMartianLoopback", "SynackMartianMulticast",
            "SynackMartianBroadcastReserved", "SynackMartianOwnAddress", "SynackMartianDestination")


def synack_case(args, mode, tag, tmp):
    ns = new_ns(f"{tag}-tun-{mode}")
    ns_run(ns, ["sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=1024 65535"])
    s = Synack(args.synack, ns, mode, tmp, args.syn_queue)
    n, interval, timeout = args.connections, args.interval, 3.0
    queue = f" --syn-queue {args.syn_queue}" if args.syn_queue else ""
    res = {"server": f"synack listen --syn-cookies {mode}{queue} (TUN)", "mode": mode}
    if not args.check:
        res["base"] = summarize(run_client(ns, "192.0.2.2", n, interval, timeout, n * interval + 60), n)
    rss0 = rss_kb(s.proc.pid)
    c0 = s.counters()
    l0 = link_stats(ns, "synack0")
    sampler = RssSampler(s.proc.pid)
    sampler.start()
    if args.check:
        # Paced (hping3 -i u1, about 20 k/s here) and bounded in count and time: the device queue in front
        # of synack never overflows, so what happens to the legitimate SYNs is the listener's doing. The
        # client starts once the SYN queue is full (65,536 entries), read from the counters.
        flood = Flood(ns, "192.0.2.2", 30, "lo synack0", count=args.check_syns)
        full = False
        while flood.proc.poll() is None:
            if s.counters()["SynackListenSyns"] >= (args.syn_queue or 65536):
                full = True
                break
            time.sleep(0.2)
        res["queue_full_before_client"] = full
        times = run_client(ns, "192.0.2.2", n, interval, timeout, 30)
    else:
        flood = Flood(ns, "192.0.2.2", args.seconds, "lo synack0")
        time.sleep(args.lead)
        # Connections start during the flood; none starts after it ends.
        times = run_client(ns, "192.0.2.2", n, interval, timeout, args.seconds - args.lead - 0.2)
    flood.wait()
    time.sleep(0.5)
    sampler.stop_flag = True
    sampler.join()
    c1 = s.counters()
    l1 = link_stats(ns, "synack0")
    rss1 = rss_kb(s.proc.pid)
    summary = s.stop()
    d = {k: c1[k] - c0[k] for k in c1}
    res["flood"] = summarize(times, n)
    res["rss_growth_mb"] = (max(sampler.peak, rss1) - rss0) / 1024
    res["rss_mb"] = (rss0 / 1024, max(sampler.peak, rss1) / 1024)
    syns = d["SynackListenSyns"] + sum(d[k] for k in MARTIANS)
    res["hping3_sent"] = flood.sent
    res["offered"] = (l1["tx"] - l0["tx"]) + (l1["tx_dropped"] - l0["tx_dropped"])
    res["dropped_before_server"] = l1["tx_dropped"] - l0["tx_dropped"]
    res["syns_received"] = syns
    res["seconds"] = flood.duration
    res["syn_rate"] = syns / flood.duration
    res["synacks"] = d["SynackSynAcksSent"]
    res["cookies"] = d["TcpExtSyncookiesSent"]
    res["reqq_drops"] = d["TcpExtTCPReqQFullDrop"]
    res["pruned"] = d["SynackSynQueuePruned"]
    res["martians"] = sum(d[k] for k in MARTIANS)
    res["summary"] = summary
    res["delta"] = d
    return res


def linux_case(args, syncookies, tag, tmp):
    cli = new_ns(f"{tag}-lcli{syncookies}")
    srv = new_ns(f"{tag}-lsrv{syncookies}")
    run(["ip", "-n", cli, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", srv])
    run(["ip", "-n", cli, "addr", "add", "198.51.100.1/24", "dev", "veth0"])
    run(["ip", "-n", srv, "addr", "add", "198.51.100.2/24", "dev", "veth1"])
    run(["ip", "-n", cli, "link", "set", "veth0", "up"])
    run(["ip", "-n", srv, "link", "set", "veth1", "up"])
    # The server answers the forged sources through the client namespace (which drops them: not a
    # router); both ends are namespaces of this script.
    run(["ip", "-n", srv, "route", "add", "default", "via", "198.51.100.1"])
    ns_run(srv, ["sysctl", "-q", "-w", f"net.ipv4.tcp_syncookies={syncookies}"])
    ns_run(cli, ["sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=1024 65535"])
    peer = run(["ip", "-n", cli, "-d", "-j", "link", "show", "veth0"]).stdout
    if json.loads(peer)[0].get("link_netnsid") is None:
        raise SystemExit("veth0's peer is not in another namespace")
    if srv not in run(["ip", "-n", cli, "-d", "link", "show", "veth0"]).stdout and \
            "veth1" not in run(["ip", "-n", srv, "-o", "link"]).stdout:
        raise SystemExit("veth0's peer is not in the server namespace")
    server = spawn(["ip", "netns", "exec", srv, "python3", "-c", SERVER, "198.51.100.2",
                    str(args.connections * args.interval * 2 + args.seconds + 90)])
    for _ in range(100):
        if ns_run(srv, ["ss", "-Htln", "sport = :80"]).stdout.strip():
            break
        time.sleep(0.1)
    n, interval, timeout = args.connections, args.interval, 3.0
    res = {"server": f"Linux, tcp_syncookies={syncookies} (veth)", "mode": f"linux{syncookies}"}
    res["base"] = summarize(run_client(cli, "198.51.100.2", n, interval, timeout, n * interval + 60), n)
    s0, l0 = nstat(srv), link_stats(srv, "veth1")
    flood = Flood(cli, "198.51.100.2", args.seconds, "lo veth0")
    time.sleep(args.lead)
    times = run_client(cli, "198.51.100.2", n, interval, timeout, args.seconds - args.lead - 0.2)
    flood.wait()
    time.sleep(0.5)
    s1, l1 = nstat(srv), link_stats(srv, "veth1")
    kill(server)
    d = {k: s1.get(k, 0) - s0.get(k, 0) for k in s1}
    res["flood"] = summarize(times, n)
    res["hping3_sent"] = flood.sent
    res["offered"] = l1["rx"] - l0["rx"] + l1["rx_dropped"] - l0["rx_dropped"]
    res["dropped_before_server"] = l1["rx_dropped"] - l0["rx_dropped"]
    res["syns_received"] = d.get("TcpInSegs", 0)
    res["seconds"] = flood.duration
    res["syn_rate"] = res["syns_received"] / flood.duration
    res["synacks"] = d.get("TcpOutSegs", 0)
    res["cookies"] = d.get("TcpExtSyncookiesSent", 0)
    res["reqq_drops"] = d.get("TcpExtTCPReqQFullDrop", 0)
    res["delta"] = d
    return res


def fmt_ms(v):
    return "—" if v != v else f"{v:.2f}"


def table(results, args):
    cols = [r["server"] for r in results]
    rows = []

    def row(name, f):
        rows.append([name] + [f(r) for r in results])
    row("completed during the flood", lambda r: f"{r['flood']['completed']} of {r['flood']['of']}"
        + (f" ({r['flood']['attempted']} attempted)" if r['flood']['attempted'] != r['flood']['of'] else ""))
    row("connect median / p99, no flood (ms)",
        lambda r: f"{fmt_ms(r['base']['median_ms'])} / {fmt_ms(r['base']['p99_ms'])}" if "base" in r else "—")
    row("connect median / p99, flood (ms)",
        lambda r: f"{fmt_ms(r['flood']['median_ms'])} / {fmt_ms(r['flood']['p99_ms'])}")
    row("connects ≥ 0.9 s (a retransmitted SYN)", lambda r: str(r["flood"]["slow"]))
    row("SYNs sent by hping3", lambda r: f"{r['hping3_sent']:,}" if r["hping3_sent"] is not None else "?")
    row("SYNs dropped before the server (device queue)", lambda r: f"{r['dropped_before_server']:,}")
    row("SYNs received by the server", lambda r: f"{r['syns_received']:,}")
    row("SYN rate achieved", lambda r: f"{r['syn_rate'] / 1000:.0f} k/s")
    row("SYN-ACKs from the queue (synack) / TcpOutSegs (Linux)", lambda r: f"{r['synacks']:,}")
    row("cookies sent", lambda r: f"{r['cookies']:,}")
    row("SYNs dropped, SYN queue full (TCPReqQFullDrop)", lambda r: f"{r['reqq_drops']:,}")
    row("RSS before → peak (growth)", lambda r: (f"{r['rss_mb'][0]:.1f} → {r['rss_mb'][1]:.1f} MB "
                                                 f"(+{r['rss_growth_mb']:.1f})") if "rss_mb" in r else "—")
    print(f"flood {args.seconds} s (hping3 -S --flood --rand-source), {args.connections} sequential "
          f"connections {args.interval * 1000:.0f} ms apart, 3 s timeout, RST close; same run")
    print("| | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for r in rows:
        print("| " + " | ".join(r) + " |")


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--synack", default=os.environ.get("SYNACK", os.path.join(here, "../../build/synack")))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--interval", type=float, default=None, help="seconds between connection starts")
    ap.add_argument("--lead", type=float, default=1.0, help="seconds of flood before the first connection")
    ap.add_argument("--modes", default="when-full,never")
    ap.add_argument("--syn-queue", type=int, default=None, help="synack listen --syn-queue (default: its own)")
    ap.add_argument("--linux", default="1,0", help="tcp_syncookies values for Linux rows, or none")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--check-syns", type=int, default=90000, help="--check: SYNs hping3 sends (paced)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.check:
        args.connections, args.linux, args.interval = min(args.connections, 50), "none", 0.04
    if args.interval is None:
        args.interval = (args.seconds - args.lead - 1.0) / args.connections
    if os.geteuid() != 0 or not shutil.which("ip"):
        print("skipped: needs root and iproute2 (ip netns)")
        return 77
    for tool in ("hping3", "timeout", "nstat"):
        if not shutil.which(tool):
            print(f"skipped: no {tool}")
            return 77
    if not os.access(args.synack, os.X_OK):
        print(f"no synack executable at {args.synack}", file=sys.stderr)
        return 2
    tag = f"synack-flood-{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="synack-flood-")
    results = []
    try:
        for mode in args.modes.split(","):
            results.append(synack_case(args, mode, tag, tmp))
        if args.linux != "none":
            for v in args.linux.split(","):
                results.append(linux_case(args, int(v), tag, tmp))
        if not args.check:
            table(results, args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1, default=str)
        failures = check(results, args) if args.check else []
        for f in failures:
            print("FAIL:", f)
        return 1 if failures else 0
    finally:
        cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def check_counters(r):
    """The counters add up, over the whole run (synack's summary at exit), each by reason:
      SYNs that reached the listener = SYN-queue entries created + cookies sent + SYNs dropped (SYN queue
        full: TCPReqQFullDrop; accept queue full: ListenOverflows, which counts final ACKs too and must
        stay 0 here, as `synack listen` accepts at once);
      entries created = entries completed (established - SyncookiesRecv) + timed out + pruned + still queued
        at exit;
      SYN-ACKs sent from the queue, first transmissions (SynackSynAcksSent - retransmissions) = entries
        created, when the control queue dropped nothing (and no peer repeated a SYN: none does here);
      SYNs that crossed the device = SYNs at the listener + martians (by reason) + everything else the
        stack saw, i.e. TcpInSegs (the legitimate client's other segments)."""
    out = []
    c = r["summary"]["counters"]
    lst = r["summary"]["listeners"][0]
    name = r["server"]

    def expect(what, a, b):
        if a != b:
            out.append(f"{name}: {what}: {a} != {b}")
    expect("SynackListenSyns = the listener's SYNs", c["SynackListenSyns"], lst["syns_received"])
    expect("ListenOverflows", c["TcpExtListenOverflows"], 0)
    created = c["SynackListenSyns"] - c["TcpExtSyncookiesSent"] - c["TcpExtTCPReqQFullDrop"]
    ended = (lst["established"] - c["TcpExtSyncookiesRecv"]) + c["SynackHalfOpenTimeouts"] + \
        c["SynackSynQueuePruned"] + lst["syn_queue"]
    expect("entries created (SYNs - cookies - drops) = entries completed + timed out + pruned + queued",
           created, ended)
    if c["SynackControlQueueDrops"] == 0:
        expect("first SYN-ACKs from the queue = entries created",
               c["SynackSynAcksSent"] - lst["synack_retransmits"], created)
    expect("ListenDrops = TCPReqQFullDrop + ListenOverflows + pool",
           c["TcpExtListenDrops"], c["TcpExtTCPReqQFullDrop"] + c["TcpExtListenOverflows"]
           + c["SynackPoolFullDrops"])
    if r["mode"] == "never":
        expect("cookies with --syn-cookies never", c["TcpExtSyncookiesSent"], 0)
    if r["mode"] == "when-full" and c["TcpExtSyncookiesSent"] > 0:
        expect("SYNs dropped for a full SYN queue with cookies on", c["TcpExtTCPReqQFullDrop"], 0)
    r["identity"] = {"syns": c["SynackListenSyns"], "created": created, "cookies": c["TcpExtSyncookiesSent"],
                     "reqq_drops": c["TcpExtTCPReqQFullDrop"], "completed": lst["established"],
                     "timeouts": c["SynackHalfOpenTimeouts"], "pruned": c["SynackSynQueuePruned"],
                     "queued": lst["syn_queue"], "synacks": c["SynackSynAcksSent"],
                     "retransmits": lst["synack_retransmits"], "control_drops": c["SynackControlQueueDrops"],
                     "martians": sum(c[k] for k in MARTIANS_ALL)}
    return out


MARTIANS_ALL = MARTIANS + ("SynackMartianV6Unspecified", "SynackMartianV6Loopback", "SynackMartianV6Multicast",
                           "SynackMartianV4Mapped")


def check(results, args):
    """--check: no timing, only outcomes (the counters at exit). Exits 77 if the flood never filled the SYN
    queue (nothing to show)."""
    failures = []
    for r in results:
        f = r["flood"]
        c = r["summary"]["counters"]
        failures += check_counters(r)
        print(f"{r['server']}: {f['completed']} of {f['of']} completed ({f['attempted']} attempted) while the "
              f"SYN queue was full; {r['syns_received']:,} SYNs in {r['seconds']:.1f} s; {r['identity']}")
        if not r["queue_full_before_client"]:
            print("skipped: the flood did not fill the SYN queue (65,536 entries)")
            sys.exit(77)
        if f["completed"] != f["of"]:
            failures.append(f"{r['mode']}: {f['completed']} of {f['of']} connections completed")
        if r["mode"] == "when-full":
            # Every legitimate SYN met a full queue: each connection was built from a cookie.
            if c["TcpExtSyncookiesRecv"] < f["completed"] or c["TcpExtSyncookiesFailed"] != 0:
                failures.append(f"when-full: SyncookiesRecv {c['TcpExtSyncookiesRecv']}, Failed "
                                f"{c['TcpExtSyncookiesFailed']}, for {f['completed']} connections")
        elif r["mode"] == "never":
            # No cookies: the legitimate SYNs got in by pruning the oldest retransmitted entries.
            if c["SynackSynQueuePruned"] + c["TcpExtTCPReqQFullDrop"] < f["completed"]:
                failures.append(f"never: {c['SynackSynQueuePruned']} entries pruned and "
                                f"{c['TcpExtTCPReqQFullDrop']} SYNs dropped for {f['completed']} connections "
                                "into a full queue")
    return failures


if __name__ == "__main__":
    def on_signal(signum, frame):
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, on_signal)
    sys.exit(main())
