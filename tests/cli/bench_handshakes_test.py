#!/usr/bin/env python3
"""bench/stack/handshakes.py, the script BENCHMARKS.md's issue-10 rounds are measured with, on tiny runs of
the real `synack bench`: its JSON says what the tables say, the instruction count is the bench loop's, the
FIN-of-RST comparison has both stacks' closes (the kernel's in a namespace the bench creates), bad
command lines are usage errors (2) and a failing run is an error (1). Nothing here asserts a rate or a count
beyond a sane range: the machine's speed is not under test. argv: the synack executable.
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "stack", "handshakes.py")
SYNACK = ""


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=600,
                          check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}: {done.stderr}")
    return done


class Rates(unittest.TestCase):
    def test_TwoBuilds_EveryCaseRunsOnBoth_RatiosOfTheirOwnRuns(self):
        out = json.loads(run("rates", "--runs", "2", "--connections", "300", "--resident", "300",
                             "--cases", "rst1,res1,rst256,fin256", "--json", SYNACK, SYNACK).stdout)
        self.assertEqual(len(out["builds"]), 2)
        for build in out["builds"]:
            self.assertEqual(sorted(build["rates"]), ["fin256", "res1", "rst1", "rst256"])
            for case, rates in build["rates"].items():
                self.assertEqual(len(rates), 2, case)
                self.assertTrue(all(r > 0 for r in rates), case)
                s = build["summary"][case]
                self.assertEqual(s["best"], max(rates))
                self.assertEqual(s["worst"], min(rates))
            self.assertEqual(sorted(build["ratios"]), ["fin256", "res1"])
            fin = build["ratios"]["fin256"]
            self.assertAlmostEqual(fin["of_best"],
                                   build["summary"]["fin256"]["best"] / build["summary"]["rst256"]["best"])

    def test_Table_NamesEachCaseAndRatio(self):
        out = run("rates", "--runs", "1", "--connections", "200", "--resident", "200",
                  "--cases", "rst1,res1", SYNACK).stdout
        self.assertIn("| rst1 |", out)
        self.assertIn("| res1 |", out)
        self.assertIn("residents at 1 in flight, of none", out)

    def test_UnknownCase_IsUsageError(self):
        done = run("rates", "--cases", "rst1,nope", SYNACK, check=False)
        self.assertEqual(done.returncode, 2)
        self.assertIn("--cases", done.stderr)

    def test_MissingExecutable_IsUsageError(self):
        done = run("rates", "/nonexistent/synack", check=False)
        self.assertEqual(done.returncode, 2)
        self.assertIn("BIN", done.stderr)

    def test_RunThatFails_ExitsOneNamingTheCommand(self):
        done = run("rates", "--runs", "1", "--cases", "rst1", shutil.which("false") or "/bin/false", check=False)
        self.assertEqual(done.returncode, 1)
        self.assertIn("bench", done.stderr)
        self.assertEqual(len(done.stderr.strip().splitlines()), 1)


class Closes(unittest.TestCase):
    # The bench's kernel baseline runs in a network namespace its child creates (or, where unshare is not
    # permitted, on the host's 127.0.0.1): loopback traffic only.
    def test_OneRun_BothClosesOfBoth_RatiosOfTheMedians(self):
        out = json.loads(run("closes", "--runs", "1", "--seconds", "0.2", "--inflight", "32", "--json",
                             SYNACK).stdout)
        for close in ("rst", "fin"):
            for who in ("synack", "kernel"):
                rates = out["rates"][close][who]
                self.assertEqual(len(rates), 1, (close, who))
                self.assertGreater(rates[0], 0, (close, who))
                self.assertEqual(out["medians"][close][who], rates[0])
        for who in ("synack", "kernel"):
            self.assertAlmostEqual(out["fin_of_rst"][who], out["medians"]["fin"][who] / out["medians"]["rst"][who])
        self.assertEqual(out["notes"], [])  # 0.2 s of FIN closes stays far below the kernel's ports

    def test_Table_NamesBothStacks(self):
        out = run("closes", "--runs", "1", "--seconds", "0.2", "--inflight", "8", SYNACK).stdout
        self.assertIn("| synack |", out)
        self.assertIn("| kernel |", out)
        self.assertIn("FIN of RST", out)

    def test_SecondsOutOfRange_IsUsageError(self):
        done = run("closes", "--seconds", "0.1", SYNACK, check=False)
        self.assertEqual(done.returncode, 2)
        self.assertIn("--seconds", done.stderr)


@unittest.skipIf(shutil.which("valgrind") is None, "valgrind not installed")
class Instructions(unittest.TestCase):
    def test_Rst1_CountsTheBenchLoopAndWhereItGoes(self):
        out = json.loads(run("instructions", "--connections", "300", "--cases", "rst1", "--top", "5", "--json",
                             SYNACK).stdout)
        case = out["builds"][0]["cases"]["rst1"]
        # Thousands of instructions a handshake: neither the whole process (millions per handshake at 300)
        # nor nothing.
        self.assertGreater(case["per_handshake"], 1000)
        self.assertLess(case["per_handshake"], 100000)
        # The Stack's calls are most of a handshake but not all of it: the bench's driver loop is the rest.
        self.assertGreater(case["in_stack_calls"], case["per_handshake"] / 2)
        self.assertLess(case["in_stack_calls"], case["per_handshake"])
        self.assertEqual(len(case["top"]), 5)
        values = [t["per_handshake"] for t in case["top"]]
        self.assertEqual(values, sorted(values, reverse=True))
        self.assertLess(sum(values), case["per_handshake"])
        self.assertTrue(all("=>" not in t["function"] for t in case["top"]))


if __name__ == "__main__":
    SYNACK = sys.argv.pop(1)
    unittest.main()
