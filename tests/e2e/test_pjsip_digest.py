"""Digest authentication (RFC 3261 §22, RFC 7616, RFC 8760) against a real client and raw UDP.

Herald runs with `--auth digest`; users are created beforehand with `herald user add` on the
same data dir the server then uses.

- PJSIP (pjsua2, via pjsip_agent.py): alice and bob register (401, then 200), PUBLISH and
  SUBSCRIBE are challenged with 407 and then succeed, and bob sees alice go online -> busy
  -> offline. A wrong password ends in 401; bob's credentials on alice's account in 403.
- Raw UDP (sipua.py): the 401's two challenges (SHA-256 first, then MD5), a wrong MD5
  response (401 again), the right one (200), bob's credentials on a REGISTER for alice (403),
  SHA-256 with qop=auth and nc=00000001 (200), the same nonce and nc again (401, stale=true),
  nc=00000002 (200), and a SUBSCRIBE challenged with 407 / Proxy-Authenticate.

Each test has its own server, so failed attempts never add up across tests: the raw test
makes one; PJSIP retries a wrong password with every fresh nonce (5 attempts, SHA-256 then
MD5), which is below Herald's block (403 after 10 failures from one address within 60 s)
but within its slowdown (answers delayed after 3), so that run takes ~3 s.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

import heraldproc
from heraldproc import run_cli
from sipclient import LOOPBACK, SipMessage, split_commas
from sipua import UA
from pjsip_runner import run_agent

AGENT = Path(__file__).resolve().parent / "pjsip_agent.py"
REALM = "example.com"
PASSWORDS = {"alice": "Al1ce-digest-e2e", "bob": "B0b-digest-e2e"}

try:
    import pjsua2  # noqa: F401
    PJSUA2_ERROR = None
except ImportError as e:  # pragma: no cover - depends on the machine
    PJSUA2_ERROR = f"{type(e).__name__}: {e}"


def _need_pjsua2() -> None:
    if PJSUA2_ERROR is not None:
        heraldproc.unavailable(f"pjsua2 cannot be imported ({PJSUA2_ERROR}); install it with "
                               "`pip install -r tests/e2e/requirements.txt`")


# -- server with users ---------------------------------------------------------------------

def digest_server(factory, tmp_path: Path, users=("alice", "bob")):
    """A `--auth digest --default-policy allow` server for example.com whose data dir holds
    `users` (added with `herald user add` before the server starts)."""
    data_dir = tmp_path / "digest-data"
    data_dir.mkdir(exist_ok=True)
    for user in users:
        res = run_cli("user", "add", f"{user}@{REALM}", "--password", PASSWORDS[user],
                      "--data-dir", str(data_dir))
        assert res.returncode == 0, f"`herald user add {user}@{REALM}` failed: {res.stderr}"
    listed = run_cli("user", "list", "--data-dir", str(data_dir))
    assert listed.returncode == 0, listed.stderr
    for user in users:
        assert f"{user}@{REALM}" in listed.stdout, f"user list: {listed.stdout!r}"
    return factory(auth="digest", domains=(REALM,), data_dir=data_dir,
                   extra_args=["--default-policy", "allow"])


# -- digest arithmetic (RFC 7616 §3.4.1) -----------------------------------------------------

HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def parse_challenge(value: str) -> dict[str, str]:
    """The auth-params of one `Digest ...` challenge (names lowercased, values unquoted);
    the scheme is under the key 'scheme'."""
    scheme, _, rest = value.strip().partition(" ")
    params = {"scheme": scheme}
    for item in split_commas(rest):
        name, _, val = item.partition("=")
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        params[name.strip().lower()] = val
    return params


def digest_response(algorithm: str, user: str, realm: str, password: str, method: str,
                    uri: str, nonce: str, nc: str | None = None, cnonce: str | None = None,
                    qop: str | None = None) -> str:
    h = HASHES[algorithm]

    def hx(text: str) -> str:
        return h(text.encode()).hexdigest()
    ha1 = hx(f"{user}:{realm}:{password}")
    ha2 = hx(f"{method}:{uri}")
    if qop:
        return hx(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return hx(f"{ha1}:{nonce}:{ha2}")


def credentials(chal: dict[str, str], method: str, uri: str, user: str, password: str, *,
                nc: int = 1, cnonce: str | None = None) -> str:
    """An Authorization / Proxy-Authorization value answering `chal` with qop=auth."""
    algorithm = chal.get("algorithm", "MD5")
    cnonce = cnonce or secrets.token_hex(8)
    ncs = f"{nc:08x}"
    resp = digest_response(algorithm, user, chal["realm"], password, method, uri,
                           chal["nonce"], ncs, cnonce, "auth")
    value = (f'Digest username="{user}", realm="{chal["realm"]}", nonce="{chal["nonce"]}", '
             f'uri="{uri}", response="{resp}", algorithm={algorithm}, cnonce="{cnonce}", '
             f"qop=auth, nc={ncs}")
    if "opaque" in chal:
        value += f', opaque="{chal["opaque"]}"'
    return value


def test_digest_helper_matches_rfc7616_examples():
    """The Python side of the arithmetic, checked against RFC 7616 §3.9.1."""
    args = dict(user="Mufasa", realm="http-auth@example.org", password="Circle of Life",
                method="GET", uri="/dir/index.html",
                nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc="00000001",
                cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop="auth")
    assert digest_response("MD5", **args) == "8ca523f5e9506fed4657c9700eebdbec"
    assert digest_response("SHA-256", **args) == \
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def challenges(resp: SipMessage, header: str) -> list[dict[str, str]]:
    return [parse_challenge(v) for v in resp.headers.get_all(header)]


def check_challenges(resp: SipMessage | None, status: int, *, stale: bool = False,
                     what: str = "") -> dict[str, dict[str, str]]:
    """Asserts a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) with a SHA-256 and then
    an MD5 challenge for REALM, qop="auth"; returns {algorithm: challenge}."""
    assert resp is not None, f"{what}: no final response"
    assert resp.status == status, f"{what}: got {resp.start_line!r}, expected {status}\n" \
        f"{resp.raw.decode('latin-1')}"
    header, other = (("www-authenticate", "proxy-authenticate") if status == 401
                     else ("proxy-authenticate", "www-authenticate"))
    chals = challenges(resp, header)
    assert other not in resp.headers, f"{what}: {status} must not carry {other}"
    algs = [c.get("algorithm", "MD5").upper() for c in chals]
    assert algs == ["SHA-256", "MD5"], f"{what}: {header} algorithms {algs}, expected " \
        f"SHA-256 then MD5 (RFC 8760 §2.4)\n{resp.raw.decode('latin-1')}"
    for c in chals:
        assert c["scheme"].lower() == "digest", c
        assert c.get("realm") == REALM, f"{what}: realm {c.get('realm')!r}"
        assert "auth" in [q.strip() for q in c.get("qop", "").split(",")], \
            f"{what}: qop {c.get('qop')!r}"
        assert c.get("nonce"), f"{what}: empty nonce"
        assert (c.get("stale", "false").lower() == "true") == stale, \
            f"{what}: stale={c.get('stale')!r}, expected stale={'true' if stale else 'absent/false'}"
    return {a: c for a, c in zip(algs, chals)}


# -- raw UDP ---------------------------------------------------------------------------------

class Registrar:
    """REGISTERs for one AOR from one UA: one Call-ID, increasing CSeq (RFC 3261 §10.2)."""

    def __init__(self, ua: UA, aor: str):
        self.ua, self.aor = ua, aor
        self.call_id = f"e2e-reg-{secrets.token_hex(8)}"
        self.cseq = 0
        self.uri = f"sip:{REALM}"

    def register(self, authorization: str | None = None) -> SipMessage | None:
        self.cseq += 1
        hdrs = [f"Contact: <sip:{self.ua.user}@{LOOPBACK}:{self.ua.port}>", "Expires: 600"]
        if authorization:
            hdrs.append(f"Authorization: {authorization}")
        return self.ua.request("REGISTER", self.uri, to=f"<{self.aor}>", call_id=self.call_id,
                               cseq=self.cseq, headers=hdrs)


def test_raw_register_digest(herald_factory, tmp_path):
    h = digest_server(herald_factory, tmp_path)
    alice_aor, bob_aor = f"sip:alice@{REALM}", f"sip:bob@{REALM}"
    with UA(h, alice_aor) as alice, UA(h, bob_aor) as bob:
        reg = Registrar(alice, alice_aor)

        # No credentials: 401 with SHA-256 then MD5 (not a failure).
        chal = check_challenges(reg.register(), 401, what="REGISTER without credentials")

        # Wrong password answering the MD5 challenge: challenged again (1 failure).
        resp = reg.register(credentials(chal["MD5"], "REGISTER", reg.uri, "alice", "wrong-pw"))
        chal = check_challenges(resp, 401, what="REGISTER, MD5, wrong password")

        # The right password, MD5: 200 with our binding.
        resp = reg.register(credentials(chal["MD5"], "REGISTER", reg.uri, "alice",
                                        PASSWORDS["alice"]))
        assert resp is not None and resp.status == 200, \
            f"REGISTER, MD5, right password: {resp and resp.raw.decode('latin-1')}"
        contacts = " ".join(resp.headers.get_all("contact"))
        assert f"{LOOPBACK}:{alice.port}" in contacts, f"binding missing: {contacts!r}"

        # bob authenticates correctly, but on a REGISTER whose To is alice: 403.
        third = Registrar(bob, alice_aor)
        chal_b = check_challenges(third.register(), 401, what="bob's REGISTER for alice")
        resp = third.register(credentials(chal_b["MD5"], "REGISTER", third.uri, "bob",
                                          PASSWORDS["bob"]))
        assert resp is not None and resp.status == 403, \
            f"bob's credentials on a REGISTER for alice: expected 403, got " \
            f"{resp and resp.raw.decode('latin-1')}"

        # SHA-256, qop=auth, nc=00000001: 200.
        chal = check_challenges(reg.register(), 401, what="REGISTER without credentials (2)")
        sha = chal["SHA-256"]
        cnonce = secrets.token_hex(8)
        resp = reg.register(credentials(sha, "REGISTER", reg.uri, "alice", PASSWORDS["alice"],
                                        nc=1, cnonce=cnonce))
        assert resp is not None and resp.status == 200, \
            f"REGISTER, SHA-256, nc=00000001: {resp and resp.raw.decode('latin-1')}"

        # The same nonce and nc again (a new transaction): refused as stale.
        resp = reg.register(credentials(sha, "REGISTER", reg.uri, "alice", PASSWORDS["alice"],
                                        nc=1, cnonce=cnonce))
        check_challenges(resp, 401, stale=True, what="REGISTER replaying nonce with nc=00000001")

        # The same nonce with nc=00000002: accepted.
        resp = reg.register(credentials(sha, "REGISTER", reg.uri, "alice", PASSWORDS["alice"],
                                        nc=2, cnonce=secrets.token_hex(8)))
        assert resp is not None and resp.status == 200, \
            f"REGISTER, SHA-256, same nonce, nc=00000002: {resp and resp.raw.decode('latin-1')}"

        # Other requests are challenged with 407 / Proxy-Authenticate (From identifies).
        dlg = alice.dialog(bob_aor)
        chal = check_challenges(dlg.subscribe(expires=60), 407, what="SUBSCRIBE without credentials")
        resp = dlg.subscribe(expires=60, extra=[
            "Proxy-Authorization: " + credentials(chal["SHA-256"], "SUBSCRIBE", bob_aor, "alice",
                                                  PASSWORDS["alice"])])
        assert resp is not None and resp.status in (200, 202), \
            f"SUBSCRIBE with Proxy-Authorization: {resp and resp.raw.decode('latin-1')}"
        dlg.notify()
    h.assert_alive()


# -- PJSIP -----------------------------------------------------------------------------------

RX_RESPONSE = re.compile(r"RX \d+ bytes Response msg (\d{3})/([A-Z]+)/cseq=(\d+)")


def _final_statuses(pjlog: str, method: str) -> list[int]:
    """Statuses of every final response to `method` that PJSIP received, in order."""
    return [int(m.group(1)) for m in RX_RESPONSE.finditer(pjlog)
            if m.group(2) == method and int(m.group(1)) >= 200]


def _challenged_then_ok(pjlog: str, method: str, challenge: int) -> None:
    codes = _final_statuses(pjlog, method)
    assert challenge in codes, f"no {challenge} to {method} in the pjsip log: {codes}"
    i = codes.index(challenge)
    assert any(200 <= c < 300 for c in codes[i + 1:]), \
        f"{method}: no 2xx after the {challenge} (statuses {codes})"


def test_pjsip_digest_presence(herald_factory, tmp_path):
    _need_pjsua2()
    h = digest_server(herald_factory, tmp_path)
    out, pjlog = run_agent(h, tmp_path, "presence", "presence",
                            *(f"--user-password={u}={pw}" for u, pw in PASSWORDS.items()))
    assert "REG alice 200" in out and "REG bob 200" in out, out
    assert "STEP bob sees alice busy (RPID activity)" in out, out
    assert "STEP bob sees alice offline" in out, out
    _challenged_then_ok(pjlog, "REGISTER", 401)
    _challenged_then_ok(pjlog, "PUBLISH", 407)
    _challenged_then_ok(pjlog, "SUBSCRIBE", 407)
    h.assert_alive()


def test_pjsip_digest_refusals(herald_factory, tmp_path):
    _need_pjsua2()
    h = digest_server(herald_factory, tmp_path)
    out, pjlog = run_agent(h, tmp_path, "wrong", "register", "--user", "alice",
                            "--password", "not-alices-password", "--expect-reg", "401")
    assert "REG alice 401" in out, out
    out, pjlog = run_agent(h, tmp_path, "bob-as-alice", "register", "--user", "alice",
                            "--auth-user", "bob", "--password", PASSWORDS["bob"],
                            "--expect-reg", "403")
    assert "REG alice 403" in out, out
    h.assert_alive()
