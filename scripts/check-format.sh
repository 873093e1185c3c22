#!/usr/bin/env bash
# Fails when any of synack's C++ sources differs from .clang-format, or when a file under src/ or include/
# has 600 lines or more (the house rule; functions under 80 lines are clang-tidy's readability-function-size).
# Fix the format with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' | grep -E '^(src|include|tests|fuzz|bench|examples)/')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format-19 -i "${files[@]}"
  exit 0
fi
clang-format-19 --dry-run --Werror "${files[@]}"
long=$(for f in "${files[@]}"; do
  [[ $f == src/* || $f == include/* ]] && (($(wc -l <"$f") >= 600)) && echo "$f: $(wc -l <"$f") lines"
done || true)
[[ -z $long ]] || { echo "$long"; echo "format: files of 600 lines or more (split them)"; exit 1; }
echo "format: ${#files[@]} files clean"
