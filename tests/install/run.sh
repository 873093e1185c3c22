#!/usr/bin/env bash
# The install test (issue 12): installs a configured, built synack tree to a temporary prefix, checks what
# was installed, then builds and runs two consumer projects out of tree against that prefix only:
# tests/install/find_package (CMake, find_package(synack)) and tests/install/pkg_config (make, pkg-config);
# then the examples installed as documentation (share/doc/synack/examples), by their own CMakeLists.txt.
# Each compiles handshake.cpp with -Wall -Wextra and an intentional unused variable, which must warn and not
# fail (synack's -Werror does not leak), links, and runs an in-memory handshake between two Stacks.
#   tests/install/run.sh BUILD_DIR     (static or shared, as BUILD_DIR was configured: BUILD_SHARED_LIBS)
# CTest runs it on the main build (label `install`); scripts/test.sh runs it again on a shared build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/synack-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "install test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "install"; }
config=$(find "$prefix" -name synackConfig.cmake -print -quit)
pc=$(find "$prefix" -name synack.pc -print -quit)
[[ -n "$config" && -n "$pc" ]] || fail "no synackConfig.cmake or synack.pc under $prefix"
libdir=$(dirname "$(dirname "$pc")")
# Static or shared, as BUILD_DIR was configured (BUILD_SHARED_LIBS).
if compgen -G "$libdir/libsynack_stack.so*" >/dev/null; then kind=shared; else kind=static; fi

# What was installed.
for f in bin/synack include/synack/stack/stack.hpp include/synack/wire/ip_address.hpp share/doc/synack/LICENSE; do
  [[ -e "$prefix/$f" ]] || fail "missing $f"
done
[[ -e "$(dirname "$config")/synackConfigVersion.cmake" ]] || fail "missing synackConfigVersion.cmake"
[[ ! -e "$prefix/include/synack/sandbox" ]] || fail "the internal sandbox header was installed"
if grep -rq -- '-Werror\|-Wconversion' "$(dirname "$config")"; then fail "warning flags in the CMake package"; fi
if grep -q -- '-W' "$pc"; then fail "warning flags in synack.pc"; fi
if [[ $kind == shared ]]; then
  so=$(find "$libdir" -name 'libsynack_stack.so.*' -type f -print -quit)
  [[ -n "$so" ]] || fail "no libsynack_stack.so.* in $libdir"
  soname=$(objdump -p "$so" | awk '/SONAME/ {print $2}')
  [[ "$soname" == libsynack_stack.so.* ]] || fail "bad SONAME '$soname'"
  echo "shared: $(basename "$so"), SONAME $soname"
else
  [[ -e "$libdir/libsynack_stack.a" ]] || fail "no libsynack_stack.a in $libdir"
fi
"$prefix/bin/synack" --version
# Man pages (when help2man was there at build time): each renders.
pages=("$prefix"/share/man/man1/*.1)
if [[ -e "${pages[0]}" ]]; then
  for page in "${pages[@]}"; do
    out=$(MANWIDTH=80 man -l "$page" 2>&1 </dev/null) || fail "man -l $page: $out"
    grep -q "SYNOPSIS\|DESCRIPTION\|OPTIONS" <<<"$out" || fail "man -l $page rendered no sections"
  done
  echo "man pages render: $(cd "$prefix/share/man/man1" && echo *.1)"
else
  echo "no man pages installed (help2man missing at build time)"
fi

run_consumer() {
  local name=$1 bin=$2 log=$3
  grep -q 'unused_on_purpose' "$log" || fail "$name: no warning for the unused variable (were -Wall -Wextra used?)"
  local out
  out=$(LD_LIBRARY_PATH="$libdir" "$bin") || fail "$name: the handshake program failed: $out"
  echo "$name ($kind): $out"
}

# 1. CMake: find_package(synack REQUIRED), synack::stack.
cmake -G Ninja -S "$here/find_package" -B "$work/find_package" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$work/fp-configure.log" 2>&1 || { cat "$work/fp-configure.log"; fail "find_package configure"; }
cmake --build "$work/find_package" >"$work/fp-build.log" 2>&1 || { cat "$work/fp-build.log"; fail "find_package build"; }
run_consumer find_package "$work/find_package/handshake" "$work/fp-build.log"

# 2. pkg-config --cflags --libs synack, the same command for static archives and shared libraries.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists synack || fail "pkg-config does not find synack in $PKG_CONFIG_PATH"
mkdir -p "$work/pkg_config"
make -C "$here/pkg_config" OUT="$work/pkg_config" >"$work/pc-build.log" 2>&1 ||
  { cat "$work/pc-build.log"; fail "pkg-config build"; }
run_consumer pkg_config "$work/pkg_config/handshake" "$work/pc-build.log"

# 3. The examples installed as documentation, built by their own CMakeLists.txt against the prefix; the two
# that run in memory are run.
examples=$(dirname "$(find "$prefix" -path '*/examples/CMakeLists.txt' -print -quit)")
[[ -e "$examples/memory_pair.cpp" && -e "$examples/forwarder.cpp" && -e "$examples/tun_echo.cpp" ]] ||
  fail "the examples were not installed (share/doc/synack/examples)"
cmake -G Ninja -S "$examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  >"$work/ex-configure.log" 2>&1 || { cat "$work/ex-configure.log"; fail "examples configure"; }
cmake --build "$work/examples" >"$work/ex-build.log" 2>&1 || { cat "$work/ex-build.log"; fail "examples build"; }
out=$(LD_LIBRARY_PATH="$libdir" "$work/examples/memory_pair") || fail "memory_pair failed: $out"
grep -q "client received: hello from the server" <<<"$out" || fail "memory_pair: unexpected output: $out"
out=$(LD_LIBRARY_PATH="$libdir" "$work/examples/forwarder" --self-test) || fail "forwarder --self-test failed: $out"
echo "installed examples ($kind): built; memory_pair and forwarder --self-test ran"
