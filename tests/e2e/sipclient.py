"""SIP message helpers for the Herald end-to-end tests: parsing and building.

Everything here works on bytes (the torture corpus holds odd octets; header text is
decoded as latin-1 so every byte maps 1:1). Sockets live in sipnet.py.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"

# RFC 3261 §7.3.3 and later RFCs' compact header forms.
COMPACT = {
    "i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
    "c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to",
    "v": "via", "o": "event", "r": "refer-to", "b": "referred-by", "u": "allow-events",
    "x": "session-expires", "y": "identity", "n": "identity-info",
    "a": "accept-contact", "j": "reject-contact", "d": "request-disposition",
}


def canon(name: str) -> str:
    n = name.strip().lower()
    return COMPACT.get(n, n)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id() -> str:
    return "e2e-" + secrets.token_hex(10)


def split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quoted strings and <...>."""
    out, cur, in_q, in_a, esc = [], [], False, False, False
    for ch in value:
        if esc:
            esc = False
        elif in_q and ch == "\\":
            esc = True
        elif ch == '"' and not in_a:
            in_q = not in_q
        elif not in_q and ch == "<":
            in_a = True
        elif not in_q and ch == ">":
            in_a = False
        elif ch == "," and not in_q and not in_a:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return [v for v in out if v]


class Headers:
    """Case-insensitive multi-map; compact names are stored under their long form."""

    def __init__(self, items: list[tuple[str, str]]):
        self.items = [(canon(n), v) for n, v in items]

    def get_all(self, name: str) -> list[str]:
        key = canon(name)
        return [v for n, v in self.items if n == key]

    def get(self, name: str, default: str | None = None) -> str | None:
        vals = self.get_all(name)
        return vals[0] if vals else default

    def __contains__(self, name: str) -> bool:
        return bool(self.get_all(name))

    def values(self, name: str) -> list[str]:
        """All comma-separated values of every line of a list header (Via, Allow...)."""
        return [v for line in self.get_all(name) for v in split_commas(line)]

    def tokens(self, name: str) -> set[str]:
        return {v.strip().lower() for v in self.values(name)}


@dataclass
class SipMessage:
    raw: bytes
    start_line: str
    headers: Headers
    body: bytes

    @property
    def is_response(self) -> bool:
        return self.start_line.startswith("SIP/")

    @property
    def status(self) -> int | None:
        if not self.is_response:
            return None
        parts = self.start_line.split(" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None

    @property
    def reason(self) -> str:
        parts = self.start_line.split(" ", 2)
        return parts[2] if len(parts) > 2 else ""

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0]

    def top_via(self) -> "Via":
        vias = self.headers.values("via")
        assert vias, f"message has no Via:\n{self.raw!r}"
        return parse_via(vias[0])

    def __repr__(self) -> str:
        return f"<SipMessage {self.start_line!r}>"


def parse_message(raw: bytes) -> SipMessage:
    """Parse a SIP message; tolerant (folded lines are unfolded, lines without ':' skipped)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, body = raw, b""
    lines = head.decode("latin-1").split("\r\n")
    unfolded: list[str] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        else:
            unfolded.append(line)
    items = []
    for line in unfolded:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            items.append((name, value.strip()))
    return SipMessage(raw, lines[0], Headers(items), body)


@dataclass
class Via:
    protocol: str
    transport: str
    host: str
    port: int | None
    params: dict[str, str | None]


_VIA_RE = re.compile(
    r"\s*SIP\s*/\s*([^\s/]+)\s*/\s*([^\s]+)\s+(\[[^\]]*\]|[^\s;:]+)(?:\s*:\s*(\d+))?\s*(.*)$", re.S)


def parse_via(value: str) -> Via:
    m = _VIA_RE.match(value)
    assert m, f"unparseable Via: {value!r}"
    params: dict[str, str | None] = {}
    for p in m.group(5).split(";"):
        if not p.strip():
            continue
        k, eq, v = p.partition("=")
        params[k.strip().lower()] = v.strip() if eq else None
    port = int(m.group(4)) if m.group(4) else None
    return Via("SIP/" + m.group(1), m.group(2).upper(), m.group(3), port, params)


def tag_of(value: str | None) -> str | None:
    """The tag header parameter of a From/To value (params after '>' if name-addr)."""
    if value is None:
        return None
    tail = value[value.rfind(">") + 1:] if "<" in value else value
    m = re.search(r";\s*tag\s*=\s*([^;,\s]+)", tail, re.I)
    return m.group(1) if m else None


def uri_of(value: str) -> str:
    """The URI of a name-addr (inside <>) or of an addr-spec (up to the first ';')."""
    if "<" in value:
        return value[value.index("<") + 1:value.index(">", value.index("<"))].strip()
    return value.split(";", 1)[0].strip()


def parse_cseq(value: str | None) -> tuple[int, str] | None:
    m = re.match(r"^\s*(\d+)\s+(\S+)\s*$", value or "")
    return (int(m.group(1)), m.group(2)) if m else None


def via_line(port: int, transport: str = "UDP", branch: str | None = None,
             host: str = LOOPBACK, rport: bool = True) -> tuple[bytes, str]:
    branch = branch or new_branch()
    rp = ";rport" if rport else ""
    return f"Via: SIP/2.0/{transport} {host}:{port}{rp};branch={branch}".encode(), branch


def insert_via(raw: bytes, port: int, transport: str = "UDP",
               branch: str | None = None) -> tuple[bytes, str]:
    """Insert our topmost Via right after the start line; the rest stays byte-exact."""
    line, branch = via_line(port, transport, branch)
    idx = raw.find(b"\r\n")
    if idx < 0:
        return raw + b"\r\n" + line + b"\r\n", branch
    return raw[:idx + 2] + line + b"\r\n" + raw[idx + 2:], branch


def build_request(method: str, uri: str, *, via_port: int, transport: str = "UDP",
                  branch: str | None = None, via_host: str = LOOPBACK, rport: bool = True,
                  from_uri: str = "sip:e2e@example.com", to_uri: str | None = None,
                  call_id: str | None = None, cseq: int = 1, cseq_method: str | None = None,
                  max_forwards: int | None = 70, extra_headers: tuple | list = (),
                  body: bytes = b"", content_type: str | None = None,
                  version: str = "SIP/2.0") -> bytes:
    via, _ = via_line(via_port, transport, branch or new_branch(), via_host, rport)
    lines = [f"{method} {uri} {version}".encode(), via]
    if max_forwards is not None:
        lines.append(f"Max-Forwards: {max_forwards}".encode())
    lines += [
        f"From: <{from_uri}>;tag={new_tag()}".encode(),
        f"To: <{to_uri or uri}>".encode(),
        f"Call-ID: {call_id or new_call_id()}".encode(),
        f"CSeq: {cseq} {cseq_method or method}".encode(),
    ]
    lines += [h if isinstance(h, bytes) else h.encode() for h in extra_headers]
    if content_type:
        lines.append(f"Content-Type: {content_type}".encode())
    lines.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
