#!/usr/bin/env bash
# Renders the API reference (Doxygen, docs/Doxyfile) from the installed headers under include/synack into
# BUILD_DIR/docs/html (default build/) and fails on any warning: every public declaration needs a comment.
#   usage: scripts/check-docs.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
mkdir -p "$build_dir/docs"
export SYNACK_SOURCE_DIR=$PWD
SYNACK_DOCS_DIR=$(cd "$build_dir/docs" && pwd)
export SYNACK_DOCS_DIR
# The version is written in one place, CMakeLists.txt's project().
SYNACK_VERSION=$(sed -nE 's/^project\(synack VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
export SYNACK_VERSION
# The same headers the install rules install (cmake/SynackInstall.cmake): all but include/synack/sandbox.
headers=$(find include/synack -name '*.hpp' -not -path 'include/synack/sandbox/*' | wc -l)
log="$SYNACK_DOCS_DIR/doxygen.log"
if doxygen docs/Doxyfile >"$log" 2>&1 && ! grep -qE 'warning:|error:' "$log"; then
  echo "docs: $headers headers, no warnings (HTML in $SYNACK_DOCS_DIR/html)"
else
  # Doxygen may report one finding more than once (with WARN_AS_ERROR, as "error:"): each is shown once.
  warnings=$(grep -E 'warning:|error:' "$log" | awk '!seen[$0]++' || true)
  if [[ -z "$warnings" ]]; then
    cat "$log"
    echo "docs: doxygen failed" >&2
  else
    echo "$warnings"
    echo "docs: $(wc -l <<<"$warnings") warning(s) in $headers headers" >&2
  fi
  exit 1
fi
