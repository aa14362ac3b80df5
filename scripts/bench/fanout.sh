#!/usr/bin/env bash
# PUBLISH→NOTIFY fan-out and subscription memory benchmark (issue 3). Builds release binaries,
# runs Herald (SQLite store on disk) and herald-load inside a loopback-only network namespace,
# each pinned to its own core, and prints one summary per case. Never part of the test suite.
#
#   scripts/bench/fanout.sh [RESULTS_DIR]
#   SKIP_BUILD=1 REPEATS=3 CASES="100-10-1200-10 100-10-1600-10" scripts/bench/fanout.sh
#   (HERALD_BIN=path runs another build of the server against the same load generator)
#   SERVER_CPUS=0,1 LOAD_CPUS=0,1 ...  both on the whole machine (default: server on CPU 0 alone,
#   herald-load on CPU 1, the one-core figures kept since the first session)
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
herald=${HERALD_BIN:-$bin/herald}   # HERALD_BIN: another build of the server, for an A/B run

run_case() {  # name presentities watchers rate duration [settle seconds]
    local name=$1 presentities=$2 watchers=$3 rate=$4 duration=$5 settle=${6:-1}
    local data
    data=$(mktemp -d ${BENCH_TMP:+-p $BENCH_TMP})
    unshare -n bash -c "
        set -euo pipefail
        ip link set lo up
        taskset -c ${SERVER_CPUS:-0} '$herald' serve --data-dir '$data' --auth none --default-policy allow --domain example.com \
            --listen udp:127.0.0.1:5060 --http 127.0.0.1:8080 --log-level error &
        server=\$!
        for _ in \$(seq 50); do sleep 0.1; [ -e /proc/\$server ] || exit 1; grep -q 'VmRSS' /proc/\$server/status && break; done
        sleep 1
        taskset -c ${LOAD_CPUS:-1} '$bin/herald-load' fanout --target 127.0.0.1:5060 --presentities $presentities --watchers $watchers \
            --rate $rate --duration $duration --settle $settle --server-pid \$server --json '$results/$name.json'
        kill \$server; wait \$server || true
    "
    rm -rf "$data"
}

cases=${CASES:-"fanout-w1 fanout-w10 fanout-w10-hi fanout-w100 memory-10k"}
# REPEATS=N runs the whole list N times (round after round, so that a noisy minute of this
# VM hits one run of a case, not all of them) and prints each case's median p99.
repeats=${REPEATS:-1}
for round in $(seq "$repeats"); do
    suffix=""; [ "$repeats" -gt 1 ] && suffix="-r$round"
    for name in $cases; do
        case $name in
            fanout-w1) run_case fanout-w1$suffix 100 1 2000 10 ;;
            fanout-w10) run_case fanout-w10$suffix 100 10 500 10 ;;
            fanout-w10-hi) run_case fanout-w10-hi$suffix 200 10 2000 10 ;;
            fanout-w100) run_case fanout-w100$suffix 10 100 50 10 ;;
            memory-10k) run_case memory-10k$suffix 1000 10 10 2 40 ;;
            *) run_case "$name$suffix" ${name//-/ } ;;
        esac
    done
done
if [ "$repeats" -gt 1 ]; then
    python3 - "$results" $cases <<'PY'
import json, statistics, sys
results, cases = sys.argv[1], sys.argv[2:]
print("| case | offered PUBLISH/s | published/s (median) | p50 ms (median) | p99 ms: median (runs) |")
print("|---|---:|---:|---:|---|")
for case in cases:
    runs = []
    for round in range(1, 100):
        try:
            runs.append(json.load(open(f"{results}/{case}-r{round}.json")))
        except FileNotFoundError:
            break
    if not runs:
        continue
    p99 = [r["latency_p99_ms"] for r in runs]
    print(f"| {case} | {runs[0]['offered_publish_per_s']:.0f} | {statistics.median(r['publish_ok_per_s'] for r in runs):.0f} | "
          f"{statistics.median(r['latency_p50_ms'] for r in runs):.1f} | {statistics.median(p99):.1f} ({', '.join(f'{x:.1f}' for x in p99)}) |")
PY
fi
