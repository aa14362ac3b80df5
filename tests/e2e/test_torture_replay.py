"""Replay the RFC 4475 / RFC 5118 torture corpus over UDP against one Herald.

Server policy behind the table: Herald is registrar and proxy for its domains (auth
none, no registered users while the non-REGISTER files run), answers requests for
foreign domains with 403 (no relaying), and answers OPTIONS addressed to itself.
Non-REGISTER files run first so that registrations cannot change their answers.
"""
from __future__ import annotations

import contextlib
import csv

import pytest

from heraldproc import torture_dir
from sipclient import build_request, insert_via, parse_cseq, parse_message, tag_of, uri_of
from sipnet import UdpClient

NONE = None  # nothing at all may come back

EXPECTED = {
    "rfc4475/wsinv.dat": 403,  # §3.1.1.1 valid despite LWS/folding (never 400); chair-dnrc.example.com not served -> 403
    "rfc4475/intmeth.dat": 501,  # §3.1.1.2 valid odd token characters; the method is unknown -> 501
    "rfc4475/esc01.dat": 404,  # §3.1.1.3 valid escapes; user 'sips:user@example.com' at served example.net has no binding
    "rfc4475/escnull.dat": 200,  # §3.1.1.4 registrar binds both Contacts (%00 and %00%00 are distinct URIs)
    "rfc4475/esc02.dat": 501,  # §3.1.1.5 'RE%47IST%45R' is not REGISTER (no escaping in methods) -> unknown method
    "rfc4475/lwsdisp.dat": 404,  # §3.1.1.6 valid; OPTIONS proxied for user@example.com, which has no binding
    "rfc4475/longreq.dat": 404,  # §3.1.1.7 valid long values; INVITE for user@example.com, no binding
    "rfc4475/dblreq.dat": 200,  # §3.1.1.8 REGISTER has Content-Length 0; trailing INVITE octets in the datagram ignored
    "rfc4475/semiuri.dat": 404,  # §3.1.1.9 user part 'user;par=u@example.net' at example.com has no binding
    "rfc4475/transports.dat": 404,  # §3.1.1.10 unknown Via transports parse fine; user@example.com no binding
    "rfc4475/mpart01.dat": 404,  # §3.1.1.11 the multipart body is the UA's business; kumiko@example.org no binding
    "rfc4475/unreason.dat": NONE,  # §3.1.1.12 a response matching no transaction is dropped silently
    "rfc4475/noreason.dat": NONE,  # §3.1.1.13 likewise (empty reason phrase is valid)
    "rfc4475/badinv01.dat": 400,  # §3.1.2.1 stray ';;,;,,' separators make Via/Contact unparseable
    "rfc4475/clerr.dat": 400,  # §3.1.2.2 over UDP a Content-Length beyond the datagram is an error
    "rfc4475/ncl.dat": 400,  # §3.1.2.3 negative Content-Length
    "rfc4475/scalar02.dat": 400,  # §3.1.2.4 CSeq above 2**32-1
    "rfc4475/scalarlg.dat": NONE,  # §3.1.2.5 response with overlarge scalars is discarded
    "rfc4475/quotbal.dat": 400,  # §3.1.2.6 unterminated quoted string in the To display name
    "rfc4475/ltgtruri.dat": 400,  # §3.1.2.7 Request-URI enclosed in <>
    "rfc4475/lwsruri.dat": 400,  # §3.1.2.8 LWS inside the Request-URI
    "rfc4475/lwsstart.dat": 400,  # §3.1.2.9 several SP between request-line elements (Herald is strict)
    "rfc4475/trws.dat": 400,  # §3.1.2.10 SP after SIP-Version (Herald is strict)
    "rfc4475/escruri.dat": 400,  # §3.1.2.11 escaped headers (?Route=) are not allowed in a Request-URI
    "rfc4475/baddate.dat": 404,  # §3.1.2.12 liberal: the bad Date is ignored; user@example.com no binding
    "rfc4475/regbadct.dat": 400,  # §3.1.2.13 Contact addr-spec with '?' must be in <>
    "rfc4475/badaspec.dat": 400,  # §3.1.2.14 spaces inside <> around the addr-spec
    "rfc4475/baddn.dat": 400,  # §3.1.2.15 unquoted ',' in display name; archive file lacks end of headers
    "rfc4475/badvers.dat": 505,  # §3.1.2.16 SIP/7.0
    "rfc4475/mismatch01.dat": 400,  # §3.1.2.17 CSeq method INVITE differs from OPTIONS
    "rfc4475/mismatch02.dat": 501,  # §3.1.2.18 unknown method: 501 preferred over 400
    "rfc4475/bigcode.dat": NONE,  # §3.1.2.19 response with status 4294967301 is discarded
    "rfc4475/badbranch.dat": 404,  # §3.2.1 our topmost Via has a real branch; user@example.com no binding
    "rfc4475/insuf.dat": 400,  # §3.3.1 no Call-ID, From or To
    "rfc4475/unkscm.dat": 416,  # §3.3.2 unknown Request-URI scheme
    "rfc4475/novelsc.dat": 416,  # §3.3.3 soap.beep: scheme not supported
    "rfc4475/unksm2.dat": 404,  # §3.3.4 parses; the isbn: AOR has no account/binding at this registrar
    "rfc4475/bext01.dat": 420,  # §3.3.5 unknown Require/Proxy-Require tags -> 420 + Unsupported
    "rfc4475/invut.dat": 404,  # §3.3.6 only a UAS answers 415; Herald proxies for user@example.com (no binding)
    "rfc4475/regaut01.dat": 200,  # §3.3.7 unknown Authorization scheme ignored; auth none
    "rfc4475/multi01.dat": 400,  # §3.3.8 two Call-ID/CSeq/From/To values
    "rfc4475/mcl01.dat": 400,  # §3.3.9 two Content-Length values
    "rfc4475/bcast.dat": NONE,  # §3.3.10 response, no transaction: dropped (never sent to 255.255.255.255)
    "rfc4475/zeromf.dat": 483,  # §3.3.11 Max-Forwards 0 on a request Herald would proxy
    "rfc4475/cparam01.dat": 200,  # §3.3.12 ';unknownparam' is a Contact header parameter
    "rfc4475/cparam02.dat": 200,  # §3.3.13 ';unknownparam' is a URI parameter
    "rfc4475/regescrt.dat": 200,  # §3.3.14 Contact with escaped ?Route= stored and returned verbatim
    "rfc4475/sdp01.dat": 404,  # §3.3.15 only a UAS answers 406; proxy for user@example.com, no binding
    "rfc4475/inv2543.dat": 404,  # §3.4.1 RFC 2543 syntax accepted; UserB@example.com no binding
    "rfc4475/test.dat": (400, NONE),  # not in any section: no SIP-Version -> 400 or drop
    "rfc5118/ipv6-good.dat": 200,  # RFC 5118 §4.1 REGISTER sip:[2001:db8::10], a served domain
    "rfc5118/ipv6-bad.dat": 400,  # RFC 5118 §4.2 IPv6 host without [] in the Request-URI
    "rfc5118/port-ambiguous.dat": 403,  # RFC 5118 §4.3 host is [2001:db8::10:5070], not a served domain
    "rfc5118/port-unambiguous.dat": 200,  # RFC 5118 §4.4 [2001:db8::10]:5070 is the served domain
    "rfc5118/via-received-param-with-delim.dat": 481,  # RFC 5118 §4.5 parses; BYE matches no dialog
    "rfc5118/via-received-param-no-delim.dat": 200,  # RFC 5118 §4.5 OPTIONS to the served domain itself
    "rfc5118/ipv6-in-sdp.dat": 404,  # RFC 5118 §4.6 user@[2001:db8::10] has no binding
    "rfc5118/mult-ip-in-header.dat": 403,  # RFC 5118 §4.7 BYE for host.example.net, not served
    "rfc5118/mult-ip-in-sdp.dat": 404,  # RFC 5118 §4.8 user@[2001:db8::10] has no binding
    "rfc5118/ipv4-mapped-ipv6.dat": 404,  # RFC 5118 §4.9 user@example.com has no binding
    "rfc5118/ipv6-bug-abnf-3-colons.dat": 403,  # RFC 5118 §4.10 tolerated; that host is not served
    "rfc5118/ipv6-correct-abnf-2-colons.dat": 403,  # RFC 5118 §4.10 [2001:db8::192.0.2.1] not served
}

CORPUS = torture_dir()


def _manifest_files() -> list[str]:
    if CORPUS is None:
        return []
    with open(CORPUS / "manifest.csv", newline="", encoding="utf-8") as f:
        return [row["file"] for row in csv.DictReader(f)]


def _ordered_cases() -> list[str]:
    """Manifest order, non-REGISTER files first, then the REGISTER ones."""
    files = _manifest_files() or sorted(EXPECTED)
    is_reg = {f: CORPUS is not None and (CORPUS / f).read_bytes().startswith(b"REGISTER ")
              for f in files}
    return [f for f in files if not is_reg[f]] + [f for f in files if is_reg[f]]


def test_corpus_and_table_agree():
    assert CORPUS is not None, "torture corpus not found: set HERALD_SHARED or put shared/ " \
                               "next to the repo"
    files = _manifest_files()
    assert len(files) == 62 and set(files) == set(EXPECTED)
    assert all((CORPUS / f).is_file() for f in files)


def _request_uri(start_line: bytes) -> bytes:
    rest = start_line.split(b" ", 1)[1] if b" " in start_line else b""
    head, _, last = rest.rstrip(b" ").rpartition(b" ")
    return head.strip() if last.startswith(b"SIP/") else rest.strip()


def _send_ack(client: UdpClient, sent: bytes, via: bytes, final) -> None:
    """ACK for a non-2xx final answer to an INVITE (same R-URI and top Via branch)."""
    req = parse_message(sent)
    pick = lambda name: (req.headers.get(name) if len(req.headers.get_all(name)) == 1
                         else final.headers.get(name))
    cseq = parse_cseq(req.headers.get("cseq")) or parse_cseq(final.headers.get("cseq"))
    parts = {"From": pick("from"), "To": final.headers.get("to"), "Call-ID": pick("call-id")}
    if cseq is None or None in parts.values():
        return
    lines = [b"ACK " + _request_uri(sent.split(b"\r\n", 1)[0]) + b" SIP/2.0", via,
             b"Max-Forwards: 70", *(f"{k}: {v}".encode("latin-1") for k, v in parts.items()),
             f"CSeq: {cseq[0]} ACK".encode(), b"Content-Length: 0"]
    client.send(b"\r\n".join(lines) + b"\r\n\r\n")


def _check_echo(sent: bytes, resp, client: UdpClient, branch: str) -> None:
    via = resp.top_via()
    assert (via.host, via.port, via.params.get("branch")) == ("127.0.0.1", client.port, branch)
    assert via.params.get("rport") == str(client.port), f"rport not filled: {via}"
    assert via.params.get("received") in (None, "127.0.0.1"), via
    if resp.status == 400:  # a broken request need not have copyable headers
        return
    req = parse_message(sent)
    h, rh = req.headers, resp.headers
    if len(h.get_all("call-id")) == 1:
        assert rh.get("call-id") == h.get("call-id"), "Call-ID not copied"
    if len(h.get_all("cseq")) == 1 and parse_cseq(h.get("cseq")):
        assert parse_cseq(rh.get("cseq")) == parse_cseq(h.get("cseq")), "CSeq not copied"
    if len(h.get_all("from")) == 1:
        assert tag_of(rh.get("from")) == tag_of(h.get("from")), "From tag not copied"
        assert uri_of(rh.get("from")) == uri_of(h.get("from")), "From URI not copied"
    if len(h.get_all("to")) == 1 and tag_of(h.get("to")):
        assert tag_of(rh.get("to")) == tag_of(h.get("to")), "To tag not kept"


def _deregister_all(herald, sent: bytes) -> None:
    """Remove the AOR's bindings (Contact: *, Expires: 0, fresh Call-ID) so each REGISTER
    file starts clean: rfc5118 ipv6-good and port-unambiguous share Call-ID *and* CSeq,
    which RFC 3261 §10.3 step 7 would otherwise reject."""
    req = parse_message(sent)
    aor = uri_of(req.headers.get("to"))
    ruri = _request_uri(sent.split(b"\r\n", 1)[0]).decode("latin-1")
    with herald.udp_client() as c:
        resp = c.request(build_request(
            "REGISTER", ruri, via_port=c.port, from_uri=aor, to_uri=aor,
            extra_headers=["Contact: *", "Expires: 0"]))
    assert resp is not None and resp.status == 200, \
        f"cleanup de-registration of {aor} (RFC 3261 §10.2.2 wildcard) got {resp}"


@contextlib.contextmanager
def _port_5060_watch(herald, name: str):
    """For dblreq.dat: a wrongly processed trailing INVITE (Via 192.0.2.15, no rport) would
    be answered to received=127.0.0.1 port 5060 (RFC 3261 §18.2.2): listen there."""
    watch = None
    if name.endswith("dblreq.dat") and herald.udp_port != 5060:
        with contextlib.suppress(OSError):
            watch = UdpClient(herald.udp_port, bind_port=5060)
    try:
        yield watch
    finally:
        if watch is not None:
            watch.close()


@pytest.mark.parametrize("name", _ordered_cases())
def test_torture_file(herald, name):
    assert CORPUS is not None, "torture corpus not found"
    raw = (CORPUS / name).read_bytes()
    expected = EXPECTED[name]
    allowed = set(expected) if isinstance(expected, tuple) else {expected}
    with herald.udp_client() as client, _port_5060_watch(herald, name) as watch:
        sent, branch = insert_via(raw, client.port)
        client.send(sent)
        if allowed == {NONE}:
            got = client.drain(1.5)
            assert got == [], f"expected no answer, got {got[:1]!r}"
            herald.assert_alive()
            return
        responses = client.collect(2.0)
        finals = [r for r in responses if r.is_response and (r.status or 0) >= 200]
        if not finals:
            assert NONE in allowed, f"no final response within 2 s (got {responses})"
            herald.assert_alive()
            return
        final = finals[0]
        assert final.status in allowed, f"{final.start_line!r}, expected {expected}"
        if final.status == 400:
            assert len(final.reason.strip()) > len("Bad Request"), \
                f"400 reason should name the problem: {final.reason!r}"
        if raw.startswith(b"INVITE ") and final.status >= 300:
            _send_ack(client, sent, sent.split(b"\r\n")[1], final)
        _check_echo(sent, final, client, branch)
        _check_specific(name, raw, final, client, responses)
        if watch is not None:
            stray = watch.drain(0.2)
            assert stray == [], f"the trailing INVITE of dblreq.dat was answered: {stray[:1]!r}"
    if final.status == 200 and raw.startswith(b"REGISTER "):
        _deregister_all(herald, sent)
    herald.assert_alive()


def _contact_uris(resp) -> list[str]:
    return [uri_of(v) for v in resp.headers.values("contact")]


def _check_specific(name: str, raw: bytes, final, client: UdpClient, responses) -> None:
    base = name.split("/")[1]
    if base == "longreq.dat":
        req = parse_message(raw)
        longbranch = req.headers.values("via")[-1].split("branch=")[1]
        assert longbranch in final.headers.values("via")[-1], "long Via branch mangled"
        assert len(final.headers.values("via")) == len(req.headers.values("via")) + 1
        assert len(tag_of(final.headers.get("from"))) > 100
    elif base == "regescrt.dat":
        assert any("?Route=%3Csip:sip.example.com%3E" in c for c in _contact_uris(final)), \
            f"Contact not returned verbatim: {final.headers.get_all('contact')}"
    elif base == "escnull.dat":
        uris = set(_contact_uris(final))
        assert {"sip:%00@host5.example.com", "sip:%00%00@host5.example.com"} <= uris, uris
    elif base == "dblreq.dat":
        extra = client.drain(1.0) + client.unmatched
        assert len(responses) == 1 and extra == [], \
            f"exactly one response expected for dblreq.dat: {responses} + {extra[:1]!r}"
    elif base == "bext01.dat":
        unsupported = final.headers.tokens("unsupported")
        as_uas = {"nothingsupportsthis", "nothingsupportsthiseither"}
        as_proxy = {"noproxiessupportthis", "nordoanyproxiessupportthis"}
        assert as_uas <= unsupported or as_proxy <= unsupported, \
            f"Unsupported should list the unknown option tags: {unsupported}"
