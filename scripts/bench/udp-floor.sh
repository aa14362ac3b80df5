#!/usr/bin/env bash
# How many datagrams a trivial C echo server moves on one core of this machine (server on
# CPU 0, client on CPU 1, loopback-only namespace): the ceiling under any SIP server's
# message rate. Never part of the test suite.
#
#   scripts/bench/udp-floor.sh [RATES]     (default "55000 110000 200000")
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
gcc -O2 -o "$out/udp_floor" udp_floor.c
for rate in ${1:-55000 110000 200000}; do
    unshare -n sh -c "ip link set lo up; taskset -c 0 '$out/udp_floor' server & server=\$!; sleep 0.3
        echo \"offered $rate/s: \$(taskset -c 1 '$out/udp_floor' client $rate 5)\"; kill \$server"
done
rm -rf "$out"
