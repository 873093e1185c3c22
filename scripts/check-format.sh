#!/usr/bin/env bash
# Fails when any of synack's C++ sources differs from .clang-format. Fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' | grep -E '^(src|include|tests|fuzz|bench|examples)/')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format-19 -i "${files[@]}"
  exit 0
fi
clang-format-19 --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files clean"
