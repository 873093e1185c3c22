#!/usr/bin/env bash
# Runs clang-tidy (the checks in .clang-tidy, all as errors) over synack's library and program sources.
# Usage: scripts/check-tidy.sh BUILD_DIR   (a build directory with compile_commands.json)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- 'src/*.cpp')
run-clang-tidy-19 -quiet -p "$build" -j "$(nproc)" -extra-arg=-Wno-unknown-warning-option "${files[@]}" >"$build/clang-tidy.log" 2>&1 || {
  grep -E 'error:|warning:' "$build/clang-tidy.log" | sort -u | head -50
  echo "clang-tidy: findings above (full log: $build/clang-tidy.log)"
  exit 1
}
echo "clang-tidy: ${#files[@]} files clean"
