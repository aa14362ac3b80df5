#!/usr/bin/env bash
# Holding many subscriptions (issue 6): resident memory of Herald with N active presence
# subscriptions, and how long a restart with them in the store takes (kill -9, then the time
# until the server answers OPTIONS). Release build, SQLite on disk, server on CPU 1, load on
# CPU 0, inside a loopback-only network namespace. Never part of the test suite.
#
#   scripts/bench/subscriptions.sh [N]      (default 100000; HERALD_BIN=path for another server build)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
RATE=${RATE:-4000}
if [ -z "${IN_NETNS:-}" ]; then
    if [ -z "${SKIP_BUILD:-}" ]; then
        scripts/install-build-deps.sh
        swift build -c release --product herald
        swift build -c release --product herald-load
    fi
    exec unshare -n env IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
BIN=$(swift build -c release --show-bin-path)
HERALD=${HERALD_BIN:-$BIN/herald}   # HERALD_BIN: another build of the server, for an A/B run
DATA=$(mktemp -d ${BENCH_TMP:+-p $BENCH_TMP})
OUT=${OUT:-/tmp/herald-subscriptions}
mkdir -p "$OUT"
serve() {
    taskset -c 1 "$HERALD" serve --data-dir "$DATA" --auth none --default-policy allow --domain 127.0.0.1 \
        --listen udp:127.0.0.1:5080 --http 127.0.0.1:8090 --log-level error &
    server=$!
}
options_ok() {
    python3 - <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.05); s.bind(("127.0.0.1", 0))
msg = ("OPTIONS sip:127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKprobe\r\nFrom: <sip:p@127.0.0.1>;tag=1\r\n"
       "To: <sip:127.0.0.1>\r\nCall-ID: probe\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n") % s.getsockname()[1]
s.sendto(msg.encode(), ("127.0.0.1", 5080))
try:
    s.recv(4096); sys.exit(0)
except OSError:
    sys.exit(1)
PY
}
restored() {
    python3 - <<'PY'
import re, urllib.request
try:
    text = urllib.request.urlopen("http://127.0.0.1:8090/metrics", timeout=1).read().decode()
    m = re.search(r'^herald_subscriptions\{event="presence",state="active"\} (\S+)$', text, re.M)
    print(int(float(m.group(1))) if m else 0)
except Exception:
    print(0)
PY
}
serve
until options_ok; do sleep 0.1; done
idle=$(awk '/VmRSS/ {print $2}' /proc/$server/status)
# Subscriptions held by one UDP socket; the load tool stays alive answering NOTIFYs until done.
taskset -c 0 "$BIN/herald-load" subscribe --target 127.0.0.1:5080 --domain 127.0.0.1 --rate "$RATE" \
    --duration $(( N / RATE + 1 )) --subscriptions "$N" --presentities $(( N / 10 )) --expires 3600 --drain 40 \
    --server-pid $server --json "$OUT/subscribe-$N.json" > "$OUT/subscribe-$N.txt" 2>/dev/null
sleep 35   # RFC 3261 Timer J keeps each SUBSCRIBE's server transaction for 32 s
held=$(awk '/VmRSS/ {print $2}' /proc/$server/status)
kill -9 $server; wait $server 2>/dev/null || true
completed=$(python3 -c "import json; print(int(json.load(open('$OUT/subscribe-$N.json'))['completed']))")
start=$(date +%s.%N)
serve
# Ready: answering SIP, and every stored subscription restored (the metrics gauge).
until options_ok && [ "$(restored)" -ge "$completed" ]; do sleep 0.05; done
ready=$(date +%s.%N)
restarted=$(awk '/VmRSS/ {print $2}' /proc/$server/status)
kill $server; wait $server 2>/dev/null || true
python3 - "$N" "$idle" "$held" "$start" "$ready" "$restarted" "$OUT/subscribe-$N.json" <<'PY'
import json, sys
n, idle, held, start, ready, restarted, path = sys.argv[1:]
n, idle, held, restarted = int(n), int(idle), int(held), int(restarted)
run = json.load(open(path))
print(f"subscriptions requested            {n}")
print(f"subscriptions completed (200)      {int(run['completed'])}")
print(f"setup rate (completed/s)           {run['completed_per_s']:.0f}")
print(f"SUBSCRIBE p99 ms                   {run.get('latency_p99_ms', float('nan')):.2f}")
print(f"server RSS idle / holding (MiB)    {idle/1024:.1f} / {held/1024:.1f}")
print(f"bytes per held subscription        {(held-idle)*1024/max(1,int(run['completed'])):.0f}")
print(f"restart until all restored (s)     {float(ready)-float(start):.2f}")
print(f"server RSS after restart (MiB)     {restarted/1024:.1f}")
PY
rm -rf "$DATA"
