#!/usr/bin/env python3
"""Issue 10's measurements of `synack bench`, repeatable: rates of one or more builds run interleaved, and
callgrind instruction counts per handshake with where they go.

  bench/stack/handshakes.py rates [--runs N] [--cases LIST] BIN [BIN ...]
  bench/stack/handshakes.py instructions [--cases LIST] [--top N] BIN [BIN ...]
  bench/stack/handshakes.py closes [--runs N] [--seconds S] BIN

rates: every case runs on every build in turn, the builds' order reversed on every other run (so a drift of
the machine's speed during the set falls on both alike); per case and build the median, best and worst
rate, then the ratios BENCHMARKS.md reports (10^6 residents "of none", the FIN close "of RST"), both of the
medians and of the best runs (on a shared, noisy host the best run is what the noise disturbs least).
Rates are handshakes per CPU second of the bench process (`--basis wall` for wall-clock seconds).

instructions: `valgrind --tool=callgrind` collecting only the bench's measured loop, run for C and for 2C
handshakes; the difference over C is the cost of one handshake with the fixed start-up of the loop taken
out. Each count is split into what the Stack's own calls take (the inclusive cost of every public
`synack::stack::Stack` method the bench calls) and the rest, the bench's driver loop (moving datagrams,
polling until a call says nothing is due, the in-line parts of those polls). `--top N` lists the N
functions whose own instructions per handshake are largest (by the same difference), so that a change
says where it moved instructions.

closes: the FIN close's rate as a share of the RST close's, for synack and for the Linux kernel in the same
runs (the bench's own kernel baseline: epoll, non-blocking connects, 256 in flight on 127.0.0.1 inside a
network namespace the bench's child creates). Both closes run in turn, `--runs` times, each for `--seconds`
of synack's loop and as long again of the kernel's; per close the medians, then both ratios. A kernel FIN
run must stay below its ephemeral port range (28,232 ports, each held in TIME-WAIT for 60 s): a run that
reaches it says so.

Every run is bounded: by its handshake count, by `--seconds` of wall time passed to the bench, and by a
timeout on the process. Only `closes` opens sockets (the bench's kernel baseline, in its own network
namespace); the others skip it (--no-kernel). Exit codes: 0 done, 1 a run failed, 2 bad command line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

# name -> (bench arguments, multiplier of --connections)
CASES: dict[str, tuple[list[str], int]] = {
    "rst1": (["--inflight", "1"], 1),
    "rst32": (["--inflight", "32"], 1),
    "rst256": (["--inflight", "256"], 1),
    "rst65536": (["--inflight", "65536"], 5),
    "res1": (["--inflight", "1", "--resident", "{resident}"], 1),
    "res32": (["--inflight", "32", "--resident", "{resident}"], 1),
    "res256": (["--inflight", "256", "--resident", "{resident}"], 1),
    "fin256": (["--inflight", "256", "--close", "fin"], 1),
}
DEFAULT_RATE_CASES = "rst1,rst32,rst256,res1,res32,res256,fin256"
DEFAULT_INSTRUCTION_CASES = "rst1,rst256,fin256"
# (case, reference case, what the ratio says)
RATIOS = [
    ("res1", "rst1", "residents at 1 in flight, of none"),
    ("res32", "rst32", "residents at 32 in flight, of none"),
    ("res256", "rst256", "residents at 256 in flight, of none"),
    ("fin256", "rst256", "FIN close at 256 in flight, of RST"),
]
RUN_TIMEOUT_S = 900


class RunError(Exception):
    pass


def case_connections(name: str, connections: int) -> int:
    """Handshakes a run of case `name` makes for --connections `connections`."""
    return connections * CASES[name][1]


def case_args(name: str, handshakes: int, resident: int) -> list[str]:
    return [a.format(resident=resident) for a in CASES[name][0]] + ["--connections", str(handshakes)]


def run(cmd: list[str], timeout: float) -> str:
    """Runs one bounded command; its stdout, or RunError naming the command."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RunError(f"{' '.join(cmd)}: {e}") from e
    if done.returncode != 0:
        raise RunError(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    return done.stdout


def run_rate(binary: str, args: list[str], opts: argparse.Namespace) -> float:
    cmd = [binary, "bench", *args, "--no-kernel", "--memory-count", "0", "--json",
           "--memory-budget", str(opts.memory_budget), "--seconds", str(opts.seconds)]
    synack = json.loads(run(cmd, RUN_TIMEOUT_S))["synack"]
    if synack["stopped_by_time"]:
        print(f"note: {' '.join(cmd)} stopped after --seconds {opts.seconds}", file=sys.stderr)
    seconds = synack["cpu_seconds"] if opts.basis == "cpu" else synack["wall_seconds"]
    return synack["handshakes"] / seconds if seconds > 0 else 0.0


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "best": max(values), "worst": min(values)}


def kilo(v: float) -> str:
    return f"{v / 1000:,.0f} k"


def rates(opts: argparse.Namespace) -> int:
    cases = opts.cases
    # By position: the same executable may be named twice (a noise check: both columns should agree).
    builds = list(range(len(opts.binaries)))
    results: list[dict[str, list[float]]] = [{c: [] for c in cases} for _ in builds]
    for run in range(opts.runs):
        order = builds if run % 2 == 0 else list(reversed(builds))
        for case in cases:
            for b in order:
                binary = opts.binaries[b]
                args = case_args(case, case_connections(case, opts.connections), opts.resident)
                rate = run_rate(binary, args, opts)
                results[b][case].append(rate)
                if sys.stderr.isatty():
                    print(f"\rrun {run + 1}/{opts.runs} {case} {os.path.basename(binary)}: {kilo(rate)}\x1b[K",
                          end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print("\r\x1b[K", end="", file=sys.stderr)
    summaries = [{c: summary(v) for c, v in per.items()} for per in results]
    ratios: list[dict[str, dict[str, float]]] = [{} for _ in builds]
    for b in builds:
        for case, ref, _ in RATIOS:
            if case in cases and ref in cases:
                s, r = summaries[b][case], summaries[b][ref]
                ratios[b][case] = {"of_median": s["median"] / r["median"], "of_best": s["best"] / r["best"]}
    if opts.json:
        json.dump({"basis": opts.basis, "runs": opts.runs, "connections": opts.connections,
                   "resident": opts.resident,
                   "builds": [{"binary": opts.binaries[b], "rates": results[b], "summary": summaries[b],
                               "ratios": ratios[b]} for b in builds]},
                  sys.stdout, indent=2)
        print()
        return 0
    names = [os.path.basename(os.path.dirname(os.path.abspath(b))) + "/" + os.path.basename(b)
             for b in opts.binaries]
    print(f"handshakes/s ({opts.basis}), {opts.runs} interleaved runs: median (best; worst)")
    print()
    print("| case | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for case in cases:
        cells = [f"{kilo(s['median'])} ({kilo(s['best'])}; {kilo(s['worst'])})"
                 for s in (summaries[b][case] for b in builds)]
        print(f"| {case} | " + " | ".join(cells) + " |")
    shown = [(c, ref, what) for c, ref, what in RATIOS if c in cases and ref in cases]
    if shown:
        print()
        print("| ratio: of medians / of best runs | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * len(names))
        for case, _, what in shown:
            cells = [f"{ratios[b][case]['of_median']:.1%} / {ratios[b][case]['of_best']:.1%}"
                     for b in builds]
            print(f"| {what} | " + " | ".join(cells) + " |")
    return 0


KERNEL_EPHEMERAL_PORTS = 60999 - 32768 + 1  # net.ipv4.ip_local_port_range's default, in a fresh namespace


def closes(opts: argparse.Namespace) -> int:
    """synack's and the kernel's FIN-close rate of their RST-close rate, from the same runs."""
    binary = opts.binaries[0]
    rates_of: dict[str, dict[str, list[float]]] = {c: {"synack": [], "kernel": []} for c in ("rst", "fin")}
    notes: list[str] = []
    for n in range(opts.runs):
        for close in ("rst", "fin"):
            cmd = [binary, "bench", "--inflight", str(opts.inflight), "--close", close, "--connections",
                   str(10**9), "--seconds", str(opts.seconds), "--kernel-seconds", str(opts.seconds),
                   "--memory-count", "0", "--memory-budget", str(opts.memory_budget), "--json"]
            doc = json.loads(run(cmd, RUN_TIMEOUT_S))
            kernel = doc["kernel"]
            if not kernel or not kernel["ran"]:
                raise RunError(f"{' '.join(cmd)}: the kernel baseline did not run: "
                               f"{(kernel or {}).get('error')}")
            for who, part in (("synack", doc["synack"]), ("kernel", kernel)):
                seconds = part["cpu_seconds"] if opts.basis == "cpu" else part["wall_seconds"]
                rates_of[close][who].append(part["handshakes"] / seconds if seconds > 0 else 0.0)
            if close == "fin" and (kernel["connect_errors"] or kernel["handshakes"] >= KERNEL_EPHEMERAL_PORTS):
                notes.append(f"run {n + 1}: the kernel's FIN run reached its ephemeral ports "
                             f"({kernel['handshakes']:,} handshakes, {kernel['connect_errors']:,} connect "
                             "errors): use fewer --seconds")
            if sys.stderr.isatty():
                print(f"\rrun {n + 1}/{opts.runs} {close}\x1b[K", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print("\r\x1b[K", end="", file=sys.stderr)
    medians = {c: {w: statistics.median(v) for w, v in per.items()} for c, per in rates_of.items()}
    ratio = {w: medians["fin"][w] / medians["rst"][w] if medians["rst"][w] > 0 else 0.0
             for w in ("synack", "kernel")}
    if opts.json:
        json.dump({"basis": opts.basis, "runs": opts.runs, "seconds": opts.seconds, "inflight": opts.inflight,
                   "rates": rates_of, "medians": medians, "fin_of_rst": ratio, "notes": notes},
                  sys.stdout, indent=2)
        print()
        return 0
    print(f"handshakes/s ({opts.basis}) at {opts.inflight} in flight, medians of {opts.runs} runs of "
          f"{opts.seconds:g} s each")
    print()
    print("| | RST close | FIN close | FIN of RST |")
    print("|---|---:|---:|---:|")
    for who in ("synack", "kernel"):
        print(f"| {who} | {kilo(medians['rst'][who])} | {kilo(medians['fin'][who])} | {ratio[who]:.1%} |")
    for note in notes:
        print(f"note: {note}")
    return 0


def callgrind(binary: str, args: list[str], out: str) -> None:
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--collect-atstart=no",
           "--toggle-collect=*bench_handshake_loop*", binary, "bench", *args, "--no-kernel",
           "--memory-count", "0", "--memory-budget", "4096"]
    run(cmd, RUN_TIMEOUT_S * 4)


LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$")


def self_costs(profile: str) -> tuple[int, dict[str, int]]:
    """The profile's total and each function's own instructions (callgrind_annotate, no inclusion)."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", "--auto=no", profile],
                         capture_output=True, text=True, check=True).stdout
    total = 0
    per: dict[str, int] = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        value = int(m.group(1).replace(",", ""))
        name = m.group(2)
        if name.startswith("=>") or name.startswith("events annotated"):
            continue
        if name.startswith("PROGRAM TOTALS"):
            total = value
            continue
        # "file:function [object]": the function without its object, parameters shortened.
        name = re.sub(r"\s*\[[^\]]*\]\s*$", "", name)
        per[name] = per.get(name, 0) + value
    return total, per


CALL_LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?([*>])\s+(\S.*)$")
STACK_METHOD = re.compile(r"synack::stack::Stack::\w+\(")


def stack_share(profile: str) -> int:
    """Instructions inside the Stack's public methods: the inclusive cost of each call made to one from
    code that is not the stack's own (the bench's loop and its Pair), from callgrind_annotate's call tree."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=yes", "--tree=calling",
                          "--auto=no", profile], capture_output=True, text=True, check=True).stdout
    caller = ""
    total = 0
    for line in out.splitlines():
        m = CALL_LINE.match(line)
        if not m:
            continue
        if m.group(2) == "*":
            caller = m.group(3)
        elif STACK_METHOD.search(m.group(3)) and ":synack::stack::" not in caller:
            total += int(m.group(1).replace(",", ""))
    return total


def short(name: str) -> str:
    name = re.sub(r"std::span<([^<>]|<[^<>]*>)*>", "span", name)
    name = re.sub(r"synack::(stack|tcp|wire|cli)::", "", name)
    return name if len(name) <= 110 else name[:107] + "..."


def instructions(opts: argparse.Namespace) -> int:
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        print("handshakes.py: instructions needs valgrind (scripts/setup.sh installs it)", file=sys.stderr)
        return 1
    cases = opts.cases
    c = opts.connections
    report: list[dict[str, dict]] = []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=opts.jobs) as pool:
        for b, binary in enumerate(opts.binaries):
            report.append({})
            for case in cases:
                scale = case_connections(case, c)
                files = [os.path.join(tmp, f"{b}-{case}-{n}.out") for n in (1, 2)]
                runs = [pool.submit(callgrind, binary, case_args(case, scale * n, opts.resident), f)
                        for n, f in zip((1, 2), files)]
                for r in runs:
                    r.result()
                (t1, s1), (t2, s2) = self_costs(files[0]), self_costs(files[1])
                top = sorted(((s2.get(k, 0) - s1.get(k, 0)) / scale, k) for k in set(s1) | set(s2))
                top.reverse()
                report[b][case] = {"per_handshake": (t2 - t1) / scale,
                                   "in_stack_calls": (stack_share(files[1]) - stack_share(files[0])) / scale,
                                   "top": [{"function": k, "per_handshake": v} for v, k in top[:opts.top]]}
    if opts.json:
        json.dump({"connections": c,
                   "builds": [{"binary": opts.binaries[b], "cases": report[b]} for b in range(len(report))]},
                  sys.stdout, indent=2)
        print()
        return 0
    print(f"callgrind instructions per handshake ((Ir at 2C - Ir at C) / C, C = {c:,}; x5 for rst65536):")
    print("the bench's whole loop, and in brackets the part inside the Stack's calls")
    print()
    print("| case | " + " | ".join(opts.binaries) + " |")
    print("|---|" + "---:|" * len(opts.binaries))
    for case in cases:
        print(f"| {case} | " +
              " | ".join(f"{r[case]['per_handshake']:,.0f} ({r[case]['in_stack_calls']:,.0f})" for r in report) +
              " |")
    if opts.top:
        for binary, r in zip(opts.binaries, report):
            for case in cases:
                print()
                print(f"{binary}, {case}: the functions' own instructions per handshake, largest first")
                for t in r[case]["top"]:
                    print(f"{t['per_handshake']:8.1f}  {short(t['function'])}")
    return 0


def parse_cases(text: str) -> list[str]:
    """The cases named in --cases, in order; an argparse type, so a bad list is a usage error (exit 2)."""
    cases = [c for c in text.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown or not cases:
        raise argparse.ArgumentTypeError(f"unknown case {', '.join(unknown) or repr(text)} "
                                         f"(known: {', '.join(CASES)})")
    return cases


def add_common(p: argparse.ArgumentParser, cases: str, connections: int, connections_help: str,
               resident: int, json_help: str, binaries_help: str) -> None:
    """The arguments both subcommands take, with their own defaults and help."""
    p.add_argument("--cases", type=parse_cases, default=cases,
                   help=f"comma-separated, of {', '.join(CASES)} (default {cases})")
    p.add_argument("--connections", type=int, default=connections, help=connections_help)
    p.add_argument("--resident", type=int, default=resident, help="idle connections for the res* cases")
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("binaries", nargs="+", metavar="BIN", help=binaries_help)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("rates", help="handshake rates of one or more builds, interleaved")
    add_common(r, DEFAULT_RATE_CASES, 200000, "handshakes per run (x5 for rst65536)", 1000000,
               "every run's rate and the summaries as JSON", "synack executables to compare")
    r.add_argument("--runs", type=int, default=10, help="runs of every case per build (default 10)")
    r.add_argument("--memory-budget", type=int, default=4096, help="MiB, passed to the bench (default 4096)")
    r.add_argument("--seconds", type=float, default=120, help="wall-time bound of each run's loop")
    r.add_argument("--basis", choices=["cpu", "wall"], default="cpu", help="seconds the rate divides by")
    i = sub.add_parser("instructions", help="callgrind instructions per handshake, and where they go")
    add_common(i, DEFAULT_INSTRUCTION_CASES, 20000, "C: runs of C and 2C handshakes", 100000,
               "the counts and lists as JSON", "synack executables to measure")
    i.add_argument("--top", type=int, default=0, help="list the N largest functions per case")
    i.add_argument("--jobs", type=int, default=2, help="callgrind runs at once (default 2)")
    k = sub.add_parser("closes", help="FIN close of RST close, synack's and the kernel's in the same runs")
    k.add_argument("--runs", type=int, default=5, help="runs of each close (default 5)")
    k.add_argument("--seconds", type=float, default=1.0,
                   help="synack's loop and the kernel's run, each (default 1; the kernel's FIN run must "
                        "stay below its ephemeral ports)")
    k.add_argument("--inflight", type=int, default=256, help="connections in flight (default 256)")
    k.add_argument("--memory-budget", type=int, default=4096, help="MiB, passed to the bench (default 4096)")
    k.add_argument("--basis", choices=["cpu", "wall"], default="cpu", help="seconds the rate divides by")
    k.add_argument("--json", action="store_true", help="every run's rates, the medians and ratios as JSON")
    k.add_argument("binaries", nargs=1, metavar="BIN", help="the synack executable")
    opts = parser.parse_args()
    for flag in ("runs", "connections", "jobs", "inflight"):
        if getattr(opts, flag, 1) < 1:
            parser.error(f"--{flag} must be at least 1")
    for b in opts.binaries:
        if not (os.path.isfile(b) and os.access(b, os.X_OK)):
            parser.error(f"BIN: {b} is not an executable file")
    try:
        if opts.command == "closes":
            if not 0.2 <= opts.seconds <= 60:  # the bench's --kernel-seconds takes [0.2, 600]
                parser.error("--seconds must be in [0.2, 60]")
            return closes(opts)
        return rates(opts) if opts.command == "rates" else instructions(opts)
    except RunError as e:
        print(f"handshakes.py: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
