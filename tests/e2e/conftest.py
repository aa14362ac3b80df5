"""Fixtures for the Herald end-to-end tests (helpers: heraldproc, sipclient, sipnet).

Run inside a network namespace with only loopback, e.g. from the repo root:
    unshare -rn sh -c 'ip link set lo up && python3 -m pytest tests/e2e -q'
Environment: HERALD_BIN (default .build/debug/herald), HERALD_SHARED (the shared dir),
CI=true turns "binary/openssl missing" skips into failures.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import heraldproc  # noqa: E402
from heraldproc import running_herald  # noqa: E402

TEST_TIME_LIMIT = 90  # seconds; every test is bounded (pytest-timeout is not required)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    heraldproc.RECENTLY_STOPPED.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for h in [*heraldproc.ACTIVE, *heraldproc.RECENTLY_STOPPED]:
            rep.sections.append((f"herald log {h.log_path}", h.log_text()))


@pytest.fixture(autouse=True)
def _bounded_test():
    """Fail any single test that runs longer than TEST_TIME_LIMIT seconds."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"test exceeded {TEST_TIME_LIMIT} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIME_LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def herald_binary() -> Path:
    return heraldproc.require_binary()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate and key for CN=127.0.0.1, made once per session."""
    if shutil.which("openssl") is None:
        heraldproc.unavailable("the openssl CLI is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-days", "2", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return cert, key


@pytest.fixture(scope="module")
def herald(herald_binary, tls_files, tmp_path_factory):
    """One server per test module: --auth none, domains example.com example.org
    example.net company.com and the IPv6 literal 2001:db8::10."""
    with running_herald(tmp_path_factory.mktemp("herald"), tls_files) as h:
        yield h


@pytest.fixture
def herald_factory(herald_binary, tls_files, tmp_path):
    """Start extra servers within one test: factory(**Herald kwargs) -> started Herald.
    Servers still running at the end are stopped with SIGTERM and must exit 0."""
    started: list[heraldproc.Herald] = []

    def factory(**kwargs) -> heraldproc.Herald:
        workdir = kwargs.pop("workdir", tmp_path / f"herald{len(started)}")
        kwargs.setdefault("tls_cert", tls_files[0])
        kwargs.setdefault("tls_key", tls_files[1])
        h = heraldproc.Herald(workdir, **kwargs)
        started.append(h)
        return h.start()

    yield factory
    errors = []
    for h in started:
        if h.proc is not None and h.proc.poll() is None:
            rc = h.stop()
            if rc != 0:
                errors.append(f"herald exited with {rc} after SIGTERM\n{h.log_text()}")
    assert not errors, "\n".join(errors)
