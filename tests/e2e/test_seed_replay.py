"""Replay of seed 001 (an RCS client's XCAP documents, REGISTER, presence.winfo and
`pres-list` SUBSCRIBEs and its 5-tuple PUBLISH) over raw UDP and HTTP, steps 0 to 19. The
seed's rls-services, resource-lists and pres-rules documents are PUT as the seed sends them; its
`pres-list` SUBSCRIBE is then a subscription to the owner's list (RFC 4662), whose NOTIFYs carry
an RLMI document and each member's PIDF (multipart/related). The winfo NOTIFYs of steps 13 and
15 come from a second user watching the owner, whom the owner approves by adding him to the list
her pres-rules grant (OMA's granted contacts); the owner appears there too, watching herself
through her list. Step 17's state comes from the seed's own pidf-manipulation PUT, step 19's
from the second user publishing the document the seed shows.

Adaptations: the server serves test-rcs.com; the seed's Route (192.168.1.2) is dropped; its Via
is replaced by ours; Contact host:port become our loopback socket (its parameters stay) so
NOTIFYs reach us; Content-Length is recomputed (the seed's text has collapsed whitespace). Every
other header (User-Agent, Accept, Supported, Allow, Event, ...) is sent as in the seed. The
seed's list entry for the second user names another domain in its body than in its URI (XCAP
refuses that), so ours names his address in both; step 19's document lacks a space between two
attributes and its end, which ours adds.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import heraldproc
from sipclient import LOOPBACK, new_branch, new_call_id, new_tag, parse_message, tag_of
from sipua import UA, WINFO_NS, content_type, presence_server, sub_state
from xcapclient import ALL, http, rule, rules

OWNER = "sip:+339012341234@test-rcs.com"
BUDDY = "sip:+330123456789@test-rcs.com"
XUI = "sip%3A%2B339012341234%40Test-rcs.com"
OP_NS = "urn:oma:xml:prs:pidf:oma-pres"
PIDF_NS = "urn:ietf:params:xml:ns:pidf"
SERVICES = {"t1": "org.openmobilealliance:File-Transfer", "t2": "org.gsma.imageshare",
            "t3": "org.gsma.videoshare", "t4": "org.openmobilealliance:IM-session",
            "t5": "org.3gpp.cs-videotelephony"}


def _seed_file() -> Path:
    """shared/seeds/001_*.txt (see `heraldproc.shared_path`)."""
    hits = sorted(heraldproc.shared_path("seeds").glob("001_*.txt"))
    if not hits:
        heraldproc.unavailable("seed 001 (shared/seeds/001_*.txt) not found; set HERALD_SHARED")
    return hits[0]


def seed_messages() -> dict[str, tuple[str, str]]:
    """The seed's SIP requests by 'METHOD Event': (header text flattened on one line, body
    from the lines that follow it, up to the next numbered step)."""
    out, lines = {}, _seed_file().read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"(REGISTER|SUBSCRIBE|PUBLISH) (\S+) SIP/2\.0 ", line)
        if m:
            body = []
            for nxt in lines[i + 1:]:
                if not nxt.lstrip().startswith("<"):
                    break
                body.append(nxt.strip())
            ev = re.search(r" Event: (\S+)", line)
            out[f"{m.group(1)} {ev.group(1) if ev else ''}".strip()] = (line, "\n".join(body))
    return out


def seed_http_body(request_prefix: str) -> tuple[str, bytes]:
    """The path and body of the seed's HTTP request that starts with `request_prefix`."""
    lines = _seed_file().read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith(request_prefix):
            return line.split()[1], lines[i + 1].strip().encode()
    raise AssertionError(f"no {request_prefix} in seed 001")


def _watchers(body: bytes) -> dict[str, tuple[str, str, str | None]]:
    """Watcher URI -> (status, event, display-name) of a watcherinfo document."""
    root = ET.fromstring(body)
    return {w.text.strip(): (w.get("status"), w.get("event"), w.get("display-name"))
            for w in root.iter(f"{{{WINFO_NS}}}watcher")}


def _winfo_showing(ua: UA, call_id: str, watcher: str):
    """The next watcherinfo NOTIFY that lists `watcher` (earlier ones, about the owner's own
    subscriptions, are passed over)."""
    for _ in range(6):
        n = ua.next_notify(5, call_id)
        assert n is not None, f"no watcherinfo NOTIFY listing {watcher}"
        if watcher in _watchers(n.body):
            return n
    raise AssertionError(f"no watcherinfo NOTIFY listing {watcher}")


def adapt(msg: tuple[str, str], port: int, drop: tuple[str, ...] = ()) -> bytes:
    """Rebuild a seed request as CRLF lines: own Via, no Route, loopback Contact."""
    flat, body = msg
    head = flat.partition(" Content-Length: ")[0]
    start, *fields = re.split(r" (?=[A-Z][A-Za-z0-9-]*: )", head)
    lines = [start, f"Via: SIP/2.0/UDP {LOOPBACK}:{port};rport;branch={new_branch()}"]
    for f in fields:
        name = f.split(":", 1)[0].lower()
        if name in ("via", "route", *drop):
            continue
        if name == "contact":
            f = re.sub(r"sip:192\.168\.1\.1:5060", f"sip:{LOOPBACK}:{port}", f)
        lines.append(f.strip())
    raw = "\r\n".join(lines) + f"\r\nContent-Length: {len(body.encode())}\r\n\r\n" + body
    return raw.encode()


def _send(ua: UA, raw: bytes):
    """Send an adapted seed request; return its final response (NOTIFYs are queued)."""
    r = ua.send_raw(raw)
    assert r is not None, f"no final response to the seed's {parse_message(raw).start_line}"
    return r


def _service_ids(body: bytes) -> dict[str, str]:
    root = ET.fromstring(body)  # raises if a prefix (op:, ...) were left undeclared
    assert root.tag == f"{{{PIDF_NS}}}presence" and root.get("entity") == OWNER, body[:300]
    out = {}
    for t in root.findall(f"{{{PIDF_NS}}}tuple"):
        sid = t.find(f"{{{OP_NS}}}service-description/{{{OP_NS}}}service-id")
        out[t.get("id")] = sid.text.strip() if sid is not None and sid.text else None
    return out


RLMI_NS = "urn:ietf:params:xml:ns:rlmi"


def _list_notify(n) -> tuple[ET.Element, dict[str, bytes]]:
    """A list NOTIFY's RLMI document (the `start` part of its multipart/related body, RFC
    4662 §5) and its other parts by Content-ID."""
    assert n.headers.get("require") == "eventlist", n.headers
    ctype = n.headers.get("content-type") or ""
    assert ctype.lower().startswith("multipart/related"), ctype
    params = dict((k.strip().lower(), v.strip().strip('"')) for k, _, v in
                  (p.partition("=") for p in ctype.split(";")[1:]))
    assert params.get("type") == "application/rlmi+xml", ctype
    boundary, start = params["boundary"].encode(), params["start"].strip("<>")
    parts: dict[str, bytes] = {}
    for chunk in n.body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers = dict((k.strip().lower(), v.strip()) for k, _, v in
                       (line.decode().partition(":") for line in head.split(b"\r\n") if line.strip()))
        parts[headers["content-id"].strip("<>")] = content[:-2] if content.endswith(b"\r\n") else content
    rlmi = ET.fromstring(parts.pop(start))
    assert rlmi.tag == f"{{{RLMI_NS}}}list", rlmi.tag
    return rlmi, parts


def _aor(uri: str) -> str:
    """A resource URI as the list writes it, reduced to its address-of-record (host case and
    parameters aside) to compare with OWNER and BUDDY."""
    user, _, host = uri.partition(";")[0].partition("@")
    return f"{user}@{host.lower()}"


def _instances(rlmi: ET.Element) -> dict[str, str]:
    """Resource address-of-record -> the state of its instance."""
    return {_aor(r.get("uri")): r.find(f"{{{RLMI_NS}}}instance").get("state") for r in rlmi.iter(f"{{{RLMI_NS}}}resource")}


def _cid_of_notify(n, uri: str) -> str:
    rlmi, _ = _list_notify(n)
    for r in rlmi.iter(f"{{{RLMI_NS}}}resource"):
        if _aor(r.get("uri")) == uri:
            return r.find(f"{{{RLMI_NS}}}instance").get("cid")
    raise AssertionError(f"{uri} not in {ET.tostring(rlmi)!r}")


def _list_notify_with(ua: UA, call_id: str, member: str, check):
    """The next list NOTIFY that lists `member` (and whose part for her passes `check`)."""
    for _ in range(6):
        n = ua.next_notify(5, call_id)
        assert n is not None, f"no list NOTIFY listing {member}"
        rlmi, parts = _list_notify(n)
        if member not in _instances(rlmi):
            continue
        if check is None:
            return n
        cid = _cid_of_notify(n, member)
        if cid and check(parts[cid]):
            return n
    raise AssertionError(f"no list NOTIFY with the expected state of {member}")


def _step_19_document() -> bytes:
    """The PIDF the seed's step 19 NOTIFY carries (the second user's), repaired: a space
    between two attributes, and its end."""
    for line in _seed_file().read_text(encoding="utf-8").splitlines():
        if line.startswith("<presence") and 'entity="sip:+330123456789@test-rcs.com"' in line:
            text = line.strip().replace('"xmlns:gml=', '" xmlns:gml=')
            return (text if text.endswith("</presence>") else text + " </presence>").encode()
    raise AssertionError("no step 19 document in seed 001")


def test_seed_001_rcs_presence_flow(herald_factory):
    h = presence_server(herald_factory, domains=("test-rcs.com",))
    seed = seed_messages()
    assert {"REGISTER", "SUBSCRIBE presence.winfo", "SUBSCRIBE presence",
            "PUBLISH presence"} <= set(seed), sorted(seed)
    with UA(h, OWNER) as ua:
        r = _send(ua, adapt(seed["REGISTER"], ua.port))
        assert r.status == 200, r.start_line

        # The seed's XCAP documents: the rls-services service `;pres-list=rcs` over the list
        # "rcs", the lists (granted contacts are "rcs"), the pres-rules, the owner in "rcs".
        for prefix, ctype in (("PUT /rls-services/", "application/rls-services+xml"),
                              ("PUT /resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index HTTP", "application/resource-lists+xml"),
                              ("PUT /org.openmobilealliance.pres-rules/", "application/auth-policy+xml"),
                              ("PUT /resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index/~~/resource-lists/list%5B@name=%22rcs%22%5D/entry%5B@uri=%22sip%3A%2B339012341234",
                               "application/xcap-el+xml")):
            path, body = seed_http_body(prefix)
            put = http(h.http_port, "PUT", path, body, [f"Content-Type: {ctype}"])
            assert put.status in (200, 201), (prefix, put.status, put.body)

        # 3) presence.winfo SUBSCRIBE -> 200 and a full (empty) watcherinfo NOTIFY
        raw = adapt(seed["SUBSCRIBE presence.winfo"], ua.port)
        winfo_cid = parse_message(raw).headers.get("call-id")
        r = _send(ua, raw)
        assert r.status == 200 and tag_of(r.headers.get("to")), r.start_line
        r_winfo_to = r.headers.get("to")
        n = ua.next_notify(5, winfo_cid)
        assert n is not None, "no watcherinfo NOTIFY"
        assert content_type(n) == "application/watcherinfo+xml"
        root = ET.fromstring(n.body)
        assert (root.get("version"), root.get("state")) == ("0", "full"), n.body
        wl = root.find(f"{{{WINFO_NS}}}watcher-list")
        assert wl is not None and wl.get("resource") == OWNER and wl.get("package") == "presence"

        # 7) presence SUBSCRIBE to the list URI, Supported: eventlist -> 200 (Require:
        # eventlist), and a full-state list NOTIFY: the owner, the list's only member, active.
        raw = adapt(seed["SUBSCRIBE presence"], ua.port)
        pres_cid = parse_message(raw).headers.get("call-id")
        r = _send(ua, raw)
        assert r.status == 200 and r.headers.get("require") == "eventlist", r.raw
        n = ua.next_notify(5, pres_cid)
        assert n is not None and sub_state(n)[0] == "active", n
        assert tag_of(n.headers.get("to")) == "8Ih0yaUGAA"
        rlmi, parts = _list_notify(n)
        assert (rlmi.get("uri"), rlmi.get("version"), rlmi.get("fullState")) == (
            "sip:+339012341234@Test-rcs.com;pres-list=rcs", "0", "true"), n.body.decode()
        assert _instances(rlmi) == {OWNER: "active"}, n.body.decode()
        assert rlmi.find(f"{{{RLMI_NS}}}name").text == "My presence buddies"

        # 9) PUBLISH, first without its SIP-If-Match (an initial publication): the owner's
        # state reaches her list (partial state, her instance's part).
        r = _send(ua, adapt(seed["PUBLISH presence"], ua.port, drop=("sip-if-match",)))
        assert r.status == 200, r.start_line
        etag = r.headers.get("sip-etag")
        assert etag
        n = _list_notify_with(ua, pres_cid, OWNER, lambda body: _service_ids(body) == SERVICES)
        rlmi, _ = _list_notify(n)
        assert rlmi.get("fullState") == "false" and int(rlmi.get("version")) >= 1, n.body.decode()

        # the seed's own SIP-If-Match names no publication of this server: 412
        r = _send(ua, adapt(seed["PUBLISH presence"], ua.port))
        assert r.status == 412, r.start_line
        # the same body as a modification of our publication: 200, a new etag, same tuples
        flat, body = seed["PUBLISH presence"]
        flat = flat.replace("SIP-If-Match: ac63be7e9042439dad76da16904cf48d",
                            f"SIP-If-Match: {etag}")
        r = _send(ua, adapt((flat, body), ua.port))
        assert r.status == 200 and r.headers.get("sip-etag") not in (None, etag), r.raw
        # The owner watches herself through her list: her winfo says so.
        n = _winfo_showing(ua, winfo_cid, OWNER)
        assert _watchers(n.body)[OWNER] == ("active", "approved", "test user"), n.body

        # 13) another user, "RCS-VUA", subscribes to the owner's presence. Her rules (the
        # seed's) leave unlisted users to confirm, so he waits, and the owner sees him pending.
        with UA(h, BUDDY) as buddy:
            buddy_cid = new_call_id()
            raw = "\r\n".join([
                f"SUBSCRIBE {OWNER} SIP/2.0", f"Via: SIP/2.0/UDP {LOOPBACK}:{buddy.port};rport;branch={new_branch()}",
                "Max-Forwards: 70", f'From: "RCS-VUA" <{BUDDY}>;tag={new_tag()}', f"To: <{OWNER}>",
                f"Call-ID: {buddy_cid}", "CSeq: 1 SUBSCRIBE", f"Contact: <sip:{LOOPBACK}:{buddy.port}>", "Event: presence",
                "Expires: 3600", "Accept: application/pidf+xml", "Content-Length: 0", "", ""]).encode()
            assert _send(buddy, raw).status == 200
            n = buddy.next_notify(5, buddy_cid)
            assert n is not None and sub_state(n)[0] == "pending", n
            n = _winfo_showing(ua, winfo_cid, BUDDY)
            assert ET.fromstring(n.body).get("state") == "partial", n.body
            assert _watchers(n.body)[BUDDY] == ("pending", "subscribe", "RCS-VUA"), n.body

            # The owner adds him to her "rcs" list (the seed's entry PUT): her granted contacts
            # include that list, so he is approved at once, and he joins her list subscription,
            # pending until his own rules let her see him.
            put = http(h.http_port, "PUT", f"/resource-lists/users/{XUI}/index/~~/resource-lists/list%5B@name=%22rcs%22%5D"
                       f"/entry%5B@uri=%22sip%3A%2B330123456789%40test-rcs.com%3Buser%3Dphone%22%5D",
                       b"<entry uri='sip:+330123456789@test-rcs.com;user=phone'></entry>",
                       ["Content-Type: application/xcap-el+xml"])
            assert put.status == 201, put.body
            n = buddy.next_notify(5, buddy_cid)
            assert n is not None and sub_state(n)[0] == "active", n
            assert _service_ids(n.body) == SERVICES, n.body.decode()
            n = _winfo_showing(ua, winfo_cid, BUDDY)
            assert _watchers(n.body)[BUDDY] == ("active", "approved", "RCS-VUA"), n.body
            last_version = int(ET.fromstring(n.body).get("version"))
            n = _list_notify_with(ua, pres_cid, BUDDY, None)
            rlmi, _ = _list_notify(n)
            assert rlmi.get("fullState") == "true" and _instances(rlmi) == {OWNER: "active", BUDDY: "pending"}, n.body.decode()
            # Each resource as the owner's list writes it, so her client finds its own entries.
            assert {r.get("uri") for r in rlmi.iter(f"{{{RLMI_NS}}}resource")} == {
                "sip:+339012341234@Test-rcs.com", "sip:+330123456789@test-rcs.com;user=phone"}, n.body.decode()

            # 13/15) the full document, as the seed shows it (the owner's refresh asks for
            # it): both watchers active and approved, with their display names, a higher version.
            flat, body = seed["SUBSCRIBE presence.winfo"]
            flat = flat.replace("CSeq: 1 SUBSCRIBE", "CSeq: 2 SUBSCRIBE")
            flat = re.sub(r" To: (<[^>]*>)", lambda m: f" To: {m.group(1)};tag={tag_of(r_winfo_to)}", flat)
            assert _send(ua, adapt((flat, body), ua.port)).status == 200
            n = ua.next_notify(5, winfo_cid)
            assert n is not None, "no full watcherinfo NOTIFY after the refresh"
            root = ET.fromstring(n.body)
            assert root.get("state") == "full" and int(root.get("version")) > last_version, n.body
            assert _watchers(n.body) == {BUDDY: ("active", "approved", "RCS-VUA"),
                                         OWNER: ("active", "approved", "test user")}, n.body

            # 15/17) the seed's pidf-manipulation PUT: the owner's permanent state (person p1,
            # overriding willingness, status icon) reaches her list and him.
            path, perm = seed_http_body("PUT /pidf-manipulation/")
            put = http(h.http_port, "PUT", path, perm, ["Content-Type: application/pidf+xml"])
            assert put.status == 201, put.body
            n = _list_notify_with(ua, pres_cid, OWNER, lambda body: b"overriding-willingness" in body)
            owner_state = _list_notify(n)[1][_cid_of_notify(n, OWNER)]
            n = buddy.next_notify(5, buddy_cid)
            assert n is not None, "no presence NOTIFY after the pidf-manipulation PUT"
            for body in (owner_state, n.body):
                assert b"overriding-willingness" in body and b"rcs_status_icon" in body, body.decode()
                root = ET.fromstring(body)
                person = root.find("{urn:ietf:params:xml:ns:pidf:data-model}person")
                assert person is not None and person.get("id") == "p1", body.decode()
                assert _service_ids(body) == SERVICES, "published tuples stay next to the permanent state"

            # 19) he lets her see him (his own pres-rules) and publishes the document the seed's
            # step 19 shows: it reaches her list as his instance, now active.
            buddy_xui = "sip%3A%2B330123456789%40test-rcs.com"
            put = http(h.http_port, "PUT", f"/org.openmobilealliance.pres-rules/users/{buddy_xui}/pres-rules",
                       rules(rule("owner", OWNER, "allow", ALL)), ["Content-Type: application/auth-policy+xml"])
            assert put.status == 201, put.body
            n = _list_notify_with(ua, pres_cid, BUDDY, None)
            assert _instances(_list_notify(n)[0])[BUDDY] == "active", n.body.decode()
            document = _step_19_document()
            pub = "\r\n".join([
                f"PUBLISH {BUDDY} SIP/2.0", f"Via: SIP/2.0/UDP {LOOPBACK}:{buddy.port};rport;branch={new_branch()}",
                "Max-Forwards: 70", f"From: <{BUDDY}>;tag={new_tag()}", f"To: <{BUDDY}>", f"Call-ID: {new_call_id()}",
                "CSeq: 1 PUBLISH", "Event: presence", "Expires: 3600", "Content-Type: application/pidf+xml",
                f"Content-Length: {len(document)}", "", ""]).encode() + document
            assert _send(buddy, pub).status == 200
            n = _list_notify_with(ua, pres_cid, BUDDY, lambda body: b"StandaloneMsg" in body)
            rlmi, _ = _list_notify(n)
            assert rlmi.get("fullState") == "false" and _instances(rlmi) == {BUDDY: "active"}, n.body.decode()
            root = ET.fromstring(_list_notify(n)[1][_cid_of_notify(n, BUDDY)])
            assert root.get("entity") == BUDDY
            assert [t.get("id") for t in root.findall(f"{{{PIDF_NS}}}tuple")] == ["a0"]
