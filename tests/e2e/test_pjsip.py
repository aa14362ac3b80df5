"""Interop with PJSIP (pjsua2-python): two accounts watching each other's presence through
Herald (PUBLISH + SUBSCRIBE/NOTIFY), and an MWI subscription fed by POST /api/mwi.

Each scenario runs in its own process (pjsip_agent.py): pjsua2 allows one Endpoint per process.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import heraldproc
from sipua import presence_server

AGENT = Path(__file__).resolve().parent / "pjsip_agent.py"

try:
    import pjsua2  # noqa: F401
    PJSUA2_ERROR = None
except ImportError as e:  # pragma: no cover - depends on the machine
    PJSUA2_ERROR = f"{type(e).__name__}: {e}"


@pytest.fixture(autouse=True)
def _need_pjsua2():
    """Skip when pjsua2 cannot be imported (fail under CI=true, like the harness does for
    every missing prerequisite)."""
    if PJSUA2_ERROR is not None:
        heraldproc.unavailable(f"pjsua2 cannot be imported ({PJSUA2_ERROR}); install it with "
                               "`pip install -r tests/e2e/requirements.txt`")


def _run_agent(h, tmp_path: Path, *args: str) -> str:
    log = tmp_path / "pjsip.log"
    try:
        p = subprocess.run([sys.executable, str(AGENT), *args, "--port", str(h.udp_port),
                            "--log", str(log)], capture_output=True, text=True, timeout=40,
                           stdin=subprocess.DEVNULL)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = f"{e.stdout or ''}{e.stderr or ''}\n(agent killed after 40 s)", -1
    if rc != 0 or "RESULT ok" not in out:
        pjlog = log.read_text(errors="replace")[-15000:] if log.exists() else "(no pjsip log)"
        pytest.fail(f"pjsua2 agent exited {rc}:\n{out}\n--- pjsip log (tail) ---\n{pjlog}",
                    pytrace=False)
    return out


def test_pjsip_buddies_see_each_other(herald_factory, tmp_path):
    h = presence_server(herald_factory, "allow")
    out = _run_agent(h, tmp_path, "presence")
    assert "STEP bob sees alice offline" in out, out
    h.assert_alive()


def test_pjsip_mwi_notify_after_http_post(herald_factory, tmp_path):
    h = presence_server(herald_factory, "allow")
    out = _run_agent(h, tmp_path, "mwi", "--http-port", str(h.http_port))
    assert "STEP MWI NOTIFY with Messages-Waiting: yes" in out, out
    h.assert_alive()
