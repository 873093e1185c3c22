#!/usr/bin/env bash
# Sets up, builds and runs every test synack has. This is the README's test command and what CI runs.
#   1. set-up (Debian packages), 2. format check and the API reference (Doxygen, no warnings), 3. GCC
#   build + every CTest suite (unit, kernel peers in private network namespaces, tshark, install, packetdrill
#   scripts through libsynack-packetdrill.so and against the kernel), 4. the
#   install test again on a shared Release build, 5. clang ASan+UBSan build + the unit suites under
#   sanitizers, 6. each libFuzzer target for SYNACK_FUZZ_SECONDS (default 60) from its checked-in corpus,
#   7. clang-tidy (run in the background from the end of the GCC build on; reported last).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds=${SYNACK_FUZZ_SECONDS:-60}
jobs=$(nproc)
stage() { printf '\n=== %s (%ss elapsed)\n' "$1" "$SECONDS"; }
# CTest into a log: on success its summary, on failure the failing tests' output as well.
run_ctest() {
  local dir=$1
  shift
  if ctest --test-dir "$dir" -j "$jobs" --output-on-failure "$@" >"$dir/ctest.log" 2>&1; then
    grep -E 'tests passed|tests failed|Total Test time|^[a-z]+ += ' "$dir/ctest.log"
  else
    # The failing tests' own output (first run: a flaky failure is shown as it happened), then the summary.
    grep -vE '^ *(Start +[0-9]+:|[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed)' "$dir/ctest.log" | tail -200
    return 1
  fi
}

stage "set-up"
bash scripts/setup.sh

stage "format"
bash scripts/check-format.sh

stage "API docs (doxygen)"
bash scripts/check-docs.sh build

stage "build (GCC, RelWithDebInfo)"
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSYNACK_SANDBOX_TEST_HOOK=ON >/dev/null
cmake --build build -j "$jobs"

# clang-tidy needs only the sources and this build's compile_commands.json, so it starts now, in its own
# session (stopped as a group if an earlier stage fails): it takes the processor time the kernel tests
# below leave idle while they wait on timers and peers (packetdrill_kernel alone waits 200 s). With the
# kernel's autogroup scheduling (on where CI runs) a new session is its own group, so `nice` ranks it only
# against itself: it shares the processors with the stages after the tests rather than yielding to them.
# Its stage at the end waits for it and reports.
tidy_log=build/check-tidy.out
setsid -w nice -n 19 bash scripts/check-tidy.sh build >"$tidy_log" 2>&1 &
tidy_pid=$!
trap 'kill -- "-$tidy_pid" 2>/dev/null || kill "$tidy_pid" 2>/dev/null || true' EXIT

stage "tests (GCC): unit, kernel, tshark, install, packetdrill"
run_ctest build --timeout 600

# The install test ran above on the static build (CTest label `install`); here again with shared libraries,
# built in Release (-O3: the build type nothing else here uses), libraries and the command only, without the
# profile-guided training (the GCC build above has it): about 3-4 minutes on two cores. SYNACK_SKIP_SHARED=1
# skips it.
if [[ "${SYNACK_SKIP_SHARED:-0}" != 1 ]]; then
  stage "install test (GCC, Release, shared libraries)"
  cmake -G Ninja -S . -B build-shared -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DSYNACK_TESTS=OFF \
    -DSYNACK_BENCH=OFF -DSYNACK_PGO=OFF >/dev/null
  cmake --build build-shared -j "$jobs" >build-shared/build.log 2>&1 || { tail -50 build-shared/build.log; exit 1; }
  bash tests/install/run.sh build-shared
fi

# Line tables only (-gline-tables-only for -g): all that the sanitizers' and libFuzzer's stack traces read,
# and it compiles this build ~12 % faster (cli_parse_test.cpp: 30.6 s -> 26.1 s).
stage "build (clang-19, ASan + UBSan, libFuzzer)"
CC=clang-19 CXX=clang++-19 cmake -G Ninja -S . -B build-san -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG" \
  -DSYNACK_SANITIZE=ON -DSYNACK_FUZZ=ON -DSYNACK_BENCH=OFF >/dev/null
# Only what this stage runs: the unit suites' programs and the fuzzers (not the kernel, tshark and TUN
# programs that only the GCC build's tests run).
cmake --build build-san -j "$jobs" --target synack_unit_suite synack_fuzzers

stage "tests (sanitizers): unit"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest build-san -L unit --timeout 900

stage "fuzz (${fuzz_seconds}s per target)"
mapfile -t fuzzers < <(find build-san/fuzz -type f -executable -name '*_fuzz' | sort)
fuzz_failed=0
run_fuzzer() {
  local bin=$1 name corpus work
  name=$(basename "$bin")
  corpus=fuzz/corpus/$name
  work=$(mktemp -d)
  mkdir -p "$corpus"
  if "$bin" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="build-san/$name-" "$work" "$corpus" >"build-san/$name.log" 2>&1; then
    echo "$name: $(grep -m1 -oE 'stat::number_of_executed_units: *[0-9]+' "build-san/$name.log" | grep -oE '[0-9]+$') runs, no findings"
  else
    echo "$name: FAILED"; tail -40 "build-san/$name.log"; return 1
  fi
  rm -rf "$work"
}
# Two at a time: one per core.
pids=()
for bin in "${fuzzers[@]}"; do
  run_fuzzer "$bin" & pids+=($!)
  if ((${#pids[@]} >= jobs)); then wait "${pids[0]}" || fuzz_failed=1; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid" || fuzz_failed=1; done
((fuzz_failed == 0)) || { echo "fuzzing found a problem"; exit 1; }

stage "clang-tidy (started after the GCC build)"
tidy_status=0
wait "$tidy_pid" || tidy_status=$?
trap - EXIT
cat "$tidy_log"
((tidy_status == 0)) || exit 1

stage "done"
echo "all stages passed in ${SECONDS}s"
