#!/usr/bin/env bash
# The runner with scripts written to fail, a passing one between them: each failing script is reported
# at the line that fails with packetdrill's own error, the run goes on to the next script, and the summary
# and exit status say so. Usage: check_failures.sh RUNNER SHIM
set -uo pipefail
runner=$1 so=$2
here=$(cd "$(dirname "$0")" && pwd)
out=$(bash "$runner" --so "$so" "$here/fail/wrong_window.pkt" "$here/passive_open_no_options.pkt" \
  "$here/fail/missing_synack.pkt")
rc=$?
echo "$out"
case $rc in 77) exit 77 ;; 0) echo "check_failures: the run passed"; exit 1 ;; esac
status=0
expect() {
  grep -qF -- "$1" <<<"$out" || { echo "check_failures: missing: $1"; status=1; }
}
expect "FAIL $here/fail/wrong_window.pkt: $here/fail/wrong_window.pkt:8: error handling packet: live packet field tcp_window: expected: 1234"
expect "PASS $here/passive_open_no_options.pkt"
expect "FAIL $here/fail/missing_synack.pkt: $here/fail/missing_synack.pkt:7: error handling packet"
expect "1 passed, 2 failed"
exit $status
