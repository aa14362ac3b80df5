"""The herald command line: version, user management, startup failures, config file,
signals and the HTTP health endpoint."""
from __future__ import annotations

import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from sipua import UA
from heraldproc import free_port, run_cli
from sipclient import LOOPBACK

PASSWORD = "Pl41n-Text-Pa55word-e2e"


def _users(data_dir: Path) -> list[str]:
    res = run_cli("user", "list", "--data-dir", str(data_dir))
    assert res.returncode == 0, f"user list failed: {res.stderr}"
    return [line.strip() for line in res.stdout.splitlines() if line.strip()]


def _add(data_dir: Path, user: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
    return run_cli("user", "add", user, "--password", password, "--data-dir", str(data_dir))


@pytest.fixture
def data_dir(tmp_path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


def test_version(herald_binary):
    res = run_cli("version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip(), "version prints a version string"


def test_user_add_list_remove(herald_binary, data_dir):
    res = _add(data_dir, "alice@example.com")
    assert res.returncode == 0, res.stderr
    assert "alice@example.com" in _users(data_dir)
    res = run_cli("user", "remove", "alice@example.com", "--data-dir", str(data_dir))
    assert res.returncode == 0, res.stderr
    assert "alice@example.com" not in _users(data_dir)


def test_user_add_twice(herald_binary, data_dir):
    """Either refused (non-zero) or an update (zero); the user is listed exactly once."""
    assert _add(data_dir, "bob@example.com").returncode == 0
    _add(data_dir, "bob@example.com", "another-password")
    assert _users(data_dir).count("bob@example.com") == 1


@pytest.mark.parametrize("bad", ["nodomain", "alice@"])
def test_user_add_invalid_address(herald_binary, data_dir, bad):
    res = _add(data_dir, bad)
    assert res.returncode != 0, f"`user add {bad}` should fail"
    assert (res.stderr + res.stdout).strip(), "a failure should say why"


def test_password_stored_hashed_in_sqlite(herald_binary, data_dir):
    assert _add(data_dir, "carol@example.com").returncode == 0
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(".sqlite" in p.name or p.suffix == ".db" for p in files), \
        f"no SQLite file in the data dir: {files}"
    for p in files:
        assert PASSWORD.encode() not in p.read_bytes(), f"plaintext password found in {p}"


def test_users_survive_restart(herald_factory, data_dir):
    assert _add(data_dir, "dave@example.com").returncode == 0
    h = herald_factory(auth="digest", data_dir=data_dir)
    h.stop_and_check()
    assert "dave@example.com" in _users(data_dir)


def _expect_startup_failure(*args: str, mention: str) -> None:
    try:
        res = run_cli(*args, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"herald kept running with {args}; it should have refused to start")
    assert res.returncode > 0, f"expected a failing exit code, got {res.returncode}"
    assert mention in res.stderr, f"stderr should mention {mention!r}: {res.stderr!r}"


def _serve_args(tmp_path: Path, *listen: str) -> list[str]:
    (tmp_path / "d").mkdir(exist_ok=True)
    args = ["serve", "--domain", "example.com", "--http", f"{LOOPBACK}:{free_port('tcp')}",
            "--data-dir", str(tmp_path / "d"), "--auth", "none", "--log-level", "info"]
    for spec in listen:
        args += ["--listen", spec]
    return args


def test_startup_fails_when_port_in_use(herald_binary, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind((LOOPBACK, 0))
        port = busy.getsockname()[1]
        _expect_startup_failure(*_serve_args(tmp_path, f"udp:{LOOPBACK}:{port}"),
                                mention=str(port))


@pytest.mark.parametrize("spec", ["bogus", "udp:nohost", "foo:127.0.0.1:5999"])
def test_startup_fails_on_bad_listen_spec(herald_binary, tmp_path, spec):
    _expect_startup_failure(*_serve_args(tmp_path, spec), mention=spec)


@pytest.mark.parametrize("flag, value", [("--authorization-wait", "-1"), ("--max-waiting-per-watcher", "0")])
def test_startup_fails_on_a_limit_out_of_range(herald_binary, tmp_path, flag, value):
    _expect_startup_failure(*_serve_args(tmp_path, f"udp:{LOOPBACK}:{free_port('udp')}"), f"{flag}={value}",
                            mention=flag.lstrip("-"))


def test_startup_fails_on_missing_config(herald_binary, tmp_path):
    path = "/nonexistent/x.yaml"
    _expect_startup_failure("serve", "--config", path, mention=path)


def _write_config(tmp_path: Path, udp_port: int, http_port: int) -> Path:
    data = tmp_path / "cfgdata"
    data.mkdir(exist_ok=True)
    cfg = tmp_path / "herald.yaml"
    cfg.write_text(
        "domains: [example.com, example.org]\n"
        f'listen: ["udp:{LOOPBACK}:{udp_port}"]\n'
        f'http: "{LOOPBACK}:{http_port}"\n'
        f'data_dir: "{data}"\n'
        'auth: "none"\n'
        "log_level: info\n")
    return cfg


def test_config_file(herald_factory, tmp_path):
    udp, http = free_port("udp"), free_port("tcp")
    cfg = _write_config(tmp_path, udp, http)
    h = herald_factory(argv=["serve", "--config", str(cfg)], udp_port=udp, http_port=http)
    h.assert_alive()
    assert _healthz(http) == 200


def test_the_config_files_default_policy_decides_for_presentities_without_rules(herald_factory, tmp_path):
    udp, http = free_port("udp"), free_port("tcp")
    cfg = _write_config(tmp_path, udp, http)
    cfg.write_text(cfg.read_text() + "default_policy: block\n")
    h = herald_factory(argv=["serve", "--config", str(cfg)], udp_port=udp, http_port=http)
    with UA(h, "sip:bob@example.com") as bob:
        r = bob.dialog("sip:alice@example.com").subscribe(600)
        assert r is not None and r.status == 403, r and r.start_line
        # Her own presence is always hers to see.
        with UA(h, "sip:alice@example.com") as alice:
            r = alice.dialog("sip:alice@example.com").subscribe(600)
            assert r is not None and r.status == 200, r and r.start_line


def test_listen_flag_overrides_config(herald_factory, tmp_path):
    cfg_udp, flag_udp, http = free_port("udp"), free_port("udp"), free_port("tcp")
    cfg = _write_config(tmp_path, cfg_udp, http)
    h = herald_factory(argv=["serve", "--config", str(cfg), "--listen",
                             f"udp:{LOOPBACK}:{flag_udp}"], udp_port=flag_udp, http_port=http)
    h.assert_alive()
    h.udp_port = cfg_udp
    assert h.options_status(timeout=1.0) is None, "the config's listen should be replaced"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_clean_shutdown_on_signal(herald_factory, sig):
    h = herald_factory()
    h.assert_alive()
    rc = h.stop(sig, timeout=10)
    assert rc == 0, f"exit code {rc} after {sig.name}"


def _healthz(port: int) -> int:
    # An empty ProxyHandler: never let an http_proxy variable route this off the machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://{LOOPBACK}:{port}/healthz", timeout=5) as resp:
        return resp.status


def test_healthz(herald_factory):
    h = herald_factory()
    assert _healthz(h.http_port) == 200

