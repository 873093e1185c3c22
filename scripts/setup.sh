#!/usr/bin/env bash
# Installs every Debian package synack needs. Idempotent: when all is present it only checks (dpkg-query)
# and returns in well under a second. Nothing is downloaded from anywhere but the Debian archive.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config git
  # libraries
  libpcap-dev libsodium-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libseccomp-dev libcap-dev
  # fuzzing, sanitizers, formatting, linting
  clang-19 libclang-rt-19-dev clang-format-19 clang-tidy-19
  # real peers and judges
  tshark tcpdump python3 python3-scapy hping3 iproute2 socat curl netcat-openbsd
  # tools
  librsvg2-bin valgrind
  # packetdrill (a test dependency, built from ../shared/tools by scripts/packetdrill.sh) needs these
  bison flex
  # man pages: generated from --help at build time, rendered by the install test (man -l)
  help2man man-db
  # API reference: scripts/check-docs.sh renders include/synack and fails on any undocumented declaration
  doxygen
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${#missing[@]} Debian package(s): ${missing[*]}" >&2
sudo_cmd=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install packages" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Answer wireshark-common's question (may non-root users capture?) so the install never prompts.
echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo_cmd[@]}" debconf-set-selections
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
