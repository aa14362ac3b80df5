"""Size/count limits, garbage input, idle connections and request-level error answers,
against one server started with --max-message-size 4096 --max-headers 50
--tcp-idle-timeout 2."""
from __future__ import annotations

import random
import time

import pytest

from heraldproc import running_herald
from sipclient import build_request, new_branch, parse_message, tag_of

MAX_SIZE, MAX_HEADERS, IDLE = 4096, 50, 2


@pytest.fixture(scope="module")
def limited(herald_binary, tls_files, tmp_path_factory):
    extra = ["--max-message-size", str(MAX_SIZE), "--max-headers", str(MAX_HEADERS),
             "--tcp-idle-timeout", str(IDLE)]
    with running_herald(tmp_path_factory.mktemp("limited"), tls_files, extra_args=extra) as h:
        yield h


def _udp(herald, method="OPTIONS", uri=None, **kw):
    """Send one request over UDP; return (final response or None, branch)."""
    branch = new_branch()
    with herald.udp_client() as c:
        data = build_request(method, uri or herald.self_uri(), via_port=c.port,
                             branch=branch, **kw)
        return c.request(data, 2.0), branch


def _closed_within(stream, timeout: float) -> bytes:
    try:
        return stream.read_until_closed(timeout)
    except TimeoutError:
        pytest.fail(f"server kept the TCP connection open for more than {timeout} s")


def test_oversized_udp_datagram(limited):
    filler = "X-Big: " + "a" * 7900
    resp, _ = _udp(limited, extra_headers=[filler])
    if resp is not None:  # answering is preferred (the Via is parseable), silence tolerated
        assert resp.status in (400, 513), resp.start_line
    limited.assert_alive()


def test_too_many_headers(limited):
    fillers = [f"X-Filler: {n}" for n in range(80)]
    resp, _ = _udp(limited, extra_headers=fillers)
    assert resp is not None, "no answer to a request with 80 extra headers"
    assert resp.status == 400, resp.start_line
    assert "header" in resp.reason.lower(), f"reason should mention headers: {resp.reason!r}"
    limited.assert_alive()


def test_random_garbage_datagrams(limited):
    rng = random.Random(4475)
    with limited.udp_client() as c:
        for i in range(200):
            junk = rng.randbytes(rng.randint(1, 1400))
            if i % 4 == 0:  # some look like the start of a request
                junk = b"OPTIONS sip:127.0.0.1 SIP/2.0\r\n" + junk
            c.send(junk)
            if i % 20 == 19:
                time.sleep(0.02)
        c.drain(0.5)  # answers are allowed, not required
    limited.assert_alive()


def test_tcp_garbage_beyond_max_size_closes(limited):
    rng = random.Random(5118)
    junk = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 :;<>") for _ in range(6000))
    with limited.tcp_connect() as s:
        try:
            s.send(junk)
        except OSError:
            pass  # closed while we were still sending: acceptable
        _closed_within(s, 5)
    limited.assert_alive()


def test_tcp_idle_connection_closed(limited):
    with limited.tcp_connect() as s:
        t0 = time.monotonic()
        data = _closed_within(s, 6)
        elapsed = time.monotonic() - t0
    assert data == b"", f"unexpected data on an idle connection: {data[:100]!r}"
    assert elapsed > 1.0, f"closed after {elapsed:.2f} s; --tcp-idle-timeout is {IDLE} s"


def test_unknown_method_501_with_allow(limited):
    resp, _ = _udp(limited, "FOO")
    assert resp is not None and resp.status == 501, resp and resp.start_line
    assert "options" in resp.headers.tokens("allow"), resp.headers.get_all("allow")


def test_require_unknown_extension_420(limited):
    resp, _ = _udp(limited, extra_headers=["Require: foo, 100rel"])
    assert resp is not None and resp.status == 420, resp and resp.start_line
    assert "foo" in resp.headers.tokens("unsupported"), resp.headers.get_all("unsupported")


def test_max_forwards_zero_to_user_483(limited):
    resp, _ = _udp(limited, uri="sip:someone@example.com", max_forwards=0)
    assert resp is not None and resp.status == 483, resp and resp.start_line


def test_max_forwards_zero_to_server_itself_200(limited):
    resp, _ = _udp(limited, max_forwards=0)
    assert resp is not None and resp.status == 200, resp and resp.start_line


def test_unsupported_sip_version_505(limited):
    resp, _ = _udp(limited, version="SIP/3.0")
    assert resp is not None and resp.status == 505, resp and resp.start_line


def test_retransmission_absorbed(limited):
    with limited.udp_client() as c:
        branch = new_branch()
        data = build_request("OPTIONS", limited.self_uri(), via_port=c.port, branch=branch)
        answers = []
        for _ in range(2):
            c.send(data)
            got = [parse_message(d) for d in c.drain(0.7)]
            assert len(got) == 1, f"expected exactly one response per send, got {got}"
            answers.append(got[0])
    first, second = answers
    assert first.status == second.status == 200
    tag = tag_of(first.headers.get("to"))
    assert tag is not None, "a 200 to OPTIONS needs a To tag (RFC 3261 §8.2.6.2)"
    assert tag_of(second.headers.get("to")) == tag, \
        f"retransmission answered differently: {first.raw!r} vs {second.raw!r}"
