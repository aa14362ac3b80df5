"""A small HTTP/1.1 client for the XCAP tests: sends requests byte for byte over a socket
(urllib would re-encode the seed's paths) and parses the response."""
from __future__ import annotations

import base64
import socket
from dataclasses import dataclass

from sipclient import LOOPBACK


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def http(port: int, method: str, path: str, body: bytes = b"", headers: list[str] | tuple = (),
         user: str | None = None, password: str | None = None, timeout: float = 5.0) -> HttpResponse:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {LOOPBACK}:{port}", "Connection: close", *headers]
    if user is not None:
        lines.append("Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    hdrs: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        hdrs.setdefault(name.strip().lower(), []).append(value.strip())
    if "chunked" in (hdrs.get("transfer-encoding") or [""])[0]:
        body_out, rest_bytes = b"", rest
        while rest_bytes:
            size_text, _, rest_bytes = rest_bytes.partition(b"\r\n")
            size = int(size_text.split(b";")[0], 16)
            if size == 0:
                break
            body_out += rest_bytes[:size]
            rest_bytes = rest_bytes[size + 2:]
        rest = body_out
    return HttpResponse(int(status_line.split()[1]), hdrs, rest)


# pres-rules documents (RFC 5025) for the tests that change authorization over XCAP.
def rules(*rules_xml: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" '
            'xmlns:pr="urn:ietf:params:xml:ns:pres-rules">' + "".join(rules_xml) + "</cr:ruleset>").encode()


def rule(rule_id: str, who: str, handling: str, transformations: str = "") -> str:
    return (f'<cr:rule id="{rule_id}"><cr:conditions><cr:identity><cr:one id="{who}"/></cr:identity></cr:conditions>'
            f'<cr:actions><pr:sub-handling>{handling}</pr:sub-handling></cr:actions>'
            f'<cr:transformations>{transformations}</cr:transformations></cr:rule>')


ALL = "<pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-persons><pr:all-persons/></pr:provide-persons><pr:provide-all-attributes/>"
