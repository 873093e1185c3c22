#!/usr/bin/env python3
"""Writes the seed corpus of tcp_engine_fuzz: one input per starting state.

FuzzedDataProvider reads integers from the end of the input: the last byte picks the window shift, the
one before it whether timestamps are offered, the one before that the starting state (0 = LISTEN,
1 = SYN-SENT, 2 = SYN-RECEIVED, 3 = ESTABLISHED, 4 = FIN-WAIT-1, 5 = FIN-WAIT-2, 6 = CLOSE-WAIT,
7 = LAST-ACK, 8 = CLOSING, 9/10 = TIME-WAIT, 11 = two Stacks through a fuzzer-controlled network).
The rest is seeded pseudo-random bytes. regress_*.bin inputs are kept by hand (bugs the fuzzer found).
"""
import pathlib
import random

out = pathlib.Path(__file__).resolve().parent.parent / "corpus" / "tcp_engine_fuzz"
out.mkdir(parents=True, exist_ok=True)
rng = random.Random(20261123)
for state in range(12):
    for variant in range(2):
        data = bytearray(rng.getrandbits(8) for _ in range(600 + 400 * variant))
        data[-1] = 7            # window shift
        data[-2] = variant      # timestamps on/off
        data[-3] = state        # starting state
        (out / f"state{state:02d}_{variant}.bin").write_bytes(bytes(data))
