"""GET /metrics (Prometheus text format): counters move with traffic, gauges show what the
server holds, and /healthz answers while it is up."""
from __future__ import annotations

import re

from sipua import UA, pidf, presence_server
from xcapclient import http


def scrape(h) -> dict[str, float]:
    resp = http(h.http_port, "GET", "/metrics")
    assert resp.status == 200, resp.status
    assert resp.header("content-type").startswith("text/plain; version=0.0.4")
    out = {}
    for line in resp.body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^(\S+?(?:\{[^}]*\})?) (\S+)$", line)
        assert m, f"not an exposition line: {line!r}"
        out[m.group(1)] = float(m.group(2))
    return out


def value(metrics: dict[str, float], name: str, **labels: str) -> float:
    """The sample named `name` whose labels include `labels` (0 when absent)."""
    for key, v in metrics.items():
        base, _, rest = key.partition("{")
        if base != name:
            continue
        if all(f'{k}="{val}"' in rest for k, val in labels.items()):
            return v
    return 0.0


def test_metrics_move_with_traffic(herald_factory):
    h = presence_server(herald_factory, "allow")
    assert http(h.http_port, "GET", "/healthz").status == 200
    before = scrape(h)
    alice, bob = "sip:alice@example.com", "sip:bob@example.com"
    with UA(h, alice) as a, UA(h, bob) as b:
        assert a.publish(alice, pidf(alice, ("t1", "open"))).status == 200
        d = b.dialog(alice)
        assert d.subscribe().status == 200
        d.notify()
        assert a.publish(alice, pidf(alice, ("t1", "closed"))).status == 200
        d.notify()
        b.pump_for(0.3)
        after = scrape(h)
    assert value(after, "herald_sip_requests_total", method="PUBLISH") - value(before, "herald_sip_requests_total", method="PUBLISH") == 2
    assert value(after, "herald_sip_requests_total", method="SUBSCRIBE") >= 1
    assert value(after, "herald_sip_responses_total", **{"class": "2xx"}) >= 3
    assert value(after, "herald_publish_total") >= 2
    assert value(after, "herald_notify_total", result="2xx") >= 2
    assert value(after, "herald_subscriptions", event="presence", state="active") == 1
    assert value(after, "herald_publications") == 2   # two initial PUBLISHes: two entity-tags
    assert value(after, "herald_publish_to_notify_seconds_count") >= 1
    assert value(after, "herald_store_commit_seconds_count") > value(before, "herald_store_commit_seconds_count")
    assert "herald_transactions{kind=\"server\"}" in after
    assert value(after, "herald_connections", transport="tcp") == 0
    # The server runs on jemalloc (its statistics are only there when it is the allocator).
    assert value(after, "herald_memory_allocated_bytes") > 1_000_000
    assert value(after, "herald_memory_resident_bytes") >= value(after, "herald_memory_allocated_bytes")
