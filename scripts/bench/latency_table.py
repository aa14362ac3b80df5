#!/usr/bin/env python3
"""The equal-rate p99 tables of compare.sh from its samples file.

Each sample line: scenario rate server round p99_ms failed_ratio steal_percent [wire_p99_ms].
p99_ms is herald-load's (end to end, from each request's due time); wire_p99_ms is the
server's own, from the datagrams' kernel timestamps (sipcap + server_latency.py). A step whose
run still saw more than MAX_STEAL % steal after its retries measured the host, not the
server: it is shown in brackets and left out of the median unless no clean run is left.

    latency_table.py SAMPLES REPEATS MAX_STEAL
"""
import statistics
import sys
from collections import defaultdict

path, repeats, max_steal = sys.argv[1], sys.argv[2], float(sys.argv[3])
end_to_end = defaultdict(list)
on_the_wire = defaultdict(list)
for line in open(path):
    fields = line.split()
    scenario, rate, server, _round, p99, _failed, steal = fields[:7]
    key = (scenario, int(rate), server)
    if p99 != "-":
        end_to_end[key].append((float(p99), float(steal)))
    if len(fields) > 7 and fields[7] != "-":
        on_the_wire[key].append((float(fields[7]), float(steal)))


def summary(runs):
    clean = [p99 for p99, steal in runs if steal <= max_steal] or [p99 for p99, _ in runs]
    shown = ", ".join(f"{p99:.1f}" if steal <= max_steal else f"[{p99:.1f}]" for p99, steal in runs)
    return statistics.median(clean), shown


def table(samples, title, explanation):
    steps = sorted({(s, r) for s, r, _ in samples})
    if not steps:
        return
    print()
    print(f"### {title}")
    print()
    print(explanation)
    print()
    print("| step | Herald median p99 ms (runs) | Kamailio median p99 ms (runs) | Herald / Kamailio | lower |")
    print("|---|---|---|---:|---|")
    for scenario, rate in steps:
        herald, kamailio = samples.get((scenario, rate, "herald")), samples.get((scenario, rate, "kamailio"))
        if not herald or not kamailio:
            continue
        (hm, hs), (km, ks) = summary(herald), summary(kamailio)
        print(f"| {scenario} {rate}/s | {hm:.2f} ({hs}) | {km:.2f} ({ks}) | {hm / km:.2f} | {'Herald' if hm < km else 'Kamailio'} |")


steal_note = (f"A step that ran while the hypervisor stole more than {max_steal:g} % of the CPU was run again (twice\n"
              "at most); one that still did is shown [in brackets] and left out of the median.")
table(end_to_end, f"p99 at equal offered rates, end to end (herald-load): median of {repeats} runs per server, the servers taking turns",
      steal_note)
table(on_the_wire, f"p99 at equal offered rates, the server's own (on the wire): median of {repeats} runs per server",
      "The same runs, timed by the kernel's timestamps of the datagrams on the server's port: SUBSCRIBE in to\n"
      "its answer out, PUBLISH in to the first NOTIFY out of it in each watcher's dialog.")
