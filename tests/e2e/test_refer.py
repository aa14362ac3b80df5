"""REFER between two registered users through Herald (RFC 3515, RFC 5589): the REFER is
record-routed, and the referee's message/sipfrag NOTIFYs (seed 002's bodies, Subscription-State
expires=360 = 2 x Timer C) come back through Herald in the dialog, in order."""
from __future__ import annotations

from sipclient import LOOPBACK, new_call_id, new_tag, tag_of
from sipnet import UdpClient
from test_forwarding import answer, next_request, sip
from test_proxy import register

DOMAIN = "example.com"
FRAGS = [b"SIP/2.0 100 Trying\r\n", b"SIP/2.0 180 Ringing\r\n", b"SIP/2.0 200 OK\r\n"]


def test_refer_and_its_sipfrag_notifies_pass_through_herald_in_order(herald_factory):
    h = herald_factory(domains=(DOMAIN,))
    with UdpClient(h.udp_port) as transferor, UdpClient(h.udp_port) as transferee:
        register(transferor, "transferor", "1.0", new_call_id())
        register(transferee, "transferee", "1.0", new_call_id())
        call_id, from_tag = new_call_id(), new_tag()
        refer = sip("REFER", f"sip:transferee@{DOMAIN}", transferor.port, from_=f"<sip:transferor@{DOMAIN}>;tag={from_tag}",
                    to=f"<sip:transferee@{DOMAIN}>", call_id=call_id,
                    headers=(f"Contact: <sip:transferor@{LOOPBACK}:{transferor.port}>", f"Refer-To: <sip:carol@{DOMAIN}>",
                             f"Referred-By: <sip:transferor@{DOMAIN}>"))
        transferor.send(refer)
        got = next_request(transferee, "REFER")
        assert got is not None, "the REFER did not reach the transferee"
        record_route = got.headers.get("record-route")
        assert record_route and f"{LOOPBACK}:{h.udp_port}" in record_route, record_route
        transferee.sock.sendto(answer(got, 202, "Accepted", "a6c85cf", (f"Contact: <sip:transferee@{LOOPBACK}:{transferee.port}>",)),
                               (LOOPBACK, h.udp_port))
        accepted = transferor.final(5.0)
        assert accepted is not None and accepted.status == 202
        # The referee's implicit subscription: NOTIFYs to the referrer's contact, routed by the
        # Record-Route (RFC 3261 §12.1.1: the UAS's route set is the Record-Route as received).
        for cseq, frag in enumerate(FRAGS, start=73):
            state = "terminated;reason=noresource" if frag.startswith(b"SIP/2.0 200") else "active;expires=360"
            notify = sip("NOTIFY", f"sip:transferor@{LOOPBACK}:{transferor.port}", transferee.port,
                         from_=f"<sip:transferee@{DOMAIN}>;tag=a6c85cf", to=f"<sip:transferor@{DOMAIN}>;tag={from_tag}",
                         call_id=call_id, cseq=cseq,
                         headers=(f"Route: {record_route}", f"Contact: <sip:transferee@{LOOPBACK}:{transferee.port}>", "Event: refer",
                                  f"Subscription-State: {state}", "Content-Type: message/sipfrag"), body=frag)
            transferee.send(notify)
            at_referrer = next_request(transferor, "NOTIFY")
            assert at_referrer is not None, f"NOTIFY {cseq} did not reach the referrer"
            assert at_referrer.body == frag
            assert at_referrer.headers.get("cseq") == f"{cseq} NOTIFY"
            assert tag_of(at_referrer.headers.get("to")) == from_tag
            assert len(at_referrer.headers.get_all("via")) == 2, "NOTIFY did not pass through Herald"
            transferor.sock.sendto(answer(at_referrer, 200, "OK", from_tag), (LOOPBACK, h.udp_port))
            ok = transferee.final(5.0)
            assert ok is not None and ok.status == 200, ok
