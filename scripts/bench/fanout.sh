#!/usr/bin/env bash
# PUBLISH→NOTIFY fan-out and subscription memory benchmark (issue 3). Builds release binaries,
# runs Herald (SQLite store on disk) and herald-load inside a loopback-only network namespace,
# each pinned to its own core, and prints one summary per case. Never part of the test suite.
#
#   scripts/bench/fanout.sh [RESULTS_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
results=${1:-.build-bench-results}
mkdir -p "$results"
if [ -z "${SKIP_BUILD:-}" ]; then
    scripts/install-build-deps.sh
    swift build -c release --product herald
    swift build -c release --product herald-load
fi
bin=$(swift build -c release --show-bin-path)

run_case() {  # name presentities watchers rate duration [settle seconds]
    local name=$1 presentities=$2 watchers=$3 rate=$4 duration=$5 settle=${6:-1}
    local data
    data=$(mktemp -d ${BENCH_TMP:+-p $BENCH_TMP})
    unshare -n bash -c "
        set -euo pipefail
        ip link set lo up
        taskset -c 0 '$bin/herald' serve --data-dir '$data' --auth none --default-policy allow --domain example.com \
            --listen udp:127.0.0.1:5060 --http 127.0.0.1:8080 --log-level error &
        server=\$!
        for _ in \$(seq 50); do sleep 0.1; [ -e /proc/\$server ] || exit 1; grep -q 'VmRSS' /proc/\$server/status && break; done
        sleep 1
        taskset -c 1 '$bin/herald-load' fanout --target 127.0.0.1:5060 --presentities $presentities --watchers $watchers \
            --rate $rate --duration $duration --settle $settle --server-pid \$server --json '$results/$name.json'
        kill \$server; wait \$server || true
    "
    rm -rf "$data"
}

cases=${CASES:-"fanout-w1 fanout-w10 fanout-w10-hi fanout-w100 memory-10k"}
for name in $cases; do
    case $name in
        fanout-w1) run_case fanout-w1 100 1 2000 10 ;;
        fanout-w10) run_case fanout-w10 100 10 500 10 ;;
        fanout-w10-hi) run_case fanout-w10-hi 200 10 2000 10 ;;
        fanout-w100) run_case fanout-w100 10 100 50 10 ;;
        memory-10k) run_case memory-10k 1000 10 10 2 40 ;;
        *) run_case "$name" ${name//-/ } ;;
    esac
done
