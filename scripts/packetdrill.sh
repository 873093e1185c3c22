#!/usr/bin/env bash
# Runs packetdrill scripts against synack through libsynack-packetdrill.so (virtual time), or with --kernel
# against the Linux kernel (packetdrill's own tun mode, each script in a private network namespace made by
# `unshare -n`). One packetdrill process per script (it dlopens the library once), in parallel up to the
# cores; one line per script, `PASS path` or `FAIL path: packetdrill's error`, then `N passed, M failed`.
# Exit 0 only when all pass; 77 (a skip) with one line saying why when packetdrill or the library is missing.
#
# Usage: scripts/packetdrill.sh [--kernel] [--pcap DIR] [--so PATH] [SCRIPT...]
#   SCRIPT...   default: every tests/packetdrill/*.pkt (the scripts under tests/packetdrill/fail/ are
#               written to fail and are run only when named). Scripts use packetdrill's usual addresses:
#               nothing in them names one; the runner passes local 198.51.100.1, remote 192.0.2.1.
#   --kernel    the Linux kernel instead of synack; scripts with a `synack-only` line are skipped (needs root)
#   --pcap DIR  (synack) each script's datagrams in DIR/NAME.pcap, and tshark checks every IP and TCP
#               checksum in them (packetdrill does not check outbound TCP checksums); a bad one fails it
#   --so PATH   the shim (default: build/libsynack-packetdrill.so, or $SYNACK_PACKETDRILL_SO)
# Environment: PACKETDRILL = the packetdrill binary; else ../shared/tools/build-packetdrill.sh (relative to
# the repository) builds it; else the run is skipped. SYNACK_PACKETDRILL_JOBS = parallel runs (default nproc).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kernel=0 pcap_dir="" so=${SYNACK_PACKETDRILL_SO:-$root/build/libsynack-packetdrill.so}
scripts=()
while (($#)); do
  case $1 in
    --kernel) kernel=1 ;;
    --pcap) pcap_dir=${2:?--pcap needs a directory}; shift ;;
    --so) so=${2:?--so needs a path}; shift ;;
    --one) shift; break ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "packetdrill.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) scripts+=("$1") ;;
  esac
  shift
done

local_ip=198.51.100.1 remote_ip=192.0.2.1

# --one SCRIPT: run a single script (the parallel workers call this) and print its line.
if [[ ${1:-} != "" && ${#scripts[@]} == 0 && -n ${PD_WORKER:-} ]]; then
  script=$1
  log=$(mktemp)
  if ((kernel)); then
    # A private network namespace per script: the tun device, its addresses and the sysctl live and die
    # with it. tcp_rmem's maximum makes Linux offer window scale 7, as synack does; newer kernels' linear
    # SYN timeouts (tcp_syn_linear_timeouts) are turned off for RFC 6298's exponential backoff.
    timeout 400 unshare -n sh -c '
      ip link set lo up && sysctl -q -w net.ipv4.tcp_rmem="4096 131072 6291456" &&
      { [ ! -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts ] || sysctl -q -w net.ipv4.tcp_syn_linear_timeouts=0; } &&
      exec "$@"' sh "$PACKETDRILL" --local_ip=$local_ip --gateway_ip=198.51.100.2 \
      --netmask_ip=255.255.255.0 --remote_ip=$remote_ip --tolerance_usecs=200000 "$script" >"$log" 2>&1
    rc=$?
  else
    flags="local=$local_ip"
    pcap=""
    if [[ -n $pcap_dir ]]; then
      pcap="$pcap_dir/$(basename "$script" .pkt).pcap"
      flags="$flags pcap=$pcap"
    fi
    timeout 120 "$PACKETDRILL" --so_filename="$so" --so_flags="$flags" --local_ip=$local_ip \
      --remote_ip=$remote_ip "$script" >"$log" 2>&1
    rc=$?
    if ((rc == 0)) && [[ -n $pcap ]]; then
      bad=$(tshark -r "$pcap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
        -Y 'ip.checksum.status == "Bad" || tcp.checksum.status == "Bad"' 2>/dev/null | head -3)
      if [[ -n $bad ]]; then
        echo "bad checksum (tshark): $bad" >"$log"
        rc=1
      fi
    fi
  fi
  if ((rc == 0)); then
    echo "PASS $script"
  else
    ((rc == 124)) && echo "timed out" >>"$log"
    # packetdrill's error: its first line that names the script, else its first line.
    err=$(grep -m1 -F "$(basename "$script")" "$log" || head -1 "$log")
    echo "FAIL $script: ${err:-exit status $rc}"
  fi
  rm -f "$log"
  exit $((rc != 0))
fi

if ((${#scripts[@]} == 0)); then
  mapfile -t scripts < <(find "$root/tests/packetdrill" -maxdepth 1 -name '*.pkt' | sort)
fi
listed=()
if ((kernel)); then
  if ((EUID != 0)); then echo "packetdrill.sh: skipped: the kernel run needs root (unshare -n, tun)"; exit 77; fi
  kept=()
  for s in "${scripts[@]}"; do grep -q 'synack-only' "$s" || kept+=("$s"); done
  listed=("${kept[@]}")
  # The longest scripts first (by the protocol time they span: the sum of their relative steps), so that
  # syn_retransmit_giveup's 200 s of real time overlaps the rest instead of following it.
  mapfile -t scripts < <(for s in "${kept[@]}"; do
    printf '%s\t%s\n' "$(awk '$1 ~ /^\+[0-9.]+$/ { t += substr($1, 2) } END { printf "%d", t }' "$s")" "$s"
  done | sort -t$'\t' -k1,1nr -k2 | cut -f2)
else
  if [[ ! -f $so ]]; then echo "packetdrill.sh: skipped: no shim at $so (build the synack_packetdrill target)"; exit 77; fi
fi

if [[ -z ${PACKETDRILL:-} ]]; then
  builder=$root/../shared/tools/build-packetdrill.sh
  if [[ ! -f $builder ]]; then
    echo "packetdrill.sh: skipped: no \$PACKETDRILL and no $builder to build packetdrill with"
    exit 77
  fi
  # Under a lock: CTest may start several runs at once, and they would build into the same directory.
  if ! PACKETDRILL=$(flock "${TMPDIR:-/tmp}/synack-packetdrill-build.lock" bash "$builder" 2>&1 | tail -1) ||
    [[ ! -x $PACKETDRILL ]]; then
    echo "packetdrill.sh: skipped: building packetdrill failed: $PACKETDRILL"
    exit 77
  fi
fi
export PACKETDRILL
[[ -n $pcap_dir ]] && mkdir -p "$pcap_dir"

args=()
((kernel)) && args+=(--kernel)
[[ -n $pcap_dir ]] && args+=(--pcap "$pcap_dir")
args+=(--so "$so")
jobs=${SYNACK_PACKETDRILL_JOBS:-$(nproc)}
results=$(printf '%s\0' "${scripts[@]}" |
  PD_WORKER=1 xargs -0 -n1 -P "$jobs" bash "$0" "${args[@]}" --one 2>&1)
# Lines in the order of the scripts as named or found (xargs finishes them in any order).
((${#listed[@]})) || listed=("${scripts[@]}")
for s in "${listed[@]}"; do grep -F -m1 -e "PASS $s" -e "FAIL $s:" <<<"$results"; done
passed=$(grep -c '^PASS ' <<<"$results")
failed=$(grep -c '^FAIL ' <<<"$results")
echo "$passed passed, $failed failed"
((failed == 0 && passed == ${#scripts[@]}))
