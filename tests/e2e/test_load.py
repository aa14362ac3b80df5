"""herald-load against Herald: every scenario briefly, small counts, UDP and TCP, digest
credentials. Correctness only (every request answered, nothing failed); no timing asserted."""
from __future__ import annotations

import json
import subprocess

import pytest

from heraldproc import herald_binary, run_cli, unavailable
from sipclient import LOOPBACK


def load_binary():
    path = herald_binary().parent / "herald-load"
    if not path.is_file():
        unavailable(f"herald-load not found at {path} (swift build builds it)")
    return path


def run_load(h, tmp_path, scenario: str, *args: str, transport: str = "udp"):
    out = tmp_path / f"{scenario}-{transport}.json"
    port = h.udp_port if transport == "udp" else h.tcp_port
    proc = subprocess.run(
        [str(load_binary()), scenario, "--target", f"{LOOPBACK}:{port}", "--transport", transport, "--domain", "example.com",
         "--duration", "1", "--drain", "5", "--json", str(out), *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "t=1s" in proc.stderr, proc.stderr   # the live progress line
    assert "completed_per_s" in proc.stdout      # the final table
    return json.loads(out.read_text())


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_each_scenario_completes_without_failures(herald_factory, tmp_path, transport):
    h = herald_factory(domains=("example.com",), extra_args=["--default-policy", "allow"])
    reg = run_load(h, tmp_path, "register", "--rate", "50", "--count", "30", "--users", "10", transport=transport)
    assert reg["attempted"] == reg["completed"] > 0 and reg["failures"] == 0, reg
    pub = run_load(h, tmp_path, "publish", "--rate", "50", "--count", "30", "--presentities", "5", transport=transport)
    assert pub["completed"] == pub["attempted"] > 0 and pub["failures"] == 0, pub
    assert pub["publish_refresh"] + pub["publish_modify"] > 0, pub
    sub = run_load(h, tmp_path, "subscribe", "--rate", "50", "--subscriptions", "20", "--presentities", "5", transport=transport)
    assert sub["completed"] == sub["attempted"] == 20 and sub["failures"] == 0, sub
    assert sub["notifies"] >= 20 and sub["first_notify_p50_ms"] >= 0, sub
    for name in ("latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_p999_ms", "latency_max_ms"):
        assert name in sub
    mixed = run_load(h, tmp_path, "mixed", "--rate", "60", "--count", "30", "--population", "5", transport=transport)
    assert isinstance(mixed, list) and {m["scenario"] for m in mixed} == {"register", "publish", "subscribe"}
    assert all(m["failures"] == 0 and m["completed"] == m["attempted"] for m in mixed), mixed
    fan = subprocess.run(
        [str(load_binary()), "fanout", "--target", f"{LOOPBACK}:{h.udp_port if transport == 'udp' else h.tcp_port}",
         "--transport", transport, "--presentities", "2", "--watchers", "3",
         "--rate", "20", "--duration", "1", "--settle", "0", "--json", str(tmp_path / "fanout.json")],
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert fan.returncode == 0, fan.stderr
    figures = json.loads((tmp_path / "fanout.json").read_text())
    assert figures["subscriptions"] == 6 and figures["failures"] == 0, figures
    # Every PUBLISH sent was answered and its NOTIFYs delivered to the watchers, latency measured.
    # (A slot falls out when the presentity's previous PUBLISH is still unanswered, as one can be
    # for over 100 ms while a disk commit stalls: that is a rate figure, measured by benchmarks.)
    assert figures["completed"] + figures["publish_skipped"] == figures["attempted"], figures
    assert figures["timeouts"] == 0 and "retransmissions" in figures, figures
    assert figures["completed_per_s"] > 0 and figures["notify_per_s"] >= figures["completed_per_s"], figures
    for name in ("latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_p999_ms", "latency_max_ms"):
        assert name in figures, figures


def test_register_answers_digest_challenges(herald_factory, tmp_path):
    h = herald_factory(domains=("example.com",), auth="digest")
    for i in range(3):
        assert run_cli("user", "add", f"load-u{i}@example.com", "--password", "loadpw", "--data-dir", str(h.data_dir)).returncode == 0
    ok = run_load(h, tmp_path, "register", "--rate", "30", "--count", "9", "--users", "3", "--password", "loadpw")
    assert ok["completed"] == 9 and ok["failures"] == 0, ok
    wrong = run_load(h, tmp_path, "register", "--rate", "30", "--count", "3", "--users", "3", "--password", "nope")
    assert wrong["completed"] == 0 and wrong.get("failed_401", 0) == 3, wrong


def test_fanout_answers_digest_challenges(herald_factory, tmp_path):
    h = herald_factory(domains=("example.com",), auth="digest", extra_args=["--default-policy", "allow"])
    users = [f"load-p{p}" for p in range(2)] + [f"load-w{p}-{w}" for p in range(2) for w in range(2)]
    for user in users:
        assert run_cli("user", "add", f"{user}@example.com", "--password", "fanpw", "--data-dir", str(h.data_dir)).returncode == 0
    out = tmp_path / "fanout-digest.json"
    fan = subprocess.run(
        [str(load_binary()), "fanout", "--target", f"{LOOPBACK}:{h.udp_port}", "--presentities", "2", "--watchers", "2",
         "--rate", "10", "--duration", "1", "--settle", "0", "--password", "fanpw", "--json", str(out)],
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert fan.returncode == 0, fan.stderr
    figures = json.loads(out.read_text())
    # Every SUBSCRIBE and PUBLISH was challenged (407) and then accepted with credentials.
    assert figures["subscriptions"] == 4 and figures["failures"] == 0 and figures["failure_ratio"] == 0, figures
    assert figures["completed_per_s"] > 0 and figures["notify_per_s"] >= figures["completed_per_s"], figures
    # A wrong password: every SUBSCRIBE and PUBLISH is refused after its one answered challenge.
    wrong = subprocess.run(
        [str(load_binary()), "fanout", "--target", f"{LOOPBACK}:{h.udp_port}", "--presentities", "1", "--watchers", "2",
         "--rate", "5", "--duration", "1", "--settle", "0", "--password", "nope", "--json", str(out)],
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    refused = json.loads(out.read_text())
    assert refused["subscriptions"] == 0 and refused["completed_per_s"] == 0, (refused, wrong.stderr)
    assert refused.get("failed_407", 0) >= 2 and refused["failure_ratio"] == 1, (refused, wrong.stderr)


def test_only_loopback_targets(tmp_path):
    proc = subprocess.run([str(load_binary()), "publish", "--target", "192.0.2.1:5060", "--duration", "1"],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0 and "loopback" in proc.stderr


def test_fanout_ends_the_subscriptions_it_opened(herald_factory, tmp_path):
    """A fanout run un-SUBSCRIBEs its watchers at the end, so the next run (a benchmark ladder)
    does not find the server still notifying a port nobody reads."""
    from test_metrics import scrape, value

    h = herald_factory(domains=("example.com",), extra_args=["--default-policy", "allow"])
    fan = subprocess.run(
        [str(load_binary()), "fanout", "--target", f"{LOOPBACK}:{h.udp_port}", "--presentities", "3", "--watchers", "4",
         "--rate", "20", "--duration", "1", "--settle", "0", "--json", str(tmp_path / "fanout.json")],
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert fan.returncode == 0, fan.stderr
    assert json.loads((tmp_path / "fanout.json").read_text())["subscriptions"] == 12
    metrics = scrape(h)
    for state in ("active", "pending"):
        assert value(metrics, "herald_subscriptions", event="presence", state=state) == 0, metrics
