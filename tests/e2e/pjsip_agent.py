"""PJSIP (pjsua2) side of test_pjsip.py: run as a script, one Endpoint per process.

    python3 pjsip_agent.py presence --port SIP_UDP_PORT --log FILE
    python3 pjsip_agent.py mwi --port SIP_UDP_PORT --http-port PORT --log FILE
    python3 pjsip_agent.py register --user alice --expect-reg 403 --port ... --log FILE
    python3 pjsip_agent.py message --wait-file PATH --port ... --log FILE
    python3 pjsip_agent.py call --port ... --log FILE

With `--password PW` every account carries digest credentials for realm example.com
(username: the account's user, or `--auth-user NAME`), for servers run with `--auth digest`;
`--user-password USER=PW` (repeatable) gives one account its own password.
`register` only registers one account (`--user`) and expects `--expect-reg` (default 200).
`message`: alice and bob register; alice sends bob a MESSAGE, then bob sends alice one (each
received with its body and From, each reported 200 to its sender); then it prints `READY` and
keeps handling events (bob's stack answers OPTIONS itself) until `--wait-file` exists.
`call`: alice and bob register; bob's account auto-answers (180, then 200); alice calls
sip:bob@example.com through the proxy, both calls reach CONFIRMED, alice hangs up and both
reach DISCONNECTED (null audio device, no sound card needed).

Prints one line per step (`STEP name`) and `RESULT ok` or `RESULT fail: why`; exits 0 only
on success. The library runs without threads (threadCnt 0, mainThreadOnly) and is driven by
a bounded libHandleEvents(20) loop; every wait has a deadline.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.request

import pjsua2 as pj

LOOPBACK = "127.0.0.1"
MWI_BODY = (b"Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\n"
            b"Voice-Message: 2/8 (0/2)\r\n")


class Failed(Exception):
    pass


class Acc(pj.Account):
    def __init__(self):
        super().__init__()
        self.reg_code = 0
        self.mwi: list[str] = []
        self.ims: list[tuple[str, str, str]] = []        # (from, content type, body)
        self.im_status: list[tuple[int, str]] = []       # (code, reason)
        self.auto_answer = False
        self.incoming: list[CallObj] = []                # kept referenced (SWIG directors)

    def onIncomingCall(self, prm):
        call = CallObj(self, prm.callId)
        self.incoming.append(call)
        if not self.auto_answer:
            return
        op = pj.CallOpParam()
        op.statusCode = 180
        call.answer(op)
        op = pj.CallOpParam()
        op.statusCode = 200
        call.answer(op)

    def onInstantMessage(self, prm):
        self.ims.append((prm.fromUri, prm.contentType, prm.msgBody))

    def onInstantMessageStatus(self, prm):
        self.im_status.append((prm.code, prm.reason))

    def onRegState(self, prm):
        self.reg_code = prm.code

    def onMwiInfo(self, prm):
        self.mwi.append(prm.rdata.wholeMsg)


class CallObj(pj.Call):
    """Records its invite-session states; getInfo() is only called inside onCallState
    (after DISCONNECTED the call id is released)."""

    def __init__(self, acc, call_id: int = pj.PJSUA_INVALID_ID):
        super().__init__(acc, call_id)
        self.states: list[int] = []
        self.last_status = 0

    def onCallState(self, prm):
        info = self.getInfo()
        self.states.append(info.state)
        self.last_status = info.lastStatusCode

    @property
    def state(self) -> int:
        return self.states[-1] if self.states else pj.PJSIP_INV_STATE_NULL


class Bud(pj.Buddy):
    def __init__(self):
        super().__init__()
        self.states: list[tuple[int, str]] = []

    def onBuddyState(self):
        info = self.getInfo()
        self.states.append((info.presStatus.status, info.presStatus.note))


class Agent:
    def __init__(self, port: int, log: str, password: str | None = None,
                 auth_user: str | None = None, passwords: dict[str, str] | None = None):
        self.port = port
        self.password = password
        self.auth_user = auth_user
        self.passwords = passwords or {}
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.logConfig.level = 5
        cfg.logConfig.consoleLevel = 0
        cfg.logConfig.filename = log
        cfg.medConfig.noVad = True
        self.ep.libInit(cfg)
        self.accounts: list[Acc] = []
        self.buddies: list[Bud] = []
        self.calls: list[CallObj] = []
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()

    def pump(self, until, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ep.libHandleEvents(20)
            if until():
                print(f"STEP {what}", flush=True)
                return
        raise Failed(f"timed out after {timeout} s waiting for: {what}")

    def account(self, user: str, publish: bool = False, mwi: bool = False,
                expect_reg: int = 200) -> Acc:
        tc = pj.TransportConfig()
        tc.port = 0
        tc.boundAddress = LOOPBACK
        tid = self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tc)
        ac = pj.AccountConfig()
        ac.idUri = f"sip:{user}@example.com"
        ac.regConfig.registrarUri = f"sip:{LOOPBACK}:{self.port}"
        ac.regConfig.timeoutSec = 300
        ac.sipConfig.proxies.append(f"sip:{LOOPBACK}:{self.port};lr")
        ac.sipConfig.transportId = tid
        ac.presConfig.publishEnabled = publish
        ac.mwiConfig.enabled = mwi
        ac.mwiConfig.expirationSec = 600
        password = self.passwords.get(user, self.password)
        if password is not None:
            ac.sipConfig.authCreds.append(pj.AuthCredInfo(
                "digest", "example.com", self.auth_user or user, 0, password))
        acc = Acc()
        acc.create(ac)
        self.accounts.append(acc)
        self.pump(lambda: acc.reg_code != 0, 10, f"{user} REGISTER answered")
        if acc.reg_code != expect_reg:
            raise Failed(f"{user}: REGISTER got {acc.reg_code}, expected {expect_reg}")
        print(f"REG {user} {acc.reg_code}", flush=True)
        return acc

    def buddy(self, acc: Acc, uri: str, subscribe: bool = True) -> Bud:
        bc = pj.BuddyConfig()
        bc.uri = uri
        bc.subscribe = subscribe
        b = Bud()
        b.create(acc, bc)
        self.buddies.append(b)
        return b

    def shutdown(self) -> None:
        calls = self.calls + [c for a in self.accounts for c in a.incoming]
        live = False
        for c in calls:
            if c.states and c.state != pj.PJSIP_INV_STATE_DISCONNECTED:
                live = True
                try:
                    c.hangup(pj.CallOpParam(True))
                except pj.Error:
                    pass
        if live:
            end = time.monotonic() + 1.0
            while time.monotonic() < end and any(
                    c.states and c.state != pj.PJSIP_INV_STATE_DISCONNECTED for c in calls):
                self.ep.libHandleEvents(20)
        for c in calls:
            # Delete each C++ Call now, while the library is up: a Call created inside
            # onIncomingCall keeps an extra (SWIG) reference, so Python would only delete it
            # at exit, after libDestroy, where ~Call asserts (pjsua 2.15.1).
            if c.thisown:
                c.thisown = False
                pj._pjsua2.delete_Call(c)
        del calls
        self.calls.clear()
        for a in self.accounts:
            a.incoming.clear()
        for b in self.buddies:
            try:
                b.subscribePresence(False)
            except pj.Error:
                pass
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            self.ep.libHandleEvents(20)
        self.buddies.clear()
        for a in self.accounts:
            a.shutdown()
        self.accounts.clear()
        self.ep.libDestroy()


def status(online: bool, note: str, busy: bool = False) -> pj.PresenceStatus:
    ps = pj.PresenceStatus()
    ps.status = pj.PJSUA_BUDDY_STATUS_ONLINE if online else pj.PJSUA_BUDDY_STATUS_OFFLINE
    ps.note = note
    if busy:
        ps.activity = pj.PJRPID_ACTIVITY_BUSY
    return ps


def sees(b: Bud, online: bool, note: str | None, activity: int | None = None):
    want = pj.PJSUA_BUDDY_STATUS_ONLINE if online else pj.PJSUA_BUDDY_STATUS_OFFLINE

    def check() -> bool:
        info = b.getInfo()  # keep it referenced: presStatus points into it (SWIG)
        ps = info.presStatus
        return (ps.status == want and (note is None or ps.note == note)
                and (activity is None or ps.activity == activity))
    return check


def active(b: Bud):
    def check() -> bool:
        info = b.getInfo()
        return info.subState == pj.PJSIP_EVSUB_STATE_ACTIVE
    return check


def presence(agent: Agent) -> None:
    alice = agent.account("alice", publish=True)
    bob = agent.account("bob", publish=True)
    bob_sees_alice = agent.buddy(bob, "sip:alice@example.com")
    alice_sees_bob = agent.buddy(alice, "sip:bob@example.com")
    agent.pump(active(bob_sees_alice), 8, "bob's subscription to alice active")
    agent.pump(active(alice_sees_bob), 8, "alice's subscription to bob active")
    alice.setOnlineStatus(status(True, "available"))
    agent.pump(sees(bob_sees_alice, True, "available"), 8, "bob sees alice online/available")
    alice.setOnlineStatus(status(True, "busy", busy=True))
    agent.pump(sees(bob_sees_alice, True, "busy", pj.PJRPID_ACTIVITY_BUSY), 8,
               "bob sees alice busy (RPID activity)")
    bob.setOnlineStatus(status(True, "at my desk"))
    agent.pump(sees(alice_sees_bob, True, "at my desk"), 8, "alice sees bob online")
    alice.setOnlineStatus(status(False, "gone"))
    agent.pump(sees(bob_sees_alice, False, None), 8, "bob sees alice offline")
    print(f"STATES bob_sees_alice={bob_sees_alice.states}", flush=True)
    print(f"STATES alice_sees_bob={alice_sees_bob.states}", flush=True)


def mwi(agent: Agent, http_port: int) -> None:
    alice = agent.account("alice", mwi=True)
    agent.pump(lambda: len(alice.mwi) >= 1, 8, "initial MWI NOTIFY")
    req = urllib.request.Request(
        f"http://{LOOPBACK}:{http_port}/api/mwi/sip:alice@example.com", data=MWI_BODY,
        method="POST", headers={"Content-Type": "application/simple-message-summary"})
    with urllib.request.urlopen(req, timeout=5) as r:
        if r.status != 200:
            raise Failed(f"POST /api/mwi got {r.status}")
    agent.pump(lambda: any("Messages-Waiting: yes" in m for m in alice.mwi), 8,
               "MWI NOTIFY with Messages-Waiting: yes")
    print(f"MWI {alice.mwi[-1]!r}", flush=True)


def register(agent: Agent, user: str, expect_reg: int) -> None:
    agent.account(user, expect_reg=expect_reg)


def send_im(agent: Agent, sender: Acc, sname: str, receiver: Acc, rname: str,
            text: str) -> None:
    """sender sends receiver a MESSAGE (via a non-subscribing Buddy); both ends checked."""
    b = agent.buddy(sender, f"sip:{rname}@example.com", subscribe=False)
    n_rx, n_st = len(receiver.ims), len(sender.im_status)
    prm = pj.SendInstantMessageParam()
    prm.content = text
    prm.contentType = "text/plain"
    b.sendInstantMessage(prm)
    agent.pump(lambda: len(receiver.ims) > n_rx and len(sender.im_status) > n_st, 10,
               f"{rname} receives {sname}'s MESSAGE, {sname} gets its final status")
    frm, ctype, body = receiver.ims[n_rx]
    code, reason = sender.im_status[n_st]
    print(f"IM {sname}->{rname} from={frm!r} type={ctype!r} body={body!r} status={code} "
          f"{reason!r}", flush=True)
    if body != text:
        raise Failed(f"{rname} received body {body!r}, expected {text!r}")
    if f"{sname}@example.com" not in frm:
        raise Failed(f"{rname} received From {frm!r}, expected sip:{sname}@example.com")
    if code != 200:
        raise Failed(f"{sname}'s MESSAGE to {rname}: final status {code} {reason}, expected 200")


def message(agent: Agent, wait_file: str | None) -> None:
    alice = agent.account("alice")
    bob = agent.account("bob")
    send_im(agent, alice, "alice", bob, "bob", "hello bob")
    send_im(agent, bob, "bob", alice, "alice", "hello alice")
    if wait_file:
        print("READY", flush=True)
        agent.pump(lambda: os.path.exists(wait_file), 30, "wait file appeared")


def call(agent: Agent) -> None:
    alice = agent.account("alice")
    bob = agent.account("bob")
    bob.auto_answer = True
    out = CallObj(alice)
    agent.calls.append(out)
    out.makeCall("sip:bob@example.com", pj.CallOpParam(True))
    confirmed = pj.PJSIP_INV_STATE_CONFIRMED
    disconnected = pj.PJSIP_INV_STATE_DISCONNECTED
    agent.pump(lambda: bool(bob.incoming) or out.state == disconnected, 10,
               "bob's account gets the INVITE (or alice's call ends)")
    if not bob.incoming:
        raise Failed(f"alice's call ended ({out.last_status}) before reaching bob")
    inc = bob.incoming[0]
    agent.pump(lambda: (out.state == confirmed and inc.state == confirmed)
               or disconnected in (out.state, inc.state), 10,
               "both calls CONFIRMED (or one ended)")
    if out.state != confirmed or inc.state != confirmed:
        raise Failed(f"call not confirmed: alice states {out.states} (last status "
                     f"{out.last_status}), bob states {inc.states} (last status "
                     f"{inc.last_status})")
    print(f"CALL confirmed alice={out.states} bob={inc.states}", flush=True)
    out.hangup(pj.CallOpParam(True))
    agent.pump(lambda: out.state == disconnected and inc.state == disconnected, 10,
               "both calls DISCONNECTED after alice hangs up")
    print(f"CALL disconnected alice_status={out.last_status} bob_status={inc.last_status}",
          flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["presence", "mwi", "register", "message", "call"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--http-port", type=int)
    ap.add_argument("--log", required=True)
    ap.add_argument("--password", help="digest password of every account (realm example.com)")
    ap.add_argument("--auth-user", help="digest username instead of the account's user")
    ap.add_argument("--user-password", action="append", default=[], metavar="USER=PW",
                    help="digest password of one account (overrides --password)")
    ap.add_argument("--user", default="alice", help="the account of the register scenario")
    ap.add_argument("--expect-reg", type=int, default=200,
                    help="final REGISTER status the register scenario expects")
    ap.add_argument("--wait-file", help="message: after the MESSAGEs, print READY and keep "
                    "handling events until this file exists")
    args = ap.parse_args()
    passwords = dict(item.split("=", 1) for item in args.user_password)
    agent = Agent(args.port, args.log, args.password, args.auth_user, passwords)
    try:
        if args.scenario == "presence":
            presence(agent)
        elif args.scenario == "register":
            register(agent, args.user, args.expect_reg)
        elif args.scenario == "message":
            message(agent, args.wait_file)
        elif args.scenario == "call":
            call(agent)
        else:
            mwi(agent, args.http_port)
        print("RESULT ok", flush=True)
        return 0
    except Failed as e:
        print(f"RESULT fail: {e}", flush=True)
        return 1
    except pj.Error as e:
        print(f"RESULT fail: pjsua2 error {e.status}: {e.reason} ({e.title})", flush=True)
        return 1
    finally:
        agent.shutdown()


if __name__ == "__main__":
    sys.exit(main())
