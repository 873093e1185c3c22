#!/usr/bin/env bash
# Runs clang-tidy (the checks in .clang-tidy, all as errors) over synack's library and program sources.
# Usage: scripts/check-tidy.sh BUILD_DIR   (a build directory with compile_commands.json)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- 'src/*.cpp')
# clang-tidy checks a file once for every compile command that names it, and 44 of the 106 files in
# src/ have two (the position-independent copy for the packetdrill shim): 150 runs. Each file is checked
# once, with the first command (its own library's).
db="$build/tidy-db"
mkdir -p "$db"
python3 - "$build/compile_commands.json" "$db/compile_commands.json" <<'PY'
import json, re, sys
# GCC's profile-guided optimisation flags (cmake/SynackPgo.cmake) mean nothing to the analysis, and clang
# rejects or misreads them: dropped.
pgo = re.compile(r" (-fprofile-(use|generate|prefix-path)=\S+|-fprofile-(partial-training|update=\S+)"
                 r"|-Wno-missing-profile|-Wno-error=coverage-mismatch)(?= )")
seen, kept = set(), []
for entry in json.load(open(sys.argv[1])):
    if entry["file"] not in seen:
        seen.add(entry["file"])
        if "command" in entry:
            entry["command"] = pgo.sub("", entry["command"])
        kept.append(entry)
json.dump(kept, open(sys.argv[2], "w"), indent=0)
PY
run-clang-tidy-19 -quiet -p "$db" -j "$(nproc)" -extra-arg=-Wno-unknown-warning-option "${files[@]}" >"$build/clang-tidy.log" 2>&1 || {
  grep -E 'error:|warning:' "$build/clang-tidy.log" | sort -u | head -50
  echo "clang-tidy: findings above (full log: $build/clang-tidy.log)"
  exit 1
}
echo "clang-tidy: ${#files[@]} files clean"
