"""Seed 004's call forward on busy over real sockets, static routes to another domain, the
forwarding rules set by `herald user forward` and by the HTTP API, and registrar bindings that
survive kill -9."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

from heraldproc import run_cli
from sipclient import LOOPBACK, new_branch, new_call_id, new_tag, parse_message, tag_of
from sipnet import UdpClient

DOMAIN = "ss1.wcom.com"
SDP = (b"v=0\r\no=UserA 2890844526 2890844526 IN IP4 client.here.com\r\ns=Session SDP\r\n"
       b"c=IN IP4 100.101.102.103\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


def sip(method: str, uri: str, port: int, *, from_: str, to: str, call_id: str, cseq: int = 1,
        headers: tuple = (), body: bytes = b"", branch: str | None = None) -> bytes:
    lines = [f"{method} {uri} SIP/2.0",
             f"Via: SIP/2.0/UDP {LOOPBACK}:{port};rport;branch={branch or new_branch()}",
             "Max-Forwards: 70", f"From: {from_}", f"To: {to}", f"Call-ID: {call_id}",
             f"CSeq: {cseq} {method}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def answer(req, status: int, reason: str, to_tag: str, extra: tuple = ()) -> bytes:
    lines = [f"SIP/2.0 {status} {reason}", *[f"Via: {v}" for v in req.headers.get_all("via")],
             f"From: {req.headers.get('from')}",
             f"To: {req.headers.get('to')}" + ("" if tag_of(req.headers.get("to")) else f";tag={to_tag}"),
             f"Call-ID: {req.headers.get('call-id')}", f"CSeq: {req.headers.get('cseq')}",
             *extra, "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def next_request(sock: UdpClient, method: str, timeout: float = 5.0):
    for raw in iter(lambda: sock.recv(timeout), None):
        msg = parse_message(raw)
        if not msg.is_response and msg.method == method:
            return msg
    return None


def register(herald, user: str, sock: UdpClient) -> None:
    aor = f"sip:{user}@{DOMAIN}"
    resp = sock.request(sip("REGISTER", f"sip:{DOMAIN}", sock.port, from_=f"<{aor}>;tag={new_tag()}",
                            to=f"<{aor}>", call_id=new_call_id(),
                            headers=(f"Contact: <sip:{user}@{LOOPBACK}:{sock.port}>", "Expires: 3600")))
    assert resp is not None and resp.status == 200, resp


def test_call_forward_on_busy_goes_to_the_other_domain_by_static_route(herald_factory, tmp_path):
    gateway = UdpClient(0)   # "there.com", reached only through the configured route
    h = herald_factory(domains=(DOMAIN,), extra_args=["--route", f"there.com=sip:{LOOPBACK}:{gateway.port}"])
    data_dir = str(h.data_dir)
    assert run_cli("user", "add", f"UserB1@{DOMAIN}", "--password", "b1", "--data-dir", data_dir).returncode == 0
    res = run_cli("user", "forward", f"UserB1@{DOMAIN}", "--busy", "sip:UserB2@there.com", "--data-dir", data_dir)
    assert res.returncode == 0, res.stderr
    assert "busy: sip:UserB2@there.com" in res.stdout
    with UdpClient(h.udp_port) as phone_a, UdpClient(h.udp_port) as phone_b1, gateway:
        register(h, "UserB1", phone_b1)
        call_id = "12345600@here.com"
        invite = sip("INVITE", f"sip:UserB1@{DOMAIN}", phone_a.port, from_=f"BigGuy <sip:UserA@here.com>;tag={new_tag()}",
                     to=f"LittleGuy <sip:UserB1@{DOMAIN}>", call_id=call_id,
                     headers=(f"Contact: <sip:UserA@{LOOPBACK}:{phone_a.port}>", "Content-Type: application/sdp"), body=SDP)
        phone_a.send(invite)
        # F2-F4: B1 is busy.
        at_b1 = next_request(phone_b1, "INVITE")
        assert at_b1 is not None, "the INVITE did not reach B1"
        phone_b1.send(answer(at_b1, 486, "Busy Here", "123456"))
        assert next_request(phone_b1, "ACK") is not None, "Herald did not acknowledge B1's 486"
        # F6: the call goes on to UserB2@there.com through the route, same Call-ID and SDP.
        at_b2 = next_request(gateway, "INVITE")
        assert at_b2 is not None, "the forwarded INVITE did not reach there.com's next hop"
        assert at_b2.start_line.split()[1] == "sip:UserB2@there.com"
        assert at_b2.headers.get("call-id") == call_id
        assert at_b2.body == SDP
        history = at_b2.headers.get_all("history-info")
        assert any("cause=486" in h for h in history), history
        assert at_b2.headers.get("record-route"), "forwarded INVITE is not record-routed"
        gateway.sock.sendto(answer(at_b2, 200, "OK", "b2tag", (f"Contact: <sip:UserB2@{LOOPBACK}:{gateway.port}>",)),
                            (LOOPBACK, h.udp_port))
        finals = [m for m in phone_a.collect(5.0) if m.is_response and (m.status or 0) >= 200]
        assert [m.status for m in finals][:1] == [200], [m.start_line for m in finals]
        assert tag_of(finals[0].headers.get("to")) == "b2tag"


def test_requests_to_unrouted_domains_and_from_strangers_are_refused(herald_factory):
    gateway = UdpClient(0)
    h = herald_factory(domains=(DOMAIN,), extra_args=["--route", f"there.com=sip:{LOOPBACK}:{gateway.port}"])
    with UdpClient(h.udp_port) as phone, gateway:
        nowhere = phone.request(sip("MESSAGE", "sip:x@nowhere.example", phone.port, from_=f"<sip:a@{DOMAIN}>;tag=1",
                                    to="<sip:x@nowhere.example>", call_id=new_call_id()))
        assert nowhere is not None and nowhere.status == 403
        stranger = phone.request(sip("MESSAGE", "sip:b2@there.com", phone.port, from_="<sip:m@evil.example>;tag=1",
                                     to="<sip:b2@there.com>", call_id=new_call_id()))
        assert stranger is not None and stranger.status == 403
        assert gateway.recv(0.3) is None, "Herald relayed for a stranger"


def _http(method: str, url: str, user: str | None = None, password: str | None = None, body: dict | None = None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    if user:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def test_forwarding_api_lets_users_change_only_their_own_rules(herald_factory):
    h = herald_factory(domains=(DOMAIN,), auth="digest")
    for user, password in (("alice", "wonderland"), ("bob", "builder")):
        assert run_cli("user", "add", f"{user}@{DOMAIN}", "--password", password, "--data-dir", str(h.data_dir)).returncode == 0
    base = f"http://{LOOPBACK}:{h.http_port}/api/users/alice@{DOMAIN}/forwarding"
    status, _, headers = _http("GET", base)
    assert status == 401
    challenges = headers.get_all("WWW-Authenticate")
    assert any(c.startswith("Digest") and "SHA-256" in c for c in challenges), challenges
    assert _http("GET", base, f"alice@{DOMAIN}", "wrong")[0] == 401
    rules = {"busy": "sip:voicemail@ss1.wcom.com", "noAnswer": "sip:bob@ss1.wcom.com", "noAnswerSeconds": 15}
    status, body, _ = _http("PUT", base, f"alice@{DOMAIN}", "wonderland", rules)
    assert status == 200, body
    status, body, _ = _http("GET", base, "alice", "wonderland")
    assert status == 200 and json.loads(body)["noAnswer"] == "sip:bob@ss1.wcom.com"
    assert _http("PUT", base, f"bob@{DOMAIN}", "builder", {"unconditional": "sip:bob@ss1.wcom.com", "noAnswerSeconds": 20})[0] == 403
    assert _http("PUT", base, f"alice@{DOMAIN}", "wonderland", {"busy": "not a uri", "noAnswerSeconds": 20})[0] == 400
    shown = run_cli("user", "forward", f"alice@{DOMAIN}", "--data-dir", str(h.data_dir))
    assert "no-answer: sip:bob@ss1.wcom.com after 15 s" in shown.stdout, shown.stdout
    assert _http("DELETE", base, f"alice@{DOMAIN}", "wonderland")[0] == 204
    assert json.loads(_http("GET", base, f"alice@{DOMAIN}", "wonderland")[1]).get("busy") is None


def test_bindings_survive_kill_9(herald_factory, tmp_path):
    h1 = herald_factory(domains=(DOMAIN,))
    with UdpClient(h1.udp_port) as phone, UdpClient(h1.udp_port) as caller:
        register(h1, "carol", phone)
        h1.kill()
        h2 = herald_factory(argv=h1.argv, udp_port=h1.udp_port, http_port=h1.http_port, workdir=tmp_path / "restarted")
        caller.send(sip("MESSAGE", f"sip:carol@{DOMAIN}", caller.port, from_=f"<sip:dave@{DOMAIN}>;tag=1",
                        to=f"<sip:carol@{DOMAIN}>", call_id=new_call_id(), headers=("Content-Type: text/plain",), body=b"still there?"))
        got = next_request(phone, "MESSAGE")
        assert got is not None, "the binding did not survive kill -9"
        assert got.body == b"still there?"
        phone.sock.sendto(answer(got, 200, "OK", "c1"), (LOOPBACK, h2.udp_port))
        final = caller.final(5.0)
        assert final is not None and final.status == 200


def _digest_header(challenge: str, user: str, password: str, method: str, uri: str, nc: int = 1) -> str:
    import hashlib
    import re as _re
    params = dict(_re.findall(r'(\w+)="?([^",]*)"?', challenge.split(" ", 1)[1]))
    realm, nonce = params["realm"], params["nonce"]
    h = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
    ha1, ha2 = h(f"{user}:{realm}:{password}"), h(f"{method}:{uri}")
    ncs, cnonce = f"{nc:08x}", "e2ecnonce"
    response = h(f"{ha1}:{nonce}:{ncs}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}", '
            f'algorithm=MD5, qop=auth, nc={ncs}, cnonce="{cnonce}", opaque="{params.get("opaque", "")}"')


def test_http_digest_needs_the_right_uri_and_rejects_replays(herald_factory):
    from xcapclient import http
    h = herald_factory(domains=(DOMAIN,), auth="digest")
    assert run_cli("user", "add", f"alice@{DOMAIN}", "--password", "wonderland", "--data-dir", str(h.data_dir)).returncode == 0
    path = f"/api/users/alice@{DOMAIN}/forwarding"
    challenge = next(c for c in http(h.http_port, "GET", path).headers["www-authenticate"] if "MD5" in c)
    ok = http(h.http_port, "GET", path, headers=[f"Authorization: {_digest_header(challenge, 'alice', 'wonderland', 'GET', path)}"])
    assert ok.status == 200, ok.body
    replay = http(h.http_port, "GET", path, headers=[f"Authorization: {_digest_header(challenge, 'alice', 'wonderland', 'GET', path)}"])
    assert replay.status == 401, "a replayed nonce-count was accepted"
    other = http(h.http_port, "GET", path, headers=[f"Authorization: {_digest_header(challenge, 'alice', 'wonderland', 'GET', '/elsewhere', nc=2)}"])
    assert other.status == 400
    nc2 = http(h.http_port, "GET", path, headers=[f"Authorization: {_digest_header(challenge, 'alice', 'wonderland', 'GET', path, nc=3)}"])
    assert nc2.status == 200


def test_http_password_guessing_is_refused_for_a_while(herald_factory):
    from xcapclient import http
    h = herald_factory(domains=(DOMAIN,), auth="digest")
    assert run_cli("user", "add", f"alice@{DOMAIN}", "--password", "wonderland", "--data-dir", str(h.data_dir)).returncode == 0
    path = f"/api/users/alice@{DOMAIN}/forwarding"
    statuses = [http(h.http_port, "GET", path, user=f"alice@{DOMAIN}", password=f"guess{i}").status for i in range(10)]
    assert statuses == [401] * 10
    blocked = http(h.http_port, "GET", path, user=f"alice@{DOMAIN}", password="wonderland")
    assert blocked.status == 429 and int(blocked.header("retry-after")) > 0
