"""SIPp (Debian's sip-tester) as a real client: the shared load scenarios of
shared/peers/sipp (PUBLISH; SUBSCRIBE, NOTIFY, un-SUBSCRIBE) run for correctness, every call
must succeed; and our own list scenario (sipp/list_subscribe.xml): a resource list subscription
(RFC 4662) with its multipart/related NOTIFYs, a member's PUBLISH reaching it as partial state,
and its end. SIPp exits 0 only when every call succeeded."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import heraldproc
from heraldproc import free_port, shared_path
from sipclient import LOOPBACK, new_branch, new_call_id, new_tag
from sipua import UA
from xcapclient import http

HERE = Path(__file__).resolve().parent
DOMAIN = LOOPBACK  # the shared scenarios address users at the server's IP (gen_users.py)


def _sipp() -> str:
    binary = shutil.which("sipp")
    if binary is None:
        heraldproc.unavailable("sipp not installed (Debian package sip-tester; scripts/install-test-deps.sh)")
    return binary


def _run(h, scenario: Path, users: list[str], tmp_path: Path, calls: int, rate: int = 50) -> subprocess.CompletedProcess:
    """Runs `calls` calls of `scenario` against the server; the injection file has `users`."""
    inf = tmp_path / f"{scenario.stem}.csv"
    inf.write_text("SEQUENTIAL\n" + "\n".join(users) + "\n")
    args = [_sipp(), f"{LOOPBACK}:{h.udp_port}", "-sf", str(scenario), "-inf", str(inf), "-t", "u1", "-i", LOOPBACK,
            "-p", str(free_port("udp")), "-m", str(calls), "-r", str(rate), "-l", "50", "-aa",
            "-default_behaviors", "all,-bye", "-timeout", "60s", "-timeout_error", "-nostdin", "-trace_err",
            "-error_file", str(tmp_path / f"{scenario.stem}-errors.log")]
    return subprocess.run(args, capture_output=True, text=True, timeout=90, cwd=tmp_path, stdin=subprocess.DEVNULL)


def _serves_list(ua: UA, owner: str) -> bool:
    """Whether a fetch (Expires: 0) of owner's list URI, from her, is answered as a list."""
    uri = f"sip:{owner}@{DOMAIN};pres-list=rcs"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        raw = "\r\n".join([
            f"SUBSCRIBE {uri} SIP/2.0", f"Via: SIP/2.0/UDP {LOOPBACK}:{ua.port};rport;branch={new_branch()}", "Max-Forwards: 70",
            f"From: <sip:{owner}@{DOMAIN}>;tag={new_tag()}", f"To: <{uri}>", f"Call-ID: {new_call_id()}", "CSeq: 1 SUBSCRIBE",
            f"Contact: <sip:{LOOPBACK}:{ua.port}>", "Event: presence", "Supported: eventlist", "Expires: 0",
            "Content-Length: 0", "", ""]).encode()
        response = ua.send_raw(raw)
        if response is not None and response.status == 200 and response.headers.get("require") == "eventlist":
            return True
        time.sleep(0.1)
    return False


def _explain(result: subprocess.CompletedProcess, tmp_path: Path, scenario: Path) -> str:
    errors = tmp_path / f"{scenario.stem}-errors.log"
    return f"sipp exit {result.returncode}\n{result.stdout[-3000:]}\n{errors.read_text()[-3000:] if errors.exists() else ''}"


def test_the_shared_publish_and_subscribe_scenarios_succeed_call_for_call(herald_factory, tmp_path):
    h = herald_factory(domains=(DOMAIN,), extra_args=["--default-policy", "allow"])
    users = [f"user{i:06d};watcher{i:06d};{DOMAIN}" for i in range(1, 101)]
    for name in ("publish.xml", "subscribe.xml"):
        scenario = shared_path("peers", "sipp", name)
        result = _run(h, scenario, users, tmp_path, calls=100)
        assert result.returncode == 0, _explain(result, tmp_path, scenario)


def test_a_list_subscription_from_sipp(herald_factory, tmp_path):
    h = herald_factory(domains=(DOMAIN,), extra_args=["--default-policy", "allow"])
    owners = [(f"owner{i}", f"member{i}") for i in range(1, 6)]
    for owner, member in owners:
        xui = f"sip:{owner}@{DOMAIN}"
        lists = (f'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="rcs">'
                 f'<entry uri="sip:{member}@{DOMAIN}"/><entry uri="sip:{owner}@{DOMAIN}"/></list></resource-lists>').encode()
        services = (f'<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:{owner}@{DOMAIN};pres-list=rcs">'
                    f'<resource-list>http://{LOOPBACK}/resource-lists/users/{xui}/index/~~/resource-lists/list%5B@name=%22rcs%22%5D'
                    f'</resource-list><packages><package>presence</package></packages></service></rls-services>').encode()
        for auid, body, ctype in (("resource-lists", lists, "application/resource-lists+xml"),
                                  ("rls-services", services, "application/rls-services+xml")):
            put = http(h.http_port, "PUT", f"/{auid}/users/{xui}/index", body, [f"Content-Type: {ctype}"])
            assert put.status == 201, put.body
    # The engine reads each document back after its PUT: wait until every list answers.
    with UA(h, f"sip:{owners[0][0]}@{DOMAIN}") as ua:
        for owner, _ in owners:
            assert _serves_list(ua, owner), f"the list of {owner} is not served"
    scenario = HERE / "sipp" / "list_subscribe.xml"
    result = _run(h, scenario, [f"{o};{m};{DOMAIN}" for o, m in owners], tmp_path, calls=len(owners), rate=5)
    assert result.returncode == 0, _explain(result, tmp_path, scenario)
