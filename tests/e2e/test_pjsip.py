"""Interop with PJSIP (pjsua2-python): two accounts watching each other's presence through
Herald (PUBLISH + SUBSCRIBE/NOTIFY), and an MWI subscription fed by POST /api/mwi.

Each scenario runs in its own process (pjsip_agent.py): pjsua2 allows one Endpoint per process.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import heraldproc
from pjsip_runner import run_agent
from sipua import presence_server


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


def test_pjsip_buddies_see_each_other(herald_factory, tmp_path):
    h = presence_server(herald_factory, "allow")
    out, _ = run_agent(h, tmp_path, "presence", "presence")
    assert "STEP bob sees alice offline" in out, out
    h.assert_alive()


def test_pjsip_mwi_notify_after_http_post(herald_factory, tmp_path):
    h = presence_server(herald_factory, "allow")
    out, _ = run_agent(h, tmp_path, "mwi", "mwi", "--http-port", str(h.http_port))
    assert "STEP MWI NOTIFY with Messages-Waiting: yes" in out, out
    h.assert_alive()
