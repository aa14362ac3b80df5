"""Runs pjsip_agent.py in its own process (pjsua2 allows one Endpoint per process) and fails the
test with the agent's output and the PJSIP log when it does not report success."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

AGENT = Path(__file__).resolve().parent / "pjsip_agent.py"


def run_agent(h, tmp_path: Path, name: str, *args: str) -> tuple[str, str]:
    """Run pjsip_agent.py; return (its output, the pjsip log)."""
    log = tmp_path / f"pjsip-{name}.log"
    try:
        p = subprocess.run([sys.executable, str(AGENT), *args, "--port", str(h.udp_port),
                            "--log", str(log)], capture_output=True, text=True, timeout=40,
                           stdin=subprocess.DEVNULL)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = f"{e.stdout or ''}{e.stderr or ''}\n(agent killed after 40 s)", -1
    pjlog = log.read_text(errors="replace") if log.exists() else "(no pjsip log)"
    if rc != 0 or "RESULT ok" not in out:
        pytest.fail(f"pjsua2 agent exited {rc}:\n{out}\n--- pjsip log (tail) ---\n"
                    f"{pjlog[-15000:]}", pytrace=False)
    return out, pjlog
