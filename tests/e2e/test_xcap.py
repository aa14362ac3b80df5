"""XCAP (RFC 4825) on Herald's HTTP port: seed 001's requests replayed, access control with
digest/basic users, preconditions and ETags, and pres-rules / pidf-manipulation changes that
take effect on live SIP subscriptions at once."""
from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from heraldproc import run_cli
from sipclient import LOOPBACK
from sipua import UA, pidf, presence_server, sub_state, tuples_of
from test_seed_replay import _seed_file
from xcapclient import http, ALL, rule, rules

XUI = "sip%3A%2B339012341234%40Test-rcs.com"
RULES_NS = "urn:ietf:params:xml:ns:common-policy"


def seed_http_exchanges() -> list[tuple[str, str, dict[str, str], bytes, int, str | None]]:
    """(method, path, headers, body, expected status, expected content type) for every HTTP
    request of seed 001 (the seed writes each message on one line; bodies follow on the next)."""
    lines = _seed_file().read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"^(GET|PUT|DELETE) (\S+) HTTP/1\.1 (.*)$", line)
        if not m:
            continue
        method, path, rest = m.groups()
        headers = dict(re.findall(r"(Host|User-Agent|Authorization|X-3GPP-Intended-Identity|Content-type): "
                                  r"(.*?)(?= (?:User-Agent|Authorization|X-3GPP-Intended-Identity|Content-type|Content-Length):|$)", rest))
        body = b""
        j = i + 1
        if method == "PUT":
            body = lines[j].encode()
            j += 1
        answer = lines[j]
        status = int(answer.split()[1])
        ctype = re.search(r"Content-Type: (\S+)", answer)
        out.append((method, path, headers, body, status, ctype.group(1) if ctype else None))
    return out


def send_seed_request(port: int, method: str, path: str, headers: dict[str, str], body: bytes):
    hdrs = [f"{k}: {v}" for k, v in headers.items() if k != "Host"]
    return http(port, method, path, body, hdrs)


def test_seed_001_xcap_requests_replay(herald_factory):
    h = presence_server(herald_factory, "confirm", domains=("test-rcs.com",))
    exchanges = seed_http_exchanges()
    assert len(exchanges) == 8, [e[:2] for e in exchanges]
    etags = []
    for method, path, headers, body, status, ctype in exchanges:
        resp = send_seed_request(h.http_port, method, path, headers, body)
        assert resp.status == status, f"{method} {path}: {resp.status} {resp.body[:300]!r}"
        if ctype:
            assert resp.header("content-type") == ctype, (path, resp.headers)
        if method == "GET" and "xcap-directory" in path:
            root = ET.fromstring(resp.body)
            auids = {f.get("auid") for f in root}
            assert {"rls-services", "resource-lists", "org.openmobilealliance.pres-rules"} <= auids, auids
        if method == "PUT":
            assert resp.header("etag"), f"no ETag for PUT {path}"
            etags.append(resp.header("etag"))
        if method == "GET" and "list%5B@name=%22rcs%22%5D" in path:
            el = ET.fromstring(resp.body)
            assert el.tag == "{urn:ietf:params:xml:ns:resource-lists}list" and el.get("name") == "rcs"
            assert el.find("{urn:ietf:params:xml:ns:resource-lists}display-name").text == "My presence buddies"
    assert len(set(etags)) == len(etags), "every change gets a new entity tag"
    # The resource list now holds both entries, the directory lists the documents with ETags.
    rl = http(h.http_port, "GET", f"/resource-lists/users/{XUI}/index")
    entries = [e.get("uri") for e in ET.fromstring(rl.body).iter("{urn:ietf:params:xml:ns:resource-lists}entry")]
    assert entries == ["sip:+339012341234@Test-rcs.com", "sip:+330123456789@anritsu-rcs.com;user=phone"], entries
    directory = ET.fromstring(http(h.http_port, "GET", f"/org.openmobilealliance.xcap-directory/users/{XUI}/directory.xml").body)
    listed = {e.get("uri"): e.get("etag") for f in directory for e in f}
    assert any(u.endswith("/resource-lists/users/" + XUI + "/index") for u in listed), listed
    assert any("pidf-manipulation" in u and u.endswith("/perm-presence") for u in listed), listed
    # Domains compare case-insensitively with the SIP side: the lower-case XUI is the same user.
    same = http(h.http_port, "GET", "/resource-lists/users/sip%3A%2B339012341234%40test-rcs.com/index")
    assert same.status == 200 and same.header("etag") == rl.header("etag")


def _user(h, user, password):
    r = run_cli("user", "add", user, "--password", password, "--data-dir", str(h.data_dir))
    assert r.returncode == 0, r.stderr


RL = (b'<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">'
      b'<list name="friends"><entry uri="sip:bob@example.com"/></list></resource-lists>')


def test_users_reach_only_their_own_documents_with_preconditions_and_errors(herald_factory):
    h = herald_factory(domains=("example.com",), auth="digest")
    _user(h, "alice@example.com", "wonderland")
    _user(h, "bob@example.com", "builder")
    doc = "/resource-lists/users/sip:alice@example.com/index"
    ctype = ["Content-Type: application/resource-lists+xml"]
    unauth = http(h.http_port, "PUT", doc, RL, ctype)
    assert unauth.status == 401 and any(v.startswith("Digest") for v in unauth.headers["www-authenticate"])
    created = http(h.http_port, "PUT", doc, RL, ctype, user="alice@example.com", password="wonderland")
    assert created.status == 201, created.body
    etag = created.header("etag")
    assert etag and etag.startswith('"')
    # Another user: 403 for read and write; the global tree is read-only.
    assert http(h.http_port, "GET", doc, user="bob@example.com", password="builder").status == 403
    assert http(h.http_port, "PUT", doc, RL, ctype, user="bob", password="builder").status == 403
    assert http(h.http_port, "GET", "/xcap-caps/global/index", user="bob", password="builder").status == 200
    assert http(h.http_port, "PUT", "/xcap-caps/global/index", b"<x/>", user="bob", password="builder").status in (403, 405)
    auth = dict(user="alice", password="wonderland")
    # Preconditions (RFC 4825 §7.11).
    assert http(h.http_port, "PUT", doc, RL, ctype + ['If-Match: "nope"'], **auth).status == 412
    assert http(h.http_port, "PUT", doc, RL, ctype + ["If-None-Match: *"], **auth).status == 412
    assert http(h.http_port, "GET", doc, headers=[f"If-None-Match: {etag}"], **auth).status == 304
    replaced = http(h.http_port, "PUT", doc, RL, ctype + [f"If-Match: {etag}"], **auth)
    assert replaced.status == 200 and replaced.header("etag") != etag
    # Element and attribute selectors.
    entry = doc + '/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22sip:carol@example.com%22%5D'
    put = http(h.http_port, "PUT", entry, b'<entry uri="sip:carol@example.com"/>', ["Content-Type: application/xcap-el+xml"], **auth)
    assert put.status == 201, put.body
    att = http(h.http_port, "GET", doc + '/~~/resource-lists/list%5B@name=%22friends%22%5D/@name', **auth)
    assert att.status == 200 and att.body == b"friends" and att.header("content-type") == "application/xcap-att+xml"
    # Errors: a duplicate entry is a uniqueness failure; malformed XML is not-well-formed.
    dup = http(h.http_port, "PUT", doc + '/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B2%5D',
               b'<entry uri="sip:bob@example.com"/>', ["Content-Type: application/xcap-el+xml"], **auth)
    assert dup.status == 409 and dup.header("content-type") == "application/xcap-error+xml", dup.body
    assert b"uniqueness-failure" in dup.body
    bad = http(h.http_port, "PUT", doc, b"<resource-lists", ctype, **auth)
    assert bad.status == 409 and b"not-well-formed" in bad.body
    assert http(h.http_port, "PUT", "/resource-lists/users/sip:alice@example.com/other", b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>",
                ctype, **auth).status == 409
    no_parent = http(h.http_port, "PUT", "/resource-lists/users/sip:alice@example.com/missing/~~/resource-lists/list",
                     b'<list name="x"/>', ["Content-Type: application/xcap-el+xml"], **auth)
    assert no_parent.status == 409 and b"no-parent" in no_parent.body
    assert http(h.http_port, "GET", "/nope/users/sip:alice@example.com/index", **auth).status == 404
    assert http(h.http_port, "DELETE", entry, **auth).status == 200
    assert http(h.http_port, "GET", entry, **auth).status == 404
    assert http(h.http_port, "DELETE", doc, **auth).status == 200
    assert http(h.http_port, "GET", doc, **auth).status == 404


WITH_PERSON = (b'<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" '
               b'xmlns:pdm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" '
               b'entity="sip:alice@example.com"><tuple id="t1"><status><basic>open</basic></status></tuple>'
               b'<pdm:person id="p1"><rpid:activities><rpid:meeting/></rpid:activities></pdm:person></presence>')


def test_pres_rules_change_approves_and_blocks_live_watchers(herald_factory):
    h = presence_server(herald_factory, "confirm")
    alice, bob, carol = "sip:alice@example.com", "sip:bob@example.com", "sip:carol@example.com"
    rules_doc = "/pres-rules/users/sip:alice@example.com/index"
    ctype = ["Content-Type: application/auth-policy+xml"]
    with UA(h, alice) as a, UA(h, bob) as b, UA(h, carol) as c:
        assert a.publish(alice, WITH_PERSON).status == 200
        winfo = a.dialog(alice, "presence.winfo")
        assert winfo.subscribe().status == 200
        winfo.notify()
        bd = b.dialog(alice)
        assert bd.subscribe().status == 200
        first = bd.notify()
        assert sub_state(first)[0] == "pending"
        pending = winfo.notify()
        assert b'status="pending"' in pending.body
        cd = c.dialog(alice)
        assert cd.subscribe().status == 200
        assert sub_state(cd.notify())[0] == "pending"
        winfo.notify()
        # Alice allows Bob (everything) and blocks Carol: effective at once, no restart, no poll.
        put = http(h.http_port, "PUT", rules_doc, rules(rule("friends", bob, "allow", ALL), rule("nope", carol, "block")), ctype)
        assert put.status == 201, put.body
        active = bd.notify()
        assert sub_state(active)[0] == "active"
        assert tuples_of(active.body, alice) == {"t1": "open"}
        assert b"meeting" in active.body, active.body
        ended = cd.notify()
        state, params = sub_state(ended)
        assert state == "terminated" and params.get("reason") == "rejected", ended.headers.get("subscription-state")
        changes = [winfo.notify(), winfo.notify()]
        bodies = b"".join(n.body for n in changes)
        assert b'event="approved"' in bodies and b'event="rejected"' in bodies, bodies
        # Rules limit what Bob sees: services only, no person; a change re-notifies at once.
        put = http(h.http_port, "PUT", rules_doc,
                   rules(rule("friends", bob, "allow", "<pr:provide-services><pr:all-services/></pr:provide-services>")),
                   ctype + [f"If-Match: {put.header('etag')}"])
        assert put.status == 200, put.body
        filtered = bd.notify()
        assert tuples_of(filtered.body, alice) == {"t1": "open"}
        assert b"meeting" not in filtered.body and b"person" not in filtered.body, filtered.body
        # A new watcher the rules do not name waits for confirmation.
        dave = UA(h, "sip:dave@example.com")
        try:
            dd = dave.dialog(alice)
            assert dd.subscribe().status == 200
            assert sub_state(dd.notify())[0] == "pending"
        finally:
            dave.close()


PERM = (b'<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" '
        b'xmlns:pdm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" '
        b'entity="sip:alice@example.com"><pdm:person id="p1"><rpid:status-icon>'
        b'http://127.0.0.1/org.openmobilealliance.pres-content/users/sip%3Aalice%40example.com/oma_status-icon/rcs_status_icon'
        b'</rpid:status-icon><pdm:note>permanent</pdm:note></pdm:person></presence>')


def test_pidf_manipulation_is_permanent_state_and_the_icon_is_served(herald_factory):
    h = presence_server(herald_factory, "allow")
    alice, bob = "sip:alice@example.com", "sip:bob@example.com"
    with UA(h, alice) as a, UA(h, bob) as b:
        assert a.publish(alice, pidf(alice, ("t1", "open"))).status == 200
        bd = b.dialog(alice)
        assert bd.subscribe().status == 200
        bd.notify()
        put = http(h.http_port, "PUT", "/pidf-manipulation/users/sip:alice@example.com/perm-presence", PERM,
                   ["Content-Type: application/pidf+xml"])
        assert put.status == 201, put.body
        n = bd.notify()
        assert b"permanent" in n.body and b"status-icon" in n.body
        assert tuples_of(n.body, alice) == {"t1": "open"}, "published state stays next to the permanent state"
        icon = bytes(range(256)) * 8
        path = "/org.openmobilealliance.pres-content/users/sip%3Aalice%40example.com/oma_status-icon/rcs_status_icon"
        assert http(h.http_port, "PUT", path, icon, ["Content-Type: image/jpeg"]).status == 201
        got = http(h.http_port, "GET", path)
        assert got.status == 200 and got.body == icon and got.header("content-type") == "image/jpeg"


def test_xcap_documents_survive_kill_9(herald_factory, tmp_path):
    h1 = presence_server(herald_factory, "allow")
    doc = "/resource-lists/users/sip:alice@example.com/index"
    put = http(h1.http_port, "PUT", doc, RL, ["Content-Type: application/resource-lists+xml"])
    assert put.status == 201
    h1.kill()
    h2 = herald_factory(argv=h1.argv, udp_port=h1.udp_port, http_port=h1.http_port, workdir=tmp_path / "again")
    deadline = time.monotonic() + 10
    while True:
        try:
            got = http(h2.http_port, "GET", doc)
            break
        except OSError:
            assert time.monotonic() < deadline, "HTTP port did not come back"
            time.sleep(0.1)
    assert got.status == 200 and got.body == RL and got.header("etag") == put.header("etag")


def test_intended_identity_only_from_trusted_proxies_and_service_uris_are_unique(herald_factory):
    h = herald_factory(domains=("example.com",), auth="digest", extra_args=["--identity-proxy", LOOPBACK])
    doc = "/rls-services/users/sip:alice@example.com/index"
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<rls-services xmlns="urn:ietf:params:xml:ns:rls-services">'
            b'<service uri="sip:alice-buddies@example.com"><resource-list>http://127.0.0.1/resource-lists/users/'
            b'sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22rcs%22%5D</resource-list>'
            b'<packages><package>presence</package></packages></service></rls-services>')
    ctype = "Content-Type: application/rls-services+xml"
    # The trusted proxy (3GPP TS 24.623) asserts the user; no password is asked.
    put = http(h.http_port, "PUT", doc, body, [ctype, 'X-3GPP-Intended-Identity: "sip:alice@example.com"'])
    assert put.status == 201, put.body
    # Bob may not claim Alice's service URI.
    taken = http(h.http_port, "PUT", "/rls-services/users/sip:bob@example.com/index", body,
                 [ctype, 'X-3GPP-Intended-Identity: "sip:bob@example.com"'])
    assert taken.status == 409 and b"uniqueness-failure" in taken.body, taken.body
    # ... nor in another spelling the SIP side takes for the same one (host case, transport).
    other_spelling = body.replace(b"sip:alice-buddies@example.com", b"sip:alice-buddies@EXAMPLE.com;transport=tcp")
    taken = http(h.http_port, "PUT", "/rls-services/users/sip:bob@example.com/index", other_spelling,
                 [ctype, 'X-3GPP-Intended-Identity: "sip:bob@example.com"'])
    assert taken.status == 409 and b"uniqueness-failure" in taken.body, taken.body
    # A list address with parameters must be the owner's own; a plain one no other user's.
    assert run_cli("user", "add", "alice@example.com", "--password", "a", "--data-dir", str(h.data_dir)).returncode == 0
    for uri, condition in ((b"sip:alice@example.com;pres-list=rcs", b"constraint-failure"),
                           (b"sip:alice@example.com", b"uniqueness-failure")):
        taken = http(h.http_port, "PUT", "/rls-services/users/sip:bob@example.com/index",
                     body.replace(b"sip:alice-buddies@example.com", uri),
                     [ctype, 'X-3GPP-Intended-Identity: "sip:bob@example.com"'])
        assert taken.status == 409 and condition in taken.body, (uri, taken.body)
    wrong_user = http(h.http_port, "GET", doc, headers=['X-3GPP-Intended-Identity: "sip:bob@example.com"'])
    assert wrong_user.status == 403


def test_two_users_claiming_one_service_uri_at_once_cannot_both_have_it(herald_factory):
    h = herald_factory(domains=("example.com",), auth="digest", extra_args=["--identity-proxy", LOOPBACK])
    ctype = "Content-Type: application/rls-services+xml"

    def claim(user: str, uri: str, document: str, results: list):
        body = (f'<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="{uri}"><list name="x"/>'
                f'</service></rls-services>').encode()
        results.append(http(h.http_port, "PUT", f"/rls-services/users/sip:{user}@example.com/{document}", body,
                            [ctype, f'X-3GPP-Intended-Identity: "sip:{user}@example.com"']).status)

    # RFC 4826 §4.4.5: the check and the commit of one claim do not interleave with another's.
    for round_ in range(10):
        results: list[int] = []
        threads = [threading.Thread(target=claim, args=(user, f"sip:team{round_}@example.com", f"r{round_}", results))
                   for user in ("alice", "bob")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert sorted(results) == [201, 409], (round_, results)


def test_intended_identity_from_an_untrusted_peer_is_ignored(herald_factory):
    # A SIP trusted host is not an HTTP identity proxy.
    h = herald_factory(domains=("example.com",), auth="digest", extra_args=["--trusted-host", LOOPBACK])
    got = http(h.http_port, "GET", "/resource-lists/users/sip:alice@example.com/index",
               headers=['X-3GPP-Intended-Identity: "sip:alice@example.com"'])
    assert got.status == 401


def test_a_users_home_directory_has_a_quota(herald_factory):
    h = presence_server(herald_factory, "allow")
    ctype = ["Content-Type: application/resource-lists+xml"]
    for i in range(100):
        r = http(h.http_port, "PUT", f"/resource-lists/users/sip:alice@example.com/doc{i}", RL, ctype)
        assert r.status == 201, (i, r.status, r.body)
    over = http(h.http_port, "PUT", "/resource-lists/users/sip:alice@example.com/doc100", RL, ctype)
    assert over.status == 409 and b"constraint-failure" in over.body and b"quota" in over.body
    # Replacing an existing document stays possible.
    assert http(h.http_port, "PUT", "/resource-lists/users/sip:alice@example.com/doc7", RL, ctype).status == 200
