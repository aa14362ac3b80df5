#!/usr/bin/env python3
"""A server's own latency, from sipcap's record of the datagrams on its port.

- answer: request in (first transmission) -> its first final response out, per method,
  matched by Call-ID, CSeq number and method;
- notify: PUBLISH in -> the first NOTIFY out in each dialog (Call-ID) carrying the PUBLISH's
  marker (herald-load fanout's "ts-NNN" note), i.e. the PUBLISH-to-NOTIFY fan-out as the
  server does it (a later NOTIFY with the same state, such as the final one when the watcher
  unsubscribes, is not a delivery of that PUBLISH).

Timestamps are the kernel's, taken when each datagram entered the loopback device, so the
load generator's own scheduling is not in these figures (it is in herald-load's).

    server_latency.py CAPTURE [--json FILE] [--skip SECONDS] [--p99 notify|METHOD]

--skip leaves out the first SECONDS of the capture (a scenario's setup); --p99 prints only
that p99 in ms ("-" when there is none), for scripts.
"""
import argparse
import json
import sys
from collections import defaultdict


def percentiles(values):
    if not values:
        return None
    values = sorted(values)

    def at(q):
        return values[min(len(values) - 1, int(q * len(values)))]

    return {"count": len(values), "p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99),
            "p999_ms": at(0.999), "max_ms": values[-1]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("capture")
    parser.add_argument("--json")
    parser.add_argument("--skip", type=float, default=0)
    parser.add_argument("--p99")
    args = parser.parse_args()

    requests = {}                 # (call-id, cseq, method) -> first time in
    answered = set()
    published = {}                # marker -> first time the PUBLISH came in
    answer_ms = defaultdict(list)
    notify_ms = []
    notified = set()              # (marker, call-id)
    start = None
    for line in open(args.capture):
        fields = line.split()
        if len(fields) != 8:
            continue
        ns, direction, first, code, call_id, cseq, method, marker = fields
        ns = int(ns)
        if start is None:
            start = ns
        counted = (ns - start) / 1e9 >= args.skip
        if direction == "in" and first != "SIP/2.0":
            key = (call_id, cseq, method)
            requests.setdefault(key, ns)
            if first == "PUBLISH" and marker != "-":
                published.setdefault(marker, ns)
        elif direction == "out" and first == "SIP/2.0" and code[:1] in "23456":
            key = (call_id, cseq, method)
            if key in requests and key not in answered:
                answered.add(key)
                if counted:
                    answer_ms[method].append((ns - requests[key]) / 1e6)
        elif direction == "out" and first == "NOTIFY" and marker in published and (marker, call_id) not in notified:
            notified.add((marker, call_id))
            if counted:
                notify_ms.append((ns - published[marker]) / 1e6)
    result = {"answer": {method: percentiles(values) for method, values in sorted(answer_ms.items())},
              "notify": percentiles(notify_ms)}
    if args.json:
        json.dump(result, open(args.json, "w"), indent=1)
    if args.p99:
        figures = result["notify"] if args.p99 == "notify" else result["answer"].get(args.p99)
        print(f"{figures['p99_ms']:.3f}" if figures else "-")
        return 0
    for method, figures in result["answer"].items():
        print(f"{method} -> final response: " + " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))
    if result["notify"]:
        print("PUBLISH -> NOTIFY: " + " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in result["notify"].items()))


if __name__ == "__main__":
    sys.exit(main())
