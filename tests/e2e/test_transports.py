"""UDP, TCP and TLS transport behaviour: OPTIONS, Via handling, stream framing."""
from __future__ import annotations

import socket
import ssl
import time

import pytest

from heraldproc import torture_dir
from sipclient import LOOPBACK, build_request, insert_via, new_branch
from sipnet import SipStream, UdpClient, split_stream_messages


def _check_options_200(resp) -> None:
    assert resp is not None, "no answer to OPTIONS"
    assert resp.status == 200, resp.start_line
    allow = resp.headers.tokens("allow")
    assert {"options", "register"} <= allow, f"Allow: {allow}"
    assert "accept" in resp.headers, "Accept missing"
    assert "supported" in resp.headers, "Supported missing"


def _stream(herald, transport: str) -> SipStream:
    return herald.tls_connect() if transport == "TLS" else herald.tcp_connect()


def _stream_options(herald, s: SipStream, transport: str, uri: str | None = None,
                    **kw) -> tuple[bytes, str]:
    branch = new_branch()
    port = herald.tls_port if transport == "TLS" else herald.tcp_port
    data = build_request("OPTIONS", uri or herald.self_uri(port=port), via_port=s.local_port,
                         transport=transport, branch=branch, **kw)
    return data, branch


@pytest.mark.parametrize("transport", ["UDP", "TCP", "TLS"])
def test_options_to_server(herald, transport):
    if transport == "UDP":
        with herald.udp_client() as c:
            branch = new_branch()
            resp = c.request(build_request("OPTIONS", herald.self_uri(), via_port=c.port,
                                           branch=branch))
            src_port = c.port
    else:
        with _stream(herald, transport) as s:
            data, branch = _stream_options(herald, s, transport)
            s.send(data)
            resp = s.read_message(5)
            src_port = s.local_port
    _check_options_200(resp)
    via = resp.top_via()
    assert via.transport == transport and via.params.get("branch") == branch
    assert via.params.get("rport") == str(src_port), f"rport not filled in: {via}"


def test_received_added_when_sent_by_differs(herald):
    with herald.udp_client() as c:
        resp = c.request(build_request("OPTIONS", herald.self_uri(), via_port=5060,
                                       via_host="client.invalid"))
        assert resp is not None, "the answer must go to the source address (rport present)"
        via = resp.top_via()
        assert via.host == "client.invalid"
        assert via.params.get("received") == LOOPBACK
        assert via.params.get("rport") == str(c.port)


def test_udp_response_goes_to_source_port_with_rport(herald):
    with UdpClient(herald.udp_port) as decoy, herald.udp_client() as c:
        resp = c.request(build_request("OPTIONS", herald.self_uri(), via_port=decoy.port))
        assert resp is not None and resp.status == 200, "answer must go to the source port"
        assert resp.top_via().params.get("rport") == str(c.port)
        assert decoy.drain(0.5) == [], "answer went to the Via port despite rport"


def test_tcp_two_requests_in_one_segment(herald):
    with herald.tcp_connect() as s:
        a, ba = _stream_options(herald, s, "TCP", cseq=1)
        b, bb = _stream_options(herald, s, "TCP", cseq=2)
        s.send(a + b)
        got = {s.read_message(5).top_via().params.get("branch") for _ in range(2)}
        assert got == {ba, bb}


def test_tcp_request_in_one_byte_chunks(herald):
    with herald.tcp_connect() as s:
        s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data, branch = _stream_options(herald, s, "TCP")
        pause = min(0.005, 2.0 / len(data))
        for i in range(len(data)):
            s.send(data[i:i + 1])
            time.sleep(pause)
        resp = s.read_message(5)
        _check_options_200(resp)
        assert resp.top_via().params.get("branch") == branch
        assert s.read_for(0.5) == b"", "exactly one response expected"


def test_tcp_double_crlf_keepalive_gets_pong(herald):
    with herald.tcp_connect() as s:
        s.send(b"\r\n\r\n")
        assert s.read_exact(2, 3) == b"\r\n", "RFC 5626 §4.4.1: CRLFCRLF ping -> CRLF pong"
        assert s.read_for(0.3) == b"", "a single CRLF pong expected"
        data, branch = _stream_options(herald, s, "TCP")
        s.send(data)
        resp = s.read_message(5)
        _check_options_200(resp)
        assert resp.top_via().params.get("branch") == branch


def test_tcp_body_split_across_segments(herald):
    body = (b"v=0\r\no=e2e 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
            b"t=0 0\r\nm=audio 49170 RTP/AVP 0\r\n")
    with herald.tcp_connect() as s:
        s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data, branch = _stream_options(herald, s, "TCP", body=body,
                                       content_type="application/sdp")
        head_end = data.index(b"\r\n\r\n")
        cuts = [head_end + 3, head_end + 4 + 10, len(data)]  # "...\r\n\r" | "\n" + 10 | rest
        start = 0
        for cut in cuts:
            s.send(data[start:cut])
            start = cut
            time.sleep(0.3)
        resp = s.read_message(5)
        assert resp.status == 200, resp.start_line
        assert resp.top_via().params.get("branch") == branch
        assert s.read_for(0.3) == b"", "exactly one response expected"
        data2, _ = _stream_options(herald, s, "TCP")
        s.send(data2)
        assert s.read_message(5).status == 200, "connection should stay usable"


def _assert_tcp_alive(herald) -> None:
    with herald.tcp_connect() as s:
        data, _ = _stream_options(herald, s, "TCP")
        s.send(data)
        _check_options_200(s.read_message(5))
    herald.assert_alive()


@pytest.mark.parametrize("name", ["ncl.dat", "mcl01.dat"])
def test_tcp_framing_error_closes_connection(herald, name):
    corpus = torture_dir()
    assert corpus is not None, "torture corpus not found"
    raw = (corpus / "rfc4475" / name).read_bytes()
    with herald.tcp_connect() as s:
        data, _ = insert_via(raw, s.local_port, "TCP")
        try:
            s.send(data)
        except OSError:
            pass  # closed while we were still sending: acceptable
        try:
            rest = s.read_until_closed(5)
        except TimeoutError:
            pytest.fail(f"{name} over TCP: connection still open after 5 s")
    for msg in split_stream_messages(rest):
        assert msg.status == 400, f"only a 400 may precede the close: {msg.start_line!r}"
    _assert_tcp_alive(herald)


def test_tcp_content_length_too_large_waits(herald):
    corpus = torture_dir()
    assert corpus is not None, "torture corpus not found"
    raw = (corpus / "rfc4475" / "clerr.dat").read_bytes()
    with herald.tcp_connect() as s:
        data, _ = insert_via(raw, s.local_port, "TCP")
        s.send(data)
        assert s.read_for(1.0) == b"", "server must wait for the rest of the body"
    _assert_tcp_alive(herald)


def test_tls_options_and_certificate(herald, tls_files):
    with herald.tls_connect() as s:
        peer = s.sock.getpeercert(binary_form=True)
        assert peer == ssl.PEM_cert_to_DER_cert(tls_files[0].read_text()), \
            "server must present the --tls-cert certificate"
        data, branch = _stream_options(herald, s, "TLS")
        s.send(data)
        resp = s.read_message(5)
    _check_options_200(resp)
    assert resp.top_via().params.get("branch") == branch


def test_tls_sips_request_uri(herald):
    with herald.tls_connect() as s:
        uri = herald.self_uri("sips", herald.tls_port)
        data, branch = _stream_options(herald, s, "TLS", uri=uri)
        s.send(data)
        resp = s.read_message(5)
        assert resp.status == 200, resp.start_line
        assert resp.top_via().params.get("branch") == branch
        data, _ = _stream_options(herald, s, "TLS")
        s.send(data)
        assert s.read_message(5).status == 200, "TLS connection should stay usable"
