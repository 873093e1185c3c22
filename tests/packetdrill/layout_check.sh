#!/usr/bin/env bash
# Compiles a check that our declaration of the hook table (src/packetdrill/interface.hpp) has every slot
# at the offset packetdrill's own packetdrill.h gives it, and the same size. packetdrill's header is read
# where packetdrill was built ($PACKETDRILL's directory, else ../shared/tools/build-packetdrill.sh builds
# it); nothing of it is copied into the project. Exit 77 (skip) when it is not available.
set -uo pipefail
ours=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
if [[ -z ${PACKETDRILL:-} ]]; then
  builder=$root/../shared/tools/build-packetdrill.sh
  [[ -f $builder ]] || { echo "layout_check: skipped: no \$PACKETDRILL and no $builder"; exit 77; }
  PACKETDRILL=$(flock "${TMPDIR:-/tmp}/synack-packetdrill-build.lock" bash "$builder" 2>/dev/null | tail -1) || { echo "layout_check: skipped: packetdrill build failed"; exit 77; }
fi
theirs=$(dirname "$PACKETDRILL")/packetdrill.h
[[ -f $theirs ]] || { echo "layout_check: skipped: no packetdrill.h next to $PACKETDRILL"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
slots=(userdata free socket bind listen accept connect read readv recv recvfrom recvmsg write writev send
  sendto sendmsg fcntl ioctl close shutdown getsockopt setsockopt poll netdev_send netdev_receive usleep
  gettimeofday epoll_create epoll_ctl epoll_wait pipe splice)
{
  echo "#include \"$theirs\""
  echo "#include \"$ours\""
  echo "#include <cstddef>"
  echo "static_assert(sizeof(packetdrill_interface) == sizeof(SynackPacketdrillInterface), \"size\");"
  for s in "${slots[@]}"; do
    echo "static_assert(offsetof(packetdrill_interface, $s) == offsetof(SynackPacketdrillInterface, $s), \"$s\");"
  done
  echo "static_assert(${#slots[@]} == synack::packetdrill::kInterfaceSlots + 1, \"slot count\");"
} >"$work/check.cpp"
if c++ -std=c++23 -fsyntax-only "$work/check.cpp"; then
  echo "layout_check: ${#slots[@]} slots at packetdrill.h's offsets"
else
  echo "layout_check: our table differs from $theirs"
  exit 1
fi
