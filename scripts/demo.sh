#!/usr/bin/env bash
# Sets up, builds and runs `synack demo` — the README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target synack >/dev/null
exec ./build/synack demo "$@"
