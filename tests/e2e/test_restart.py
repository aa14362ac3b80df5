"""Subscriptions survive a restart on the same data dir and ports (SIGKILL and SIGTERM), and
a subscription that expired while the server was down is ended at startup."""
from __future__ import annotations

import signal
import time

import pytest

from sipclient import tag_of
from sipua import UA, cseq_num, pidf, presence_server, sub_state, tuples_of

ALICE, BOB = "sip:alice@example.com", "sip:bob@example.com"


def _ok(resp, what: str):
    assert resp is not None, f"no final response to {what}"
    assert resp.status == 200, f"{what}: {resp.start_line}\n{resp.raw.decode('latin-1')}"
    return resp


def _restart(factory, old, tmp_path, sig: int):
    """Stop `old` with sig, start a server with the same argv (ports, data dir)."""
    if sig == signal.SIGKILL:
        old.kill()
    else:
        old.stop_and_check(sig)
    return factory(argv=old.argv, udp_port=old.udp_port, http_port=old.http_port,
                   workdir=tmp_path / f"restarted-{sig}")


def _same_dialog(n, d):
    assert n.headers.get("call-id") == d.call_id
    assert tag_of(n.headers.get("from")) == d.to_tag, n.headers.get("from")
    assert tag_of(n.headers.get("to")) == d.from_tag, n.headers.get("to")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_subscription_survives_restart(herald_factory, tmp_path, sig):
    h1 = presence_server(herald_factory, "allow")
    with UA(h1, ALICE) as a, UA(h1, BOB) as b:
        _ok(a.publish(ALICE, pidf(ALICE, ("t1", "open"))), "PUBLISH")
        d = b.dialog(ALICE)
        _ok(d.subscribe(3600), "SUBSCRIBE")
        before = [d.notify()]
        _ok(a.publish(ALICE, pidf(ALICE, ("t2", "open"))), "PUBLISH 2")
        before.append(d.notify())
        b.pump_for(0.3)  # let the server see our 200s before it dies
        h2 = _restart(herald_factory, h1, tmp_path, sig)
        ended = [n for n in b.notifies + b.notify_log if sub_state(n)[0] == "terminated"]
        assert not ended, f"subscription ended around the restart: {ended[0].raw!r}"

        _ok(a.publish(ALICE, pidf(ALICE, ("t3", "closed"))), "PUBLISH after restart")
        top = max(cseq_num(n) for n in before)
        deadline = time.monotonic() + 8
        while True:
            n = b.next_notify(max(deadline - time.monotonic(), 0.01), d.call_id)
            assert n is not None, (
                f"no NOTIFY with t3 in dialog {d.call_id} after the restart; got "
                f"{[x.start_line + ' ' + x.headers.get('cseq', '') for x in b.notify_log]}")
            _same_dialog(n, d)
            assert cseq_num(n) > top, f"NOTIFY CSeq {cseq_num(n)} not above {top} after restart"
            top = cseq_num(n)
            assert sub_state(n)[0] == "active", n.headers.get("subscription-state")
            if "t3" in tuples_of(n.body):
                break
        assert tuples_of(n.body).get("t3") == "closed", n.body
        # what was published before the restart was durable: still composed with the new state
        assert tuples_of(n.body) == {"t1": "open", "t2": "open", "t3": "closed"}, n.body
        # the dialog is still usable from the subscriber's side
        _ok(d.subscribe(600), "refresh after restart")
        n = d.notify()
        _same_dialog(n, d)
        assert cseq_num(n) > top
        assert h2.proc.poll() is None


def test_expiry_while_down_is_applied_at_startup(herald_factory, tmp_path):
    """A subscription and a publication of 60 s (the minimum; there is no flag for shorter)
    expire while the server is down: at startup the subscriber gets a final NOTIFY
    (terminated;reason=timeout), a long-lived watcher gets the state without the expired
    tuple, and the publication's etag is gone (412). Takes ~62 s."""
    h1 = presence_server(herald_factory, "allow")
    with UA(h1, ALICE) as a, UA(h1, BOB) as b, UA(h1, "sip:carol@example.com") as c:
        _ok(a.publish(ALICE, pidf(ALICE, ("keep", "open")), expires=3600), "PUBLISH long")
        r = _ok(a.publish(ALICE, pidf(ALICE, ("brief", "open")), expires=60), "PUBLISH 60 s")
        etag = r.headers.get("sip-etag")
        long_watch = c.dialog(ALICE)
        _ok(long_watch.subscribe(3600), "carol SUBSCRIBE")
        assert set(tuples_of(long_watch.notify().body)) == {"keep", "brief"}
        d = b.dialog(ALICE)
        r = _ok(d.subscribe(60), "SUBSCRIBE 60 s")
        granted = int(r.headers.get("expires"))
        expiry = time.monotonic() + max(granted, 60)
        assert granted <= 60
        first = d.notify()
        b.pump_for(0.3)
        c.pump_for(0.1)
        h1.stop_and_check(signal.SIGTERM)
        time.sleep(max(expiry - time.monotonic() + 1.0, 0))
        herald_factory(argv=h1.argv, udp_port=h1.udp_port, http_port=h1.http_port,
                       workdir=tmp_path / "restarted")
        n = d.notify(timeout=10)
        _same_dialog(n, d)
        state, params = sub_state(n)
        assert (state, params.get("reason")) == ("terminated", "timeout"), \
            n.headers.get("subscription-state")
        assert cseq_num(n) > cseq_num(first)
        n = long_watch.notify(timeout=10)
        assert sub_state(n)[0] == "active" and tuples_of(n.body) == {"keep": "open"}, n.body
        r = a.publish(ALICE, etag=etag, ctype=None)
        assert r is not None and r.status == 412, f"refresh of an expired publication: {r}"
