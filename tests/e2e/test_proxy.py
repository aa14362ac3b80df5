"""The stateful proxy with several loopback user agents (RFC 3261 §16): parallel and
sequential forking, CANCEL, a real loop producing 482, and Max-Forwards 0 giving 483."""
from __future__ import annotations

from sipclient import LOOPBACK, new_call_id, new_tag, parse_message
from sipnet import UdpClient
from test_forwarding import answer, next_request, sip

DOMAIN = "example.com"


def register(sock: UdpClient, user: str, q: str, call_id: str) -> None:
    aor = f"sip:{user}@{DOMAIN}"
    resp = sock.request(sip("REGISTER", f"sip:{DOMAIN}", sock.port, from_=f"<{aor}>;tag={new_tag()}", to=f"<{aor}>",
                            call_id=call_id, headers=(f"Contact: <sip:{user}@{LOOPBACK}:{sock.port}>;q={q}", "Expires: 600")))
    assert resp is not None and resp.status == 200, resp


def invite(caller: UdpClient, target: str, call_id: str, branch: str | None = None, max_forwards: int = 70) -> bytes:
    data = sip("INVITE", target, caller.port, from_=f"<sip:caller@{DOMAIN}>;tag={new_tag()}", to=f"<{target}>",
               call_id=call_id, branch=branch, headers=(f"Contact: <sip:caller@{LOOPBACK}:{caller.port}>",))
    return data.replace(b"Max-Forwards: 70", f"Max-Forwards: {max_forwards}".encode())


def finals(sock: UdpClient, timeout: float = 5.0, method: str = "INVITE") -> list:
    """Final responses for `method` until the first one arrives (or timeout)."""
    out = []
    for raw in iter(lambda: sock.recv(timeout), None):
        m = parse_message(raw)
        if m.is_response and (m.status or 0) >= 200 and (m.headers.get("cseq") or "").endswith(method):
            out.append(m)
            break
    return out


def test_parallel_forks_ring_together_and_the_loser_is_cancelled(herald_factory):
    h = herald_factory(domains=(DOMAIN,))
    with UdpClient(h.udp_port) as desk, UdpClient(h.udp_port) as mobile, UdpClient(h.udp_port) as caller:
        call_reg = new_call_id()
        register(desk, "alice", "1.0", call_reg)
        register(mobile, "alice", "1.0", new_call_id())
        caller.send(invite(caller, f"sip:alice@{DOMAIN}", new_call_id()))
        at_desk, at_mobile = next_request(desk, "INVITE"), next_request(mobile, "INVITE")
        assert at_desk is not None and at_mobile is not None, "both equal-q contacts ring at once"
        for phone, req in ((desk, at_desk), (mobile, at_mobile)):
            phone.sock.sendto(answer(req, 180, "Ringing", "t-" + str(phone.port)), (LOOPBACK, h.udp_port))
        desk.sock.sendto(answer(at_desk, 200, "OK", "t-desk", (f"Contact: <sip:alice@{LOOPBACK}:{desk.port}>",)), (LOOPBACK, h.udp_port))
        cancel = next_request(mobile, "CANCEL")
        assert cancel is not None, "the other fork was not cancelled after the 2xx"
        mobile.sock.sendto(answer(cancel, 200, "OK", "t-m"), (LOOPBACK, h.udp_port))
        mobile.sock.sendto(answer(at_mobile, 487, "Request Terminated", "t-" + str(mobile.port)), (LOOPBACK, h.udp_port))
        got = finals(caller)
        assert [m.status for m in got][:1] == [200], [m.start_line for m in got]


def test_lower_q_is_tried_after_the_first_fails_and_caller_cancel_ends_it(herald_factory):
    h = herald_factory(domains=(DOMAIN,))
    with UdpClient(h.udp_port) as desk, UdpClient(h.udp_port) as voicemail, UdpClient(h.udp_port) as caller:
        register(desk, "bob", "1.0", new_call_id())
        register(voicemail, "bob", "0.1", new_call_id())
        call_id, branch = new_call_id(), "z9hG4bKseq" + new_tag()
        request = invite(caller, f"sip:bob@{DOMAIN}", call_id, branch=branch)
        caller.send(request)
        at_desk = next_request(desk, "INVITE")
        assert at_desk is not None
        assert voicemail.recv(0.3) is None, "the lower q contact was tried before the first failed"
        desk.sock.sendto(answer(at_desk, 486, "Busy Here", "t-desk"), (LOOPBACK, h.udp_port))
        at_vm = next_request(voicemail, "INVITE")
        assert at_vm is not None, "the next q group was not tried after 486"
        voicemail.sock.sendto(answer(at_vm, 180, "Ringing", "t-vm"), (LOOPBACK, h.udp_port))
        # The caller gives up (§16.10): Herald answers the CANCEL and cancels the pending branch.
        msg = parse_message(request)
        cancel = sip("CANCEL", f"sip:bob@{DOMAIN}", caller.port, from_=msg.headers.get("from"), to=msg.headers.get("to"),
                     call_id=call_id, branch=branch)
        caller.send(cancel)
        downstream = next_request(voicemail, "CANCEL")
        assert downstream is not None, "the CANCEL did not reach the ringing branch"
        voicemail.sock.sendto(answer(downstream, 200, "OK", "t-vm"), (LOOPBACK, h.udp_port))
        voicemail.sock.sendto(answer(at_vm, 487, "Request Terminated", "t-vm"), (LOOPBACK, h.udp_port))
        statuses = [m.status for m in finals(caller, 3.0)]
        assert 487 in statuses, statuses


def test_a_real_loop_is_detected_and_max_forwards_zero_gets_483(herald_factory):
    from heraldproc import free_port
    port = free_port("udp")
    # A route for loop.example that points back at Herald itself: the request comes back.
    h = herald_factory(domains=(DOMAIN,), extra_args=["--route", f"loop.example=sip:{LOOPBACK}:{port}"])
    assert h.udp_port != port
    h2 = herald_factory(domains=(DOMAIN,), extra_args=["--route", f"loop.example=sip:{LOOPBACK}:{h.udp_port}",
                                                       "--listen", f"udp:{LOOPBACK}:{port}"])
    with UdpClient(h.udp_port) as caller:
        caller.send(sip("MESSAGE", "sip:x@loop.example", caller.port, from_=f"<sip:caller@{DOMAIN}>;tag=1",
                        to="<sip:x@loop.example>", call_id=new_call_id()))
        got = finals(caller, method="MESSAGE")
        assert got and got[0].status == 482, [m.start_line for m in got]
        caller.send(invite(caller, f"sip:alice@{DOMAIN}", new_call_id(), max_forwards=0))
        got = finals(caller)
        assert got and got[0].status == 483, [m.start_line for m in got]
    assert h2.proc.poll() is None
