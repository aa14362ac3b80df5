"""Replay of seed 001 (an RCS client's REGISTER, presence.winfo and presence SUBSCRIBEs and its
5-tuple PUBLISH) over raw UDP, steps 3 to 17: the watcher-information NOTIFYs of steps 13 and 15
come from a second user watching the owner, who approves him with pres-rules; step 17's NOTIFY
from the seed's own pidf-manipulation PUT. Step 19 (the presence of a list member, delivered in
the `pres-list` subscription) needs a resource list server (RFC 4662), which Herald does not
have yet: its `pres-list` subscription is one to the owner's own presence.

Adaptations: the server serves test-rcs.com; the seed's Route (192.168.1.2) is dropped; its Via
is replaced by ours; Contact host:port become our loopback socket (its parameters stay) so
NOTIFYs reach us; Content-Length is recomputed (the seed's text has collapsed whitespace).
Every other header (User-Agent, Accept, Supported, Allow, Event, ...) is sent as in the seed.
"""
from __future__ import annotations

import os
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
    """shared/seeds/001_*.txt: under $HERALD_SHARED, else the first `shared` found walking
    up from this file."""
    env = os.environ.get("HERALD_SHARED")
    bases = [Path(env), Path(env).parent] if env else list(Path(__file__).resolve().parents)
    for d in bases:
        for seeds in (d / "seeds", d / "shared" / "seeds"):
            hits = sorted(seeds.glob("001_*.txt"))
            if hits:
                return hits[0]
    heraldproc.unavailable("seed 001 (shared/seeds/001_*.txt) not found; set HERALD_SHARED")


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


def test_seed_001_rcs_presence_flow(herald_factory):
    h = presence_server(herald_factory, domains=("test-rcs.com",))
    seed = seed_messages()
    assert {"REGISTER", "SUBSCRIBE presence.winfo", "SUBSCRIBE presence",
            "PUBLISH presence"} <= set(seed), sorted(seed)
    with UA(h, OWNER) as ua:
        r = _send(ua, adapt(seed["REGISTER"], ua.port))
        assert r.status == 200, r.start_line

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

        # 7) presence SUBSCRIBE (own list URI, Supported: eventlist) -> 200, active NOTIFY
        raw = adapt(seed["SUBSCRIBE presence"], ua.port)
        pres_cid = parse_message(raw).headers.get("call-id")
        r = _send(ua, raw)
        assert r.status == 200, r.start_line
        n = ua.next_notify(5, pres_cid)
        assert n is not None and sub_state(n)[0] == "active", n
        assert tag_of(n.headers.get("to")) == "8Ih0yaUGAA"

        # 9) PUBLISH, first without its SIP-If-Match (an initial publication)
        r = _send(ua, adapt(seed["PUBLISH presence"], ua.port, drop=("sip-if-match",)))
        assert r.status == 200, r.start_line
        etag = r.headers.get("sip-etag")
        assert etag
        for _ in range(5):
            n = ua.next_notify(5, pres_cid)
            assert n is not None, "no presence NOTIFY after the seed's PUBLISH"
            assert content_type(n) == "application/pidf+xml", n.headers.get("content-type")
            if n.body and _service_ids(n.body):
                break
        assert _service_ids(n.body) == SERVICES, n.body.decode()

        # the seed's own SIP-If-Match names no publication of this server: 412
        r = _send(ua, adapt(seed["PUBLISH presence"], ua.port))
        assert r.status == 412, r.start_line
        # the same body as a modification of our publication: 200, a new etag, same tuples
        flat, body = seed["PUBLISH presence"]
        flat = flat.replace("SIP-If-Match: ac63be7e9042439dad76da16904cf48d",
                            f"SIP-If-Match: {etag}")
        r = _send(ua, adapt((flat, body), ua.port))
        assert r.status == 200 and r.headers.get("sip-etag") not in (None, etag), r.raw
        n = ua.next_notify(3, pres_cid)
        if n is not None:  # a NOTIFY for unchanged state is allowed, not required
            assert _service_ids(n.body) == SERVICES, n.body.decode()
        winfo = [x for x in ua.notify_log if x.headers.get("call-id") == winfo_cid]
        for x in winfo[1:]:  # the owner watching itself may show up in partial updates
            ET.fromstring(x.body)

        # 13) another user, "RCS-VUA", subscribes to the owner's presence. The server's default
        # policy (confirm) makes him wait, and the owner sees him pending.
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

            # The owner allows him (OMA pres-rules over XCAP): he becomes active at once and
            # the owner sees him approved.
            put = http(h.http_port, "PUT", f"/org.openmobilealliance.pres-rules/users/{XUI}/pres-rules",
                       rules(rule("buddy", BUDDY, "allow", ALL)), ["Content-Type: application/auth-policy+xml"])
            assert put.status == 201, put.body
            n = buddy.next_notify(5, buddy_cid)
            assert n is not None and sub_state(n)[0] == "active", n
            assert _service_ids(n.body) == SERVICES, n.body.decode()
            n = _winfo_showing(ua, winfo_cid, BUDDY)
            assert _watchers(n.body)[BUDDY] == ("active", "approved", "RCS-VUA"), n.body
            last_version = int(ET.fromstring(n.body).get("version"))

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
            # overriding willingness, status icon) reaches her presence subscription and him.
            path, perm = seed_http_body("PUT /pidf-manipulation/")
            put = http(h.http_port, "PUT", path, perm, ["Content-Type: application/pidf+xml"])
            assert put.status == 201, put.body
            for watcher, cid in ((ua, pres_cid), (buddy, buddy_cid)):
                n = watcher.next_notify(5, cid)
                assert n is not None, "no presence NOTIFY after the pidf-manipulation PUT"
                assert b"overriding-willingness" in n.body and b"rcs_status_icon" in n.body, n.body.decode()
                root = ET.fromstring(n.body)
                person = root.find("{urn:ietf:params:xml:ns:pidf:data-model}person")
                assert person is not None and person.get("id") == "p1", n.body.decode()
                assert _service_ids(n.body) == SERVICES, "published tuples stay next to the permanent state"
