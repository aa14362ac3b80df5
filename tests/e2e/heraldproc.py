"""Locating the herald binary and the torture corpus, free ports, and the Herald process."""
from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from sipclient import LOOPBACK, build_request, new_branch
from sipnet import SipStream, UdpClient

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DOMAINS = ("example.com", "example.org", "example.net", "company.com", "2001:db8::10")

ACTIVE: list["Herald"] = []            # running servers (their logs go into failure reports)
RECENTLY_STOPPED: list["Herald"] = []  # stopped during the current test


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(message: str) -> None:
    """Skip locally, but fail in CI (CI=true) where a missing prerequisite is a bug."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def shared_path(*parts: str) -> Path:
    """A file of the mission's shared material: under $HERALD_SHARED, else under the first
    `shared` found walking up from this file."""
    env = os.environ.get("HERALD_SHARED")
    bases = [Path(env), Path(env).parent] if env else list(Path(__file__).resolve().parents)
    for d in bases:
        for root in (d, d / "shared"):
            if (root / "seeds").is_dir() and (root.joinpath(*parts)).exists():
                return root.joinpath(*parts)
    unavailable(f"shared/{'/'.join(parts)} not found; set HERALD_SHARED")
    raise AssertionError("unreachable")


def herald_binary() -> Path:
    env = os.environ.get("HERALD_BIN")
    return Path(env) if env else REPO_ROOT / ".build" / "debug" / "herald"


def require_binary() -> Path:
    path = herald_binary()
    if not (path.is_file() and os.access(path, os.X_OK)):
        unavailable(f"herald binary not found at {path} (build it with `swift build`, "
                    "or set HERALD_BIN)")
    return path


def torture_dir() -> Path | None:
    """shared/torture: $HERALD_SHARED (the shared dir or its torture dir), else a
    `shared/torture` found by walking up from the repo root."""
    env = os.environ.get("HERALD_SHARED")
    if env:
        for cand in (Path(env) / "torture", Path(env)):
            if (cand / "manifest.csv").is_file():
                return cand
        return None
    for d in (REPO_ROOT, *REPO_ROOT.parents):
        cand = d / "shared" / "torture"
        if (cand / "manifest.csv").is_file():
            return cand
    return None


def require_loopback_only() -> None:
    """The server may try to reach foreign hosts named in test messages: only run it
    inside a network namespace that has nothing but loopback (`unshare -n`)."""
    names = {name for _, name in socket.if_nameindex()}
    if names - {"lo"}:
        unavailable(f"refusing to start herald: network interfaces {sorted(names)} exist; "
                    "run the e2e suite inside `unshare -n` with only `lo` up")


_handed_out: set[tuple[int, int]] = set()


def free_port(kind: str = "udp") -> int:
    """A port free on 127.0.0.1 for UDP ('udp') or TCP ('tcp'); never the same twice."""
    stype = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    for _ in range(50):
        with socket.socket(socket.AF_INET, stype) as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        if (stype, port) not in _handed_out:
            _handed_out.add((stype, port))
            return port
    raise RuntimeError("could not find a free port")


def run_cli(*args: str, timeout: float = 10) -> subprocess.CompletedProcess:
    """Run `herald ARGS...` to completion (bounded); stdout/stderr captured as text."""
    return subprocess.run([str(herald_binary()), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, errors="replace")


class Herald:
    """A `herald serve` subprocess with its log in workdir/herald.log."""

    def __init__(self, workdir: Path, *, tls_cert: Path | None = None,
                 tls_key: Path | None = None, auth: str = "none",
                 domains: tuple[str, ...] = DEFAULT_DOMAINS, extra_args: tuple | list = (),
                 argv: list[str] | None = None, udp_port: int | None = None,
                 http_port: int | None = None, data_dir: Path | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "herald.log"
        self.tls_cert = tls_cert
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.tcp_port = self.tls_port = None
        if argv is not None:
            assert udp_port, "a custom argv needs the udp_port to probe for readiness"
            self.udp_port, self.http_port, self.argv = udp_port, http_port, list(argv)
            return
        self.udp_port = free_port("udp")
        self.tcp_port = free_port("tcp")
        self.tls_port = free_port("tcp")
        self.http_port = free_port("tcp")
        self.data_dir = data_dir or self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.argv = ["serve"]
        for d in domains:
            self.argv += ["--domain", d]
        self.argv += [
            "--listen", f"udp:{LOOPBACK}:{self.udp_port}",
            "--listen", f"tcp:{LOOPBACK}:{self.tcp_port}",
            "--listen", f"tls:{LOOPBACK}:{self.tls_port}",
            "--tls-cert", str(tls_cert), "--tls-key", str(tls_key),
            "--http", f"{LOOPBACK}:{self.http_port}",
            "--data-dir", str(self.data_dir), "--auth", auth, "--log-level", "info",
            *extra_args,
        ]

    # -- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> "Herald":
        require_loopback_only()
        with open(self.log_path, "ab") as log:
            log.write(f"$ herald {' '.join(self.argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen([str(herald_binary()), *self.argv], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        ACTIVE.append(self)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with UdpClient(self.udp_port) as c:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    self._forget()
                    pytest.fail(f"herald exited with {self.proc.returncode} during startup\n"
                                f"{self.log_text()}", pytrace=False)
                c.send(build_request("OPTIONS", self.self_uri(), via_port=c.port))
                if c.recv(0.2) is not None:
                    break
            else:
                self.kill()
                pytest.fail(f"herald did not answer OPTIONS on udp:{self.udp_port} within "
                            f"{timeout:.0f} s\n{self.log_text()}", pytrace=False)
        # The SIP listeners come up before the HTTP one: a test may use either at once.
        while self.http_port is not None and time.monotonic() < deadline:
            try:
                socket.create_connection((LOOPBACK, self.http_port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        if self.http_port is not None:
            self.kill()
            pytest.fail(f"herald did not accept HTTP on tcp:{self.http_port} within "
                        f"{timeout:.0f} s\n{self.log_text()}", pytrace=False)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the server and wait (bounded) for its exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"herald did not exit within {timeout:.0f} s of "
                                     f"signal {sig}\n{self.log_text()}")
        self.returncode = self.proc.returncode
        self._forget()
        return self.returncode

    def stop_and_check(self, sig: int = signal.SIGTERM) -> None:
        rc = self.stop(sig)
        assert rc == 0, f"herald exited with {rc} after signal {sig}\n{self.log_text()}"

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._forget()

    def _forget(self) -> None:
        if self in ACTIVE:
            ACTIVE.remove(self)
            RECENTLY_STOPPED.append(self)

    def log_text(self, limit: int = 20000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        return data[-limit:].decode("utf-8", "replace")

    # -- talking to it -----------------------------------------------------------------
    def self_uri(self, scheme: str = "sip", port: int | None = None) -> str:
        return f"{scheme}:{LOOPBACK}:{port or self.udp_port}"

    def udp_client(self, bind_port: int = 0) -> UdpClient:
        return UdpClient(self.udp_port, bind_port)

    def send_udp(self, data: bytes, timeout: float = 2.0):
        """Send one datagram from a fresh socket; return the first final response or None."""
        with self.udp_client() as c:
            c.send(data)
            return c.final(timeout)

    def tcp_connect(self, timeout: float = 5.0) -> SipStream:
        assert self.tcp_port, "this server has no TCP listener"
        return SipStream(socket.create_connection((LOOPBACK, self.tcp_port), timeout))

    def tls_connect(self, timeout: float = 5.0) -> SipStream:
        assert self.tls_port, "this server has no TLS listener"
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection((LOOPBACK, self.tls_port), timeout)
        return SipStream(ctx.wrap_socket(raw, server_hostname=LOOPBACK))

    def options_status(self, timeout: float = 2.0) -> int | None:
        with self.udp_client() as c:
            branch = new_branch()
            c.send(build_request("OPTIONS", self.self_uri(), via_port=c.port, branch=branch))
            resp = c.final(timeout, branch)
        return resp.status if resp else None

    def assert_alive(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, \
            f"herald is not running (exit {self.proc and self.proc.returncode})\n{self.log_text()}"
        status = self.options_status()
        assert status == 200, f"liveness OPTIONS got {status}, expected 200"


@contextlib.contextmanager
def running_herald(workdir: Path, tls_files: tuple[Path, Path], **kwargs):
    """Start a default-configured Herald (overridable by kwargs); stop it with SIGTERM
    afterwards and assert exit code 0."""
    h = Herald(workdir, tls_cert=tls_files[0], tls_key=tls_files[1], **kwargs).start()
    try:
        yield h
    finally:
        if h.proc is not None and h.proc.poll() is None:
            h.stop_and_check()
        elif h.proc is not None and h in ACTIVE:
            rc = h.proc.returncode
            h._forget()
            raise AssertionError(f"herald died during the tests (exit {rc})\n{h.log_text()}")


@atexit.register
def _kill_leftovers() -> None:
    for h in list(ACTIVE):
        with contextlib.suppress(Exception):
            h.kill()
