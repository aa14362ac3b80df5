"""Non-INVITE requests proxied to a registered user (MESSAGE, OPTIONS), with `--auth digest`.

Herald authenticates the sender (407 / Proxy-Authenticate, since From is a user of a served
domain), forwards the request statefully to the target's registered contact and relays the
contact's final response.

- PJSIP (pjsua2, `pjsip_agent.py message`): alice and bob register with digest; alice sends
  bob a MESSAGE "hello bob" (bob's onInstantMessage gets it, From alice; alice's
  onInstantMessageStatus reports 200), then bob sends alice one back (200).
- Raw UDP (sipua.py) as carol, a third user: a MESSAGE to an unknown user gets 404 and one to
  bob before he registers gets 480; while the agent keeps bob registered, an OPTIONS to bob
  gets 200 from bob's PJSIP stack (not from Herald).
INVITE is not forwarded yet, so it is not tested here.
"""
from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from heraldproc import run_cli
from sipclient import SipMessage, tag_of
from sipua import UA
from test_pjsip_digest import (AGENT, PASSWORDS, REALM, _challenged_then_ok, _need_pjsua2,
                               check_challenges, credentials, digest_server)

CAROL, CAROL_PW = "carol", "C4rol-message-e2e"


def _dump(resp: SipMessage | None) -> str:
    return resp.raw.decode("latin-1") if resp is not None else "(no final response)"


def _authenticated(ua: UA, method: str, uri: str, body: bytes = b"",
                   ctype: str | None = None, timeout: float = 5.0) -> SipMessage | None:
    """Send `method` as carol: expect 407 with SHA-256 and MD5 challenges, answer the
    SHA-256 one (new transaction, same Call-ID, CSeq+1); return the final response."""
    call_id, from_tag = f"e2e-msg-{time.monotonic_ns()}", "carol1"
    first = ua.request(method, uri, call_id=call_id, from_tag=from_tag, cseq=1, body=body,
                       ctype=ctype, timeout=timeout)
    chal = check_challenges(first, 407, what=f"{method} {uri} without credentials")
    auth = credentials(chal["SHA-256"], method, uri, CAROL, CAROL_PW)
    return ua.request(method, uri, call_id=call_id, from_tag=from_tag, cseq=2, body=body,
                      ctype=ctype, headers=[f"Proxy-Authorization: {auth}"], timeout=timeout)


class _Agent:
    """pjsip_agent.py as a background process whose output lines are queued."""

    def __init__(self, h, tmp_path: Path, *args: str):
        self.log = tmp_path / "pjsip-message.log"
        self.wait_file = tmp_path / "agent-may-stop"
        self.p = subprocess.Popen(
            [sys.executable, str(AGENT), *args, "--port", str(h.udp_port), "--log",
             str(self.log), "--wait-file", str(self.wait_file)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True)
        self.lines: list[str] = []
        self.q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stdout:
            self.q.put(line)
        self.q.put(None)

    def wait_line(self, prefix: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                return False
            self.lines.append(line)
            if line.startswith(prefix):
                return True
        return False

    def finish(self, timeout: float = 15.0) -> tuple[int, str, str]:
        """Let the agent stop; return (exit code, its output, the pjsip log)."""
        self.wait_file.touch()
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait(5)
        self.wait_line("\0", 2)  # drain whatever is left
        pjlog = self.log.read_text(errors="replace") if self.log.exists() else "(no pjsip log)"
        return rc, "".join(self.lines), pjlog

    def fail(self, why: str) -> None:
        rc, out, pjlog = self.finish()
        pytest.fail(f"{why}\npjsua2 agent exited {rc}:\n{out}\n--- pjsip log (tail) ---\n"
                    f"{pjlog[-15000:]}", pytrace=False)


def test_pjsip_message_and_options_through_herald(herald_factory, tmp_path):
    _need_pjsua2()
    data_dir = tmp_path / "digest-data"
    data_dir.mkdir()
    res = run_cli("user", "add", f"{CAROL}@{REALM}", "--password", CAROL_PW,
                  "--data-dir", str(data_dir))
    assert res.returncode == 0, f"`herald user add {CAROL}@{REALM}` failed: {res.stderr}"
    h = digest_server(herald_factory, tmp_path)   # adds alice and bob to the same data dir
    bob_uri = f"sip:bob@{REALM}"

    with UA(h, f"sip:{CAROL}@{REALM}") as carol:
        # Unknown user: 404. Known user without a registration: 480.
        resp = _authenticated(carol, "MESSAGE", f"sip:nobody@{REALM}", b"anyone?", "text/plain")
        assert resp is not None and resp.status == 404, \
            f"MESSAGE to an unknown user: expected 404, got\n{_dump(resp)}"
        resp = _authenticated(carol, "MESSAGE", bob_uri, b"are you there?", "text/plain")
        assert resp is not None and resp.status == 480, \
            f"MESSAGE to bob (not registered): expected 480, got\n{_dump(resp)}"

        # alice and bob register with PJSIP and exchange MESSAGEs.
        agent = _Agent(h, tmp_path, "message",
                       *(f"--user-password={u}={pw}" for u, pw in PASSWORDS.items()))
        try:
            if not agent.wait_line("READY", 40):
                agent.fail("the agent never got READY (MESSAGE exchange failed?)")

            # While bob's PJSIP stack is up: OPTIONS to bob, answered by PJSIP itself.
            resp = _authenticated(carol, "OPTIONS", bob_uri)
            ok = resp is not None and resp.status == 200
            server = ""
            if resp is not None:
                server = resp.headers.get("server") or resp.headers.get("user-agent") or ""
            to_tag = tag_of(resp.headers.get("to")) if resp is not None else None
        except BaseException:
            agent.finish()
            raise
        rc, out, pjlog = agent.finish()

    if rc != 0 or "RESULT ok" not in out:
        pytest.fail(f"pjsua2 agent exited {rc}:\n{out}\n--- pjsip log (tail) ---\n"
                    f"{pjlog[-15000:]}", pytrace=False)
    assert "REG alice 200" in out and "REG bob 200" in out, out
    assert "IM alice->bob " in out and "body='hello bob' status=200" in out, out
    assert "IM bob->alice " in out and "body='hello alice' status=200" in out, out
    _challenged_then_ok(pjlog, "MESSAGE", 407)
    # bob's stack received the MESSAGE and the OPTIONS (forwarded by Herald).
    assert "Request msg MESSAGE" in pjlog, "no MESSAGE received by PJSIP"
    assert "Request msg OPTIONS" in pjlog, "no OPTIONS reached bob's PJSIP stack"

    assert ok, f"OPTIONS to registered bob: expected 200 relayed from PJSIP, got\n{_dump(resp)}"
    assert not server.lower().startswith("herald"), \
        f"the 200 to OPTIONS came from Herald, not bob's PJSIP ({server!r}):\n{_dump(resp)}"
    assert to_tag, f"the 200 to OPTIONS has no To tag:\n{_dump(resp)}"
    allow = {m.strip().upper() for v in resp.headers.get_all("allow") for m in v.split(",")}
    assert "MESSAGE" in allow, f"the 200 to OPTIONS lacks PJSIP's Allow list:\n{_dump(resp)}"
    h.assert_alive()
