#!/usr/bin/env python3
"""The equal-rate p99 table of compare.sh from its samples file.

Each sample line: scenario rate server round p99_ms failed_ratio steal_percent. A step whose
run still saw more than MAX_STEAL % steal after its retries measured the host, not the
server: it is shown in brackets and left out of the median unless no clean run is left.

    latency_table.py SAMPLES REPEATS MAX_STEAL
"""
import statistics
import sys
from collections import defaultdict

path, repeats, max_steal = sys.argv[1], sys.argv[2], float(sys.argv[3])
samples = defaultdict(list)
for line in open(path):
    scenario, rate, server, _round, p99, _failed, steal = line.split()
    if p99 != "-":
        samples[(scenario, int(rate), server)].append((float(p99), float(steal)))


def summary(runs):
    clean = [p99 for p99, steal in runs if steal <= max_steal] or [p99 for p99, _ in runs]
    shown = ", ".join(f"{p99:.1f}" if steal <= max_steal else f"[{p99:.1f}]" for p99, steal in runs)
    return statistics.median(clean), shown


print()
print(f"### p99 at equal offered rates: median of {repeats} runs per server, the servers taking turns")
print()
print(f"A step that ran while the hypervisor stole more than {max_steal:g} % of the CPU was run again (twice at")
print("most); one that still did is shown [in brackets] and left out of the median.")
print()
print("| step | Herald median p99 ms (runs) | Kamailio median p99 ms (runs) | Herald / Kamailio | lower |")
print("|---|---|---|---:|---|")
for scenario, rate in sorted({(s, r) for s, r, _ in samples}):
    herald, kamailio = samples.get((scenario, rate, "herald")), samples.get((scenario, rate, "kamailio"))
    if not herald or not kamailio:
        continue
    (hm, hs), (km, ks) = summary(herald), summary(kamailio)
    print(f"| {scenario} {rate}/s | {hm:.2f} ({hs}) | {km:.2f} ({ks}) | {hm / km:.2f} | {'Herald' if hm < km else 'Kamailio'} |")
