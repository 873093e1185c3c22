#!/usr/bin/env bash
# Runs an example and checks that it exits 0 and that its output contains every expected line fragment.
#   expect_output.sh PROGRAM FRAGMENT... [--args ARG...]
set -euo pipefail
program=$1
shift
expected=()
while [[ $# -gt 0 && $1 != --args ]]; do
  expected+=("$1")
  shift
done
[[ $# -gt 0 ]] && shift  # --args
status=0
out=$(timeout 20 "$program" "$@" 2>&1) || status=$?
printf '%s\n' "$out"
[[ $status -eq 0 ]] || { echo "FAIL: $program exited with $status"; exit 1; }
for fragment in "${expected[@]}"; do
  grep -qF -- "$fragment" <<<"$out" || { echo "FAIL: no line with '$fragment'"; exit 1; }
done
echo "OK: ${#expected[@]} expected fragments"
