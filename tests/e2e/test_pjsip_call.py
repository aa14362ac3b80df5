"""A call between two PJSIP (pjsua2) accounts through Herald's proxy, with `--auth digest`.

`pjsip_agent.py call`: alice and bob register with digest; bob auto-answers (180, then 200);
alice calls sip:bob@example.com. Herald challenges the INVITE (407), forwards it to bob's
registered contact, relays 180 and 200 (adding its Record-Route), and routes the in-dialog
ACK and BYE (which carry its Route) on to the peer. Both calls reach CONFIRMED, alice hangs
up, the BYE gets 200 and both reach DISCONNECTED.
"""
from __future__ import annotations

import re

from pjsip_runner import run_agent
from test_pjsip_digest import PASSWORDS, _need_pjsua2, digest_server

RX_RESPONSE = re.compile(r"RX \d+ bytes Response msg (\d{3})/([A-Z]+)/cseq=(\d+)")
# One logged message: "RX ... bytes Response msg 200/INVITE/cseq=N ... :\n<message>--end msg--"
RX_INVITE_200 = re.compile(r"RX \d+ bytes Response msg 200/INVITE/cseq=\d+.*?--end msg--",
                           re.S)


def _statuses(pjlog: str, method: str) -> list[int]:
    """Every response (provisional and final) to `method` that PJSIP received, in order."""
    return [int(m.group(1)) for m in RX_RESPONSE.finditer(pjlog) if m.group(2) == method]


def test_pjsip_call_through_herald(herald_factory, tmp_path):
    _need_pjsua2()
    h = digest_server(herald_factory, tmp_path)
    out, pjlog = run_agent(h, tmp_path, "call", "call",
                            *(f"--user-password={u}={pw}" for u, pw in PASSWORDS.items()))
    assert "REG alice 200" in out and "REG bob 200" in out, out
    assert "STEP both calls CONFIRMED (or one ended)" in out, out
    assert "STEP both calls DISCONNECTED after alice hangs up" in out, out

    invite = _statuses(pjlog, "INVITE")
    assert 407 in invite, f"the INVITE was not challenged with 407: {invite}"
    after = invite[invite.index(407) + 1:]
    assert 180 in after, f"no 180 relayed for the INVITE after the 407: {invite}"
    assert 200 in after[after.index(180) + 1:], f"no 200 after the 180 for the INVITE: {invite}"
    bye = _statuses(pjlog, "BYE")
    assert 200 in bye, f"the BYE got no 200: {bye}"
    assert "Request msg BYE" in pjlog, "no BYE reached bob's PJSIP stack"

    oks = RX_INVITE_200.findall(pjlog)
    assert oks, "the 200 OK to the INVITE is not in the pjsip log"
    rr = [line for line in oks[0].splitlines() if line.lower().startswith("record-route:")]
    assert any("127.0.0.1" in line and ";lr" in line for line in rr), \
        f"the 200 OK to the INVITE lacks Herald's Record-Route:\n{oks[0]}"
    h.assert_alive()
