"""presence.winfo (RFC 3857/3858) and message-summary (RFC 3842): SUBSCRIBE/NOTIFY over raw
UDP, PUBLISH of message-summary, and the HTTP voicemail hook POST /api/mwi/<aor>."""
from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from sipclient import tag_of
from sipua import (MWI_BODY, UA, WINFO_NS, Dialog, content_type, cseq_num, http_post, pidf, presence_server,
                   sub_state, tuples_of)

ALICE, BOB = "sip:alice@example.com", "sip:bob@example.com"
MWI_CT = "application/simple-message-summary"


def _ok(resp, what: str):
    assert resp is not None, f"no final response to {what}"
    assert resp.status == 200, f"{what}: {resp.start_line}\n{resp.raw.decode('latin-1')}"
    return resp


def _winfo(n) -> ET.Element:
    assert content_type(n) == "application/watcherinfo+xml", n.headers.get("content-type")
    root = ET.fromstring(n.body)
    assert root.tag == f"{{{WINFO_NS}}}watcherinfo", n.body
    return root


def _watchers(root: ET.Element) -> list[ET.Element]:
    wl = root.findall(f"{{{WINFO_NS}}}watcher-list")
    assert len(wl) == 1, ET.tostring(root)
    assert wl[0].get("resource") == ALICE and wl[0].get("package") == "presence"
    return wl[0].findall(f"{{{WINFO_NS}}}watcher")


def _mwi_fields(body: bytes) -> dict[str, str]:
    out = {}
    for line in body.decode("utf-8").splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip().lower()] = v.strip()
    return out


# -- presence.winfo ----------------------------------------------------------------------
def test_winfo_owner_full_then_partial_updates(herald_factory):
    h = presence_server(herald_factory)  # confirm
    with UA(h, ALICE) as a, UA(h, BOB) as b:
        w = a.dialog(ALICE, "presence.winfo")
        _ok(w.subscribe(600, extra=["Accept: application/watcherinfo+xml"]), "winfo SUBSCRIBE")
        n0 = w.notify()
        assert sub_state(n0)[0] == "active"
        root = _winfo(n0)
        assert root.get("version") == "0" and root.get("state") == "full", n0.body
        assert _watchers(root) == [], n0.body
        # bob asks to watch alice: pending
        d = b.dialog(ALICE)
        _ok(d.subscribe(600), "bob SUBSCRIBE")
        d.notify()
        n1 = w.notify()
        root = _winfo(n1)
        assert root.get("version") == "1" and root.get("state") == "partial", n1.body
        (wt,) = _watchers(root)
        assert (wt.get("status"), wt.get("event")) == ("pending", "subscribe"), n1.body
        assert (wt.text or "").strip() == BOB and wt.get("id"), n1.body
        # bob unsubscribes: terminated
        _ok(d.subscribe(0), "bob unsubscribe")
        d.notify()
        n2 = w.notify()
        root = _winfo(n2)
        assert root.get("version") == "2" and root.get("state") == "partial", n2.body
        (wt2,) = _watchers(root)
        assert (wt2.get("status"), wt2.get("event")) == ("terminated", "timeout"), n2.body
        assert (wt2.text or "").strip() == BOB and wt2.get("id") == wt.get("id"), n2.body


def test_winfo_full_state_lists_existing_watchers(herald_factory):
    h = presence_server(herald_factory, "allow")
    with UA(h, ALICE) as a, UA(h, BOB) as b:
        d = b.dialog(ALICE)
        _ok(d.subscribe(600), "bob SUBSCRIBE")
        d.notify()
        w = a.dialog(ALICE, "presence.winfo")
        _ok(w.subscribe(600), "winfo SUBSCRIBE")
        root = _winfo(w.notify())
        assert root.get("state") == "full"
        (wt,) = _watchers(root)
        assert wt.get("status") == "active" and (wt.text or "").strip() == BOB, ET.tostring(root)


def test_winfo_by_someone_else_is_403(herald_factory):
    h = presence_server(herald_factory, "allow")
    with UA(h, BOB) as b:
        r = b.dialog(ALICE, "presence.winfo").subscribe(600)
        assert r is not None and r.status == 403, r


# -- message-summary ---------------------------------------------------------------------
def _mwi_subscription(h, a):
    d = a.dialog(ALICE, "message-summary")
    _ok(d.subscribe(600, extra=[f"Accept: {MWI_CT}"]), "message-summary SUBSCRIBE")
    n = d.notify()
    assert sub_state(n)[0] == "active", n.headers.get("subscription-state")
    assert content_type(n) == MWI_CT, n.headers.get("content-type")
    return d, n


def test_mwi_initial_notify_says_no_messages(herald_factory):
    h = presence_server(herald_factory)
    with UA(h, ALICE) as a:
        _, n = _mwi_subscription(h, a)
        assert _mwi_fields(n.body).get("messages-waiting") == "no", n.body


def test_mwi_publish_reaches_subscriber(herald_factory):
    h = presence_server(herald_factory)
    with UA(h, ALICE) as a, UA(h, "sip:vmail@example.com") as vm:
        d, _ = _mwi_subscription(h, a)
        r = vm.publish(ALICE, MWI_BODY, event="message-summary", ctype=MWI_CT)
        _ok(r, "message-summary PUBLISH")
        assert r.headers.get("sip-etag")
        n = d.notify()
        f = _mwi_fields(n.body)
        assert f.get("messages-waiting") == "yes" and f.get("voice-message") == "2/8 (0/2)", n.body
        assert f.get("message-account") == "sip:alice@vmail.example.com", n.body


@pytest.mark.parametrize("aor", [ALICE, urllib.parse.quote(ALICE, safe="")],
                         ids=["plain", "percent-encoded"])
def test_mwi_http_post_reaches_subscriber(herald_factory, aor):
    h = presence_server(herald_factory)
    with UA(h, ALICE) as a:
        d, _ = _mwi_subscription(h, a)
        status, text = http_post(h.http_port, f"/api/mwi/{aor}", MWI_BODY)
        assert status == 200, (status, text)
        n = d.notify()
        f = _mwi_fields(n.body)
        assert f.get("messages-waiting") == "yes" and f.get("voice-message") == "2/8 (0/2)", n.body
        # a later subscriber gets the stored state at once
        d2, n2 = _mwi_subscription(h, a)
        assert _mwi_fields(n2.body).get("messages-waiting") == "yes", n2.body


def test_mwi_http_post_rejects_bad_body_and_foreign_domain(herald_factory):
    h = presence_server(herald_factory)
    with UA(h, ALICE) as a:
        d, _ = _mwi_subscription(h, a)
        status, text = http_post(h.http_port, f"/api/mwi/{ALICE}", b"this is not a summary\r\n")
        assert status == 400, (status, text)
        status, text = http_post(h.http_port, "/api/mwi/sip:carol@elsewhere.org", MWI_BODY)
        assert status == 404, (status, text)
        leaked = a.no_notify(1.0, d.call_id)
        assert leaked is None, f"rejected POSTs must not notify: {leaked.raw!r}"


def test_mwi_subscription_by_someone_else_is_403(herald_factory):
    h = presence_server(herald_factory, "allow")
    with UA(h, BOB) as b:
        r = b.dialog(ALICE, "message-summary").subscribe(600)
        assert r is not None and r.status == 403, r


def test_mwi_api_needs_a_trusted_host_or_the_mailbox_owner(herald_factory):
    from heraldproc import run_cli
    from xcapclient import http
    body = MWI_BODY
    h = herald_factory(domains=("example.com",), auth="digest")
    assert run_cli("user", "add", "alice@example.com", "--password", "pw", "--data-dir", str(h.data_dir)).returncode == 0
    path = "/api/mwi/sip:alice@example.com"
    ctype = ["Content-Type: application/simple-message-summary"]
    assert http(h.http_port, "POST", path, body, ctype).status == 401
    assert http(h.http_port, "POST", path, body, ctype, user="alice@example.com", password="pw").status == 200
    trusted = herald_factory(domains=("example.com",), auth="digest", extra_args=["--trusted-host", "127.0.0.1"])
    assert http(trusted.http_port, "POST", path, body, ctype).status == 200


def test_a_watcher_nobody_approves_is_given_up(herald_factory):
    """RFC 3857 §4.7.1 / RFC 6665 §4.1.3: with --authorization-wait 2, a pending watcher is
    ended with reason=giveup and the owner's winfo says so."""
    h = presence_server(herald_factory, "confirm", extra_args=["--authorization-wait", "2"])
    with UA(h, ALICE) as a, UA(h, BOB) as b:
        winfo = a.dialog(ALICE, "presence.winfo")
        _ok(winfo.subscribe(), "winfo SUBSCRIBE")
        winfo.notify()
        bd = b.dialog(ALICE)
        _ok(bd.subscribe(3600), "SUBSCRIBE")
        assert sub_state(bd.notify())[0] == "pending"
        pending = _watchers(_winfo(winfo.notify()))
        assert [(w.get("status"), w.get("event")) for w in pending] == [("pending", "subscribe")]
        state, params = sub_state(bd.notify(6))
        assert (state, params.get("reason")) == ("terminated", "giveup")
        given_up = _watchers(_winfo(winfo.notify()))
        assert [(w.get("status"), w.get("event"), w.text) for w in given_up] == [("terminated", "giveup", BOB)]


def test_two_subscriptions_share_one_dialog(herald_factory):
    """RFC 6665 §4.5.2: a SUBSCRIBE in alice's presence dialog for presence.winfo adds a
    subscription to it; NOTIFYs of both carry one rising CSeq sequence."""
    h = presence_server(herald_factory, "allow")
    with UA(h, ALICE) as a:
        presence = a.dialog(ALICE)
        _ok(presence.subscribe(), "presence SUBSCRIBE")
        first = presence.notify()
        winfo = Dialog(a, ALICE, "presence.winfo", call_id=presence.call_id, from_tag=presence.from_tag,
                       to_tag=presence.to_tag, remote_target=presence.remote_target, cseq=presence.cseq)
        _ok(winfo.subscribe(), "winfo SUBSCRIBE in the presence dialog")
        second = presence.notify()
        assert second.headers.get("event") == "presence.winfo", second.start_line
        assert _watchers(_winfo(second))[0].text == ALICE
        assert a.publish(ALICE, pidf(ALICE, ("t1", "open"))).status == 200
        third = presence.notify()
        assert third.headers.get("event") == "presence" and tuples_of(third.body, ALICE) == {"t1": "open"}
        assert [cseq_num(n) for n in (first, second, third)] == [1, 2, 3]
        assert {tag_of(n.headers.get("from")) for n in (first, second, third)} == {presence.to_tag}
