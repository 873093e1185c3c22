#!/usr/bin/env bash
# Benchmarks `synack analyze` on a synthetic capture of at least a million packets, next to
# `tshark -r FILE -q -z conv,tcp` on the same file in the same run, and writes the numbers into the
# "## synack analyze" section of BENCHMARKS.md (replacing that section only).
#
#   scripts/bench-analyze.sh [PACKETS]        (default 1000000; BUILD_DIR defaults to build-bench-analyze)
set -euo pipefail

cd "$(dirname "$0")/.."
PACKETS="${1:-1000000}"
BUILD_DIR="${BUILD_DIR:-build-bench-analyze}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
FILE="$WORK/bench-analyze.pcap"

cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSYNACK_TESTS=OFF > /dev/null
ninja -C "$BUILD_DIR" analyze_gen analyze_cli analyze_bench > /dev/null
# Prefer the real synack executable once it links the analyzer; the stand-alone command is the same code.
if ninja -C "$BUILD_DIR" synack > /dev/null 2>&1 && "$BUILD_DIR/src/cli/synack" analyze --help > /dev/null 2>&1; then
  ANALYZE=("$BUILD_DIR/src/cli/synack" analyze)
  ANALYZE_NAME="synack analyze"
else
  ANALYZE=("$BUILD_DIR/bench/analyze/analyze_cli" analyze)
  ANALYZE_NAME="analyze_cli analyze (stand-alone build of the same command)"
fi

"$BUILD_DIR/bench/analyze/analyze_gen" "$FILE" "$PACKETS" > "$WORK/gen.txt"
COUNT="$(cut -d' ' -f1 < "$WORK/gen.txt")"
SIZE="$(du -h "$FILE" | cut -f1)"

# Warm the page cache so both tools read from memory.
cat "$FILE" > /dev/null

# Wall, user and system seconds of each command (bash's time keyword).
TIMEFORMAT='%R %U %S'
{ time "${ANALYZE[@]}" "$FILE" --json > /dev/null; } 2> "$WORK/synack.time"
{ time tshark -r "$FILE" -q -z conv,tcp > /dev/null 2> "$WORK/tshark.err"; } 2> "$WORK/tshark.time"
read -r SYNACK_S SYNACK_U SYNACK_SYS < "$WORK/synack.time"
read -r TSHARK_S TSHARK_U TSHARK_SYS < "$WORK/tshark.time"
SYNACK_CPU="$(echo "$SYNACK_U + $SYNACK_SYS" | bc -l)"
TSHARK_CPU="$(echo "$TSHARK_U + $TSHARK_SYS" | bc -l)"
SYNACK_PPS="$(echo "$COUNT / $SYNACK_CPU" | bc)"
TSHARK_PPS="$(echo "$COUNT / $TSHARK_CPU" | bc)"
SYNACK_WALL_PPS="$(echo "$COUNT / $SYNACK_S" | bc)"
TSHARK_WALL_PPS="$(echo "$COUNT / $TSHARK_S" | bc)"
LOAD="$(cut -d' ' -f1 /proc/loadavg)"
MODEL="$(lscpu | grep 'Model name' | sed 's/Model name:[[:space:]]*//')"
NPROC="$(nproc)"
TSHARK_VERSION="$(tshark --version 2>/dev/null | head -1 | sed 's/\.$//')"
# The analyzer alone over 200,000 in-memory packets (no file, no output), median of 3.
IN_MEMORY="$("$BUILD_DIR/bench/analyze/analyze_bench" --benchmark_filter='BM_AnalyzeStream$' \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2> /dev/null |
  grep '_median' | grep -o 'items_per_second=[^ ]*' | cut -d= -f2 | sed 's|/s$||')"

SECTION="$WORK/section.md"
{
  echo "## synack analyze"
  echo
  echo "Capture: $COUNT packets ($SIZE, raw IP pcap) from \`analyze_gen\` (interleaved handshakes: 85 % established"
  echo "with 10 data packets and a close, 8 % refused, 4 % timed out with retransmitted SYNs, 3 % with a"
  echo "retransmitted SYN-ACK). Both tools read the same file from the page cache in the same run."
  echo
  echo "| tool | CPU time (user + sys) | packets/s (CPU) | wall time | packets/s (wall) |"
  echo "|---|---:|---:|---:|---:|"
  printf '| %s `--json` | %.2f s | %s | %.2f s | %s |\n' "$ANALYZE_NAME" "$SYNACK_CPU" "$SYNACK_PPS" "$SYNACK_S" \
    "$SYNACK_WALL_PPS"
  printf '| `tshark -r FILE -q -z conv,tcp` | %.2f s | %s | %.2f s | %s |\n' "$TSHARK_CPU" "$TSHARK_PPS" "$TSHARK_S" \
    "$TSHARK_WALL_PPS"
  echo
  echo "Machine: $MODEL, \`nproc\` = $NPROC, load average $LOAD at the start; RelWithDebInfo build (-O2);"
  echo "$TSHARK_VERSION; $(date -u +%Y-%m-%d)."
  echo
  echo "Commands:"
  echo
  echo '```'
  echo "scripts/bench-analyze.sh $PACKETS"
  echo "$BUILD_DIR/bench/analyze/analyze_gen FILE $PACKETS"
  echo "${ANALYZE[*]} FILE --json > /dev/null"
  echo "tshark -r FILE -q -z conv,tcp > /dev/null"
  echo '```'
  echo
  echo "The analyzer alone (in-memory stream of 200,000 packets, no file I/O, no output; \`BM_AnalyzeStream\`,"
  echo "median of 3): $IN_MEMORY packets/s — \`$BUILD_DIR/bench/analyze/analyze_bench --benchmark_filter='BM_AnalyzeStream\$'\`."
  echo
} > "$SECTION"

# Replace our section (from its heading to the next "## " heading) or append it.
if [[ -f BENCHMARKS.md ]] && grep -q '^## synack analyze' BENCHMARKS.md; then
  awk -v section="$SECTION" '
    /^## synack analyze/ { while ((getline line < section) > 0) print line; skip = 1; next }
    skip && /^## / { skip = 0 }
    !skip { print }
  ' BENCHMARKS.md > "$WORK/BENCHMARKS.md"
  cp "$WORK/BENCHMARKS.md" BENCHMARKS.md
elif [[ -f BENCHMARKS.md ]]; then
  { echo; cat "$SECTION"; } >> BENCHMARKS.md
else
  cp "$SECTION" BENCHMARKS.md
fi
cat "$SECTION"
