"""Presence over raw UDP: PUBLISH (RFC 3903) and SUBSCRIBE/NOTIFY (RFC 6665, RFC 3856)
against servers started with --auth none --domain example.com [--default-policy ...]."""
from __future__ import annotations

import pytest

from sipclient import tag_of, uri_of
from sipua import (UA, cseq_num, content_type, pidf, presence_server, sub_state, tuples_of)

ALICE, BOB = "sip:alice@example.com", "sip:bob@example.com"


@pytest.fixture
def allow(herald_factory):
    return presence_server(herald_factory, "allow")


def _ok(resp, what: str):
    assert resp is not None, f"no final response to {what}"
    assert resp.status == 200, f"{what}: {resp.start_line}\n{resp.raw.decode('latin-1')}"
    return resp


def _etag(resp) -> str:
    etag = resp.headers.get("sip-etag")
    assert etag, f"200 to PUBLISH without SIP-ETag:\n{resp.raw.decode('latin-1')}"
    return etag


# -- PUBLISH -------------------------------------------------------------------------------
def test_publish_grants_etag_and_expires(allow):
    with UA(allow, ALICE) as a:
        r = _ok(a.publish(ALICE, pidf(ALICE, ("t1", "open")), expires=3600), "PUBLISH")
        _etag(r)
        assert 0 < int(r.headers.get("expires")) <= 3600, r.headers.get("expires")
        r = _ok(a.publish(ALICE, pidf(ALICE, ("t2", "open")), expires=10 ** 6), "long PUBLISH")
        assert 0 < int(r.headers.get("expires")) <= 86400, r.headers.get("expires")


def test_publish_refresh_modify_remove(allow):
    with UA(allow, ALICE) as a:
        e1 = _etag(_ok(a.publish(ALICE, pidf(ALICE, ("t1", "open")), expires=600), "PUBLISH"))
        r = _ok(a.publish(ALICE, expires=600, etag=e1, ctype=None), "refresh PUBLISH")
        e2 = _etag(r)
        assert e2 != e1, "a refresh must return a new entity-tag (RFC 3903 §4.4)"
        assert 0 < int(r.headers.get("expires")) <= 600
        e3 = _etag(_ok(a.publish(ALICE, pidf(ALICE, ("t1", "closed")), expires=600, etag=e2),
                       "modify PUBLISH"))
        assert e3 not in (e1, e2), "a modification must return a new entity-tag"
        r = _ok(a.publish(ALICE, expires=0, etag=e3, ctype=None), "remove PUBLISH")
        r = a.publish(ALICE, expires=600, etag=e3, ctype=None)
        assert r is not None and r.status == 412, f"refresh of a removed publication: {r}"


def test_publish_superseded_etag_is_412(allow):
    with UA(allow, ALICE) as a:
        e1 = _etag(_ok(a.publish(ALICE, pidf(ALICE, ("t1", "open"))), "PUBLISH"))
        _ok(a.publish(ALICE, etag=e1, ctype=None), "refresh PUBLISH")
        r = a.publish(ALICE, etag=e1, ctype=None)
        assert r is not None and r.status == 412, \
            f"the etag replaced by a refresh must no longer match (RFC 3903 §4.4): {r}"


def test_publish_unknown_etag_is_412(allow):
    with UA(allow, ALICE) as a:
        r = a.publish(ALICE, etag="no-such-etag", ctype=None)
        assert r is not None and r.status == 412, r
        r = a.publish(ALICE, pidf(ALICE, ("t1", "open")), etag="no-such-etag")
        assert r is not None and r.status == 412, r


def test_publish_too_brief_is_423(allow):
    with UA(allow, ALICE) as a:
        r = a.publish(ALICE, pidf(ALICE, ("t1", "open")), expires=10)
        assert r is not None and r.status == 423, r
        assert r.headers.get("min-expires", "").strip() == "60", r.raw.decode("latin-1")


def test_publish_unknown_event_is_489(allow):
    with UA(allow, ALICE) as a:
        r = a.publish(ALICE, pidf(ALICE, ("t1", "open")), event="foo")
        assert r is not None and r.status == 489, r
        assert "presence" in r.headers.tokens("allow-events"), r.raw.decode("latin-1")


def test_publish_wrong_content_type_is_415(allow):
    with UA(allow, ALICE) as a:
        r = a.publish(ALICE, b"hello", ctype="text/plain")
        assert r is not None and r.status == 415, r
        assert "application/pidf+xml" in r.headers.tokens("accept"), r.raw.decode("latin-1")


@pytest.mark.parametrize("body", [
    b'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple',
    b'<?xml version="1.0"?><!DOCTYPE presence [<!ENTITY x "y">]>'
    b'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>',
    b'<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="0" state="full"/>',
], ids=["malformed", "doctype", "not-pidf"])
def test_publish_bad_body_is_400_with_reason(allow, body):
    with UA(allow, ALICE) as a:
        r = a.publish(ALICE, body)
        assert r is not None and r.status == 400, r
        assert len(r.reason) > len("Bad Request") and r.reason != "Bad Request", \
            f"the reason phrase should name the problem: {r.start_line!r}"


def test_publish_without_body_or_etag_is_400(allow):
    with UA(allow, ALICE) as a:
        r = a.publish(ALICE, ctype=None)
        assert r is not None and r.status == 400, r


# -- SUBSCRIBE / NOTIFY ---------------------------------------------------------------------
def _check_notify(n, d, state: str, granted: int | None = None):
    assert n.method == "NOTIFY"
    assert uri_of(n.headers.get("from")) == d.target and tag_of(n.headers.get("from")) == d.to_tag
    assert uri_of(n.headers.get("to")) == d.ua.aor and tag_of(n.headers.get("to")) == d.from_tag
    assert n.headers.get("call-id") == d.call_id
    assert n.headers.get("event", "").split(";")[0].strip() == d.event
    got, params = sub_state(n)
    assert got == state, f"Subscription-State {n.headers.get('subscription-state')!r}"
    if state != "terminated":
        left = int(params.get("expires", "-1"))
        assert 0 < left <= (granted or 3600), \
            f"{n.headers.get('subscription-state')!r} (granted {granted})"
        if granted:
            assert left >= granted - 5, f"{n.headers.get('subscription-state')!r} vs {granted}"


def test_subscribe_active_notify_composes_publications(allow):
    with UA(allow, ALICE) as a, UA(allow, BOB) as b, UA(allow, "sip:carol@example.com") as c:
        e1 = _etag(_ok(a.publish(ALICE, pidf(ALICE, ("t1", "open"), ("t2", "open"))), "PUBLISH 1"))
        _ok(a.publish(ALICE, pidf(ALICE, ("t2", "closed"), ("t3", "open"))), "PUBLISH 2")
        d = b.dialog(ALICE)
        r = _ok(d.subscribe(3600), "SUBSCRIBE")
        assert 0 < int(r.headers.get("expires")) <= 3600 and d.to_tag and r.headers.get("contact")
        n1 = d.notify()
        _check_notify(n1, d, "active", int(r.headers.get("expires")))
        assert content_type(n1) == "application/pidf+xml"
        assert tuples_of(n1.body, ALICE) == {"t1": "open", "t2": "closed", "t3": "open"}, n1.body
        dc = c.dialog(ALICE)
        _ok(dc.subscribe(3600), "carol SUBSCRIBE")
        dc.notify()
        # a new publication reaches every watcher; its removal does too
        e = _etag(_ok(a.publish(ALICE, pidf(ALICE, ("t9", "open"))), "PUBLISH 3"))
        want = {"t1": "open", "t2": "closed", "t3": "open", "t9": "open"}
        n2 = d.notify()
        _check_notify(n2, d, "active")
        assert tuples_of(n2.body, ALICE) == want, n2.body
        assert tuples_of(dc.notify().body, ALICE) == want
        _ok(a.publish(ALICE, expires=0, etag=e, ctype=None), "remove PUBLISH")
        n3 = d.notify()
        assert tuples_of(n3.body) == {"t1": "open", "t2": "closed", "t3": "open"}, n3.body
        assert tuples_of(dc.notify().body) == {"t1": "open", "t2": "closed", "t3": "open"}
        # modifying publication 1 makes it the later one: its t2 wins now
        _ok(a.publish(ALICE, pidf(ALICE, ("t1", "closed"), ("t2", "open")), etag=e1), "modify 1")
        n4 = d.notify()
        assert tuples_of(n4.body) == {"t1": "closed", "t2": "open", "t3": "open"}, n4.body
        assert cseq_num(n1) < cseq_num(n2) < cseq_num(n3) < cseq_num(n4)


def test_subscribe_confirm_policy_is_pending_without_body(herald_factory):
    h = presence_server(herald_factory)  # default policy: confirm
    with UA(h, ALICE) as a, UA(h, BOB) as b:
        _ok(a.publish(ALICE, pidf(ALICE, ("t1", "open"))), "PUBLISH")
        d = b.dialog(ALICE)
        r = _ok(d.subscribe(600), "SUBSCRIBE")
        assert r.status != 202
        n = d.notify()
        _check_notify(n, d, "pending")
        assert n.body == b"", f"a pending NOTIFY must not carry state: {n.body!r}"
        _ok(a.publish(ALICE, pidf(ALICE, ("t1", "closed"))), "PUBLISH 2")
        leaked = b.no_notify(1.0, d.call_id)
        assert leaked is None or not leaked.body, f"state leaked to a pending watcher: {leaked.raw!r}"


def test_refresh_and_unsubscribe(allow):
    with UA(allow, BOB) as b:
        d = b.dialog(ALICE)
        _ok(d.subscribe(600), "SUBSCRIBE")
        n1 = d.notify()
        r = _ok(d.subscribe(1200), "refresh SUBSCRIBE")
        assert tag_of(r.headers.get("to")) == d.to_tag
        granted = int(r.headers.get("expires"))
        assert 600 < granted <= 1200, f"refresh to 1200 s granted {granted}"
        n2 = d.notify()
        _check_notify(n2, d, "active", granted)
        _ok(d.subscribe(0), "unsubscribe")
        n3 = d.notify()
        _check_notify(n3, d, "terminated")
        assert sub_state(n3)[1].get("reason") == "timeout", n3.headers.get("subscription-state")
        assert cseq_num(n1) < cseq_num(n2) < cseq_num(n3)
        r = d.subscribe(600)
        assert r is not None and r.status == 481, f"refresh of an ended subscription: {r}"


def test_in_dialog_subscribe_unknown_tag_is_481(allow):
    with UA(allow, BOB) as b:
        d = b.dialog(ALICE)
        r = d.subscribe(600, to_tag="nosuchtag")
        assert r is not None and r.status == 481, r


def test_block_policy_is_403_but_self_subscription_active(herald_factory):
    h = presence_server(herald_factory, "block")
    with UA(h, ALICE) as a, UA(h, BOB) as b:
        r = b.dialog(ALICE).subscribe(600)
        assert r is not None and r.status == 403, r
        d = a.dialog(ALICE)
        _ok(d.subscribe(600), "self SUBSCRIBE")
        _check_notify(d.notify(), d, "active")


def test_self_subscription_active_under_confirm(herald_factory):
    h = presence_server(herald_factory, "confirm")
    with UA(h, ALICE) as a:
        _ok(a.publish(ALICE, pidf(ALICE, ("t1", "open"))), "PUBLISH")
        d = a.dialog(ALICE)
        _ok(d.subscribe(600), "self SUBSCRIBE")
        n = d.notify()
        _check_notify(n, d, "active")
        assert tuples_of(n.body) == {"t1": "open"}


def test_subscribe_unknown_event_is_489(allow):
    with UA(allow, BOB) as b:
        r = b.dialog(ALICE, event="foo").subscribe(600)
        assert r is not None and r.status == 489, r
        assert "presence" in r.headers.tokens("allow-events")


def test_next_notify_waits_for_200_then_unanswered_ends(allow):
    """RFC 6665 §4.2.2: one NOTIFY at a time; an unanswered NOTIFY ends the subscription
    after Timer F (32 s)."""
    with UA(allow, ALICE) as a, UA(allow, BOB, answer=0) as b:
        d = b.dialog(ALICE)
        _ok(d.subscribe(600), "SUBSCRIBE")
        first = d.notify()
        _ok(a.publish(ALICE, pidf(ALICE, ("t1", "open"))), "PUBLISH")
        b.pump_for(2.0)  # retransmissions of the first NOTIFY only
        same = [n for n in b.notify_log if n.headers.get("cseq") == first.headers.get("cseq")]
        later = [n for n in b.notify_log if cseq_num(n) > cseq_num(first)]
        assert len(same) >= 2, "the unanswered NOTIFY was not retransmitted over UDP"
        assert not later, f"a new NOTIFY went out before the previous one was answered: {later}"
        b.sock.send(UA.response_to(first, 200))   # now answer: the update follows
        b.answer = 200
        n = d.notify()
        assert tuples_of(n.body) == {"t1": "open"} and cseq_num(n) > cseq_num(first)
        b.answer = 0
        _ok(a.publish(ALICE, pidf(ALICE, ("t1", "closed"))), "PUBLISH 2")
        b.pump_for(34.0)  # never answered: Timer F fires
        b.answer = 200
        b.notifies.clear()
        r = d.subscribe(600)
        assert r is not None and r.status == 481, \
            f"subscription still alive after an unanswered NOTIFY timed out: {r}"


def test_subscribe_without_expires_gets_default(allow):
    with UA(allow, BOB) as b:
        d = b.dialog(ALICE)
        r = _ok(d.subscribe(None), "SUBSCRIBE without Expires")
        granted = int(r.headers.get("expires", "-1"))
        assert 0 < granted <= 3600, f"RFC 3856 §6.4 default is 3600 s; granted {granted}"
        _check_notify(d.notify(), d, "active", granted)


def test_fetch_is_one_terminated_notify_with_state(allow):
    """RFC 6665 §4.4.3: SUBSCRIBE with Expires 0 outside a dialog fetches the state; its
    NOTIFY carries the state and ends the subscription (terminated)."""
    with UA(allow, ALICE) as a, UA(allow, BOB) as b:
        _ok(a.publish(ALICE, pidf(ALICE, ("t1", "open"))), "PUBLISH")
        d = b.dialog(ALICE)
        r = _ok(d.subscribe(0), "fetch SUBSCRIBE")
        assert r.headers.get("expires", "").strip() == "0", r.headers.get("expires")
        n = d.notify()
        assert tuples_of(n.body, ALICE) == {"t1": "open"}, n.body
        assert sub_state(n)[0] == "terminated", \
            f"fetch NOTIFY has Subscription-State {n.headers.get('subscription-state')!r}"
        extra = b.no_notify(1.0, d.call_id)
        assert extra is None, f"a second NOTIFY after the fetch: {extra.raw!r}"


def test_notify_answered_481_ends_subscription(allow):
    """RFC 6665 §4.2.2: a 481 to a NOTIFY removes the subscription."""
    with UA(allow, ALICE) as a, UA(allow, BOB, answer=481) as b:
        d = b.dialog(ALICE)
        _ok(d.subscribe(600), "SUBSCRIBE")
        d.notify()
        b.pump_for(0.3)
        _ok(a.publish(ALICE, pidf(ALICE, ("t1", "open"))), "PUBLISH")
        late = b.no_notify(1.0, d.call_id)
        assert late is None, f"NOTIFY after the subscriber answered 481: {late.raw!r}"
        b.answer = 200
        r = d.subscribe(600)
        assert r is not None and r.status == 481, r
