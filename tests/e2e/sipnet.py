"""Sockets for the Herald end-to-end tests: a UDP client and a TCP/TLS stream reader.

Every socket binds or connects to 127.0.0.1 only; every wait has a timeout.
"""
from __future__ import annotations

import socket
import ssl
import time

from sipclient import LOOPBACK, SipMessage, parse_message


def _branch_of(msg: SipMessage) -> str | None:
    try:
        return msg.top_via().params.get("branch")
    except AssertionError:
        return None


class UdpClient:
    """A UDP socket on 127.0.0.1 (ephemeral port unless bind_port) talking to one server port."""

    def __init__(self, server_port: int, bind_port: int = 0):
        self.server = (LOOPBACK, server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, bind_port))
        self.unmatched: list[bytes] = []

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def recv(self, timeout: float) -> bytes | None:
        """One datagram, or None when nothing arrives within timeout."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, _ = self.sock.recvfrom(65535)
            return data
        except (socket.timeout, ConnectionRefusedError):
            return None

    def drain(self, timeout: float) -> list[bytes]:
        """Every datagram arriving within timeout."""
        out, deadline = [], time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            data = self.recv(left)
            if data is not None:
                out.append(data)
        return out

    def collect(self, timeout: float = 2.0, branch: str | None = None,
                stop_on_final: bool = True) -> list[SipMessage]:
        """Responses (matching branch, if given) until a final one or timeout."""
        out, deadline = [], time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            data = self.recv(left)
            if data is None:
                break
            msg = parse_message(data)
            if branch is not None and _branch_of(msg) != branch:
                self.unmatched.append(data)
                continue
            out.append(msg)
            if stop_on_final and msg.is_response and (msg.status or 0) >= 200:
                break
        return out

    def final(self, timeout: float = 2.0, branch: str | None = None) -> SipMessage | None:
        for msg in self.collect(timeout, branch):
            if msg.is_response and (msg.status or 0) >= 200:
                return msg
        return None

    def request(self, data: bytes, timeout: float = 2.0) -> SipMessage | None:
        """Send one request and return its final response (matched by our branch)."""
        self.send(data)
        return self.final(timeout, _branch_of(parse_message(data)))

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "UdpClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SipStream:
    """A TCP or TLS connection with a buffer; reads CRLFCRLF-framed messages + body."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""
        self.eof = False

    @property
    def local_port(self) -> int:
        return self.sock.getsockname()[1]

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool:
        """Read more bytes; False on EOF/reset; raises TimeoutError at the deadline."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data from server in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError) as e:
            raise TimeoutError("no data from server in time") from e
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_message(self, timeout: float = 5.0) -> SipMessage:
        """Next SIP message (leading CRLF keep-alives are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            self.buf = self.buf.lstrip(b"\r\n")
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = parse_message(self.buf[:end + 4])
                length = int((head.headers.get("content-length") or "0").strip() or 0)
                total = end + 4 + length
                if len(self.buf) >= total:
                    msg, self.buf = self.buf[:total], self.buf[total:]
                    return parse_message(msg)
            if self.eof or not self._fill(deadline):
                raise ConnectionError(f"connection closed; partial data {self.buf[:200]!r}")

    def read_exact(self, n: int, timeout: float) -> bytes:
        """n bytes, or fewer if the peer closes or the timeout passes first."""
        deadline = time.monotonic() + timeout
        try:
            while len(self.buf) < n and not self.eof and self._fill(deadline):
                pass
        except TimeoutError:
            pass
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_for(self, duration: float) -> bytes:
        """Whatever arrives within duration (stops early at EOF)."""
        deadline = time.monotonic() + duration
        try:
            while not self.eof and self._fill(deadline):
                pass
        except TimeoutError:
            pass
        out, self.buf = self.buf, b""
        return out

    def read_until_closed(self, timeout: float) -> bytes:
        """All bytes until the peer closes; raises TimeoutError if still open at timeout."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            self._fill(deadline)
        out, self.buf = self.buf, b""
        return out

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "SipStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def split_stream_messages(data: bytes) -> list[SipMessage]:
    """Parse every complete message in a byte blob read from a stream."""
    out = []
    while True:
        data = data.lstrip(b"\r\n")
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out
        head = parse_message(data[:end + 4])
        length = int((head.headers.get("content-length") or "0").strip() or 0)
        out.append(parse_message(data[:end + 4 + length]))
        data = data[end + 4 + length:]
