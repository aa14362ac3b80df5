"""A minimal SIP user agent over UDP for the presence e2e tests: PUBLISH, SUBSCRIBE dialogs
(initial, refresh, unsubscribe) and NOTIFYs, each answered with 200 OK as they arrive.

Every wait is bounded. NOTIFYs arriving while a response is awaited are answered and queued
in `UA.notifies`; `UA.next_notify()` pops them (waiting if none is queued yet).
"""
from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from sipclient import (LOOPBACK, SipMessage, new_branch, new_call_id, new_tag, parse_cseq,
                       parse_message, tag_of, uri_of)
from sipnet import UdpClient

PIDF_NS = "urn:ietf:params:xml:ns:pidf"
WINFO_NS = "urn:ietf:params:xml:ns:watcherinfo"
MWI_BODY = (b"Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\n"
            b"Voice-Message: 2/8 (0/2)\r\n")


def pidf(entity: str, *tuples: tuple[str, str], note: str | None = None) -> bytes:
    """A PIDF document with tuples (id, basic status)."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="{PIDF_NS}" '
             f'entity="{entity}">']
    for tid, basic in tuples:
        n = f"<note>{note}</note>" if note else ""
        parts.append(f'<tuple id="{tid}"><status><basic>{basic}</basic></status>{n}</tuple>')
    parts.append("</presence>")
    return "".join(parts).encode()


def tuples_of(body: bytes, entity: str | None = None) -> dict[str, str]:
    """{tuple id: basic status} of a PIDF body (asserts it is a PIDF document, and about
    `entity` when given)."""
    root = ET.fromstring(body)
    assert root.tag == f"{{{PIDF_NS}}}presence", f"not a PIDF document: {body[:200]!r}"
    if entity is not None:
        assert root.get("entity") == entity, f"entity {root.get('entity')!r}, not {entity!r}"
    out = {}
    for t in root.findall(f"{{{PIDF_NS}}}tuple"):
        basic = t.find(f"{{{PIDF_NS}}}status/{{{PIDF_NS}}}basic")
        out[t.get("id")] = basic.text.strip() if basic is not None and basic.text else ""
    return out


def sub_state(msg: SipMessage) -> tuple[str, dict[str, str]]:
    """(state, params) of a Subscription-State header."""
    value = msg.headers.get("subscription-state") or ""
    state, *params = [p.strip() for p in value.split(";")]
    kv = {}
    for p in params:
        k, _, v = p.partition("=")
        kv[k.strip().lower()] = v.strip()
    return state.lower(), kv


def content_type(msg: SipMessage) -> str:
    return (msg.headers.get("content-type") or "").split(";")[0].strip().lower()


def http_post(port: int, path: str, body: bytes, ctype: str = "application/simple-message-summary",
              timeout: float = 5.0) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://{LOOPBACK}:{port}{path}", data=body, method="POST",
                                 headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@dataclass
class Dialog:
    """The subscriber's side of one subscription dialog."""
    ua: "UA"
    target: str
    event: str
    call_id: str = field(default_factory=new_call_id)
    from_tag: str = field(default_factory=new_tag)
    to_tag: str | None = None
    remote_target: str | None = None
    cseq: int = 0
    last_response: SipMessage | None = None

    def subscribe(self, expires: int | None = 3600, extra: list[str] | tuple = (),
                  to_tag: str | None = None) -> SipMessage | None:
        """Send SUBSCRIBE (initial if no To tag yet, else in-dialog); return the final response."""
        self.cseq += 1
        tag = to_tag if to_tag is not None else self.to_tag
        uri = self.remote_target if (tag and self.remote_target) else self.target
        to = f"<{self.target}>" + (f";tag={tag}" if tag else "")
        hdrs = [f"Event: {self.event}", f"Contact: <sip:{self.ua.user}@{LOOPBACK}:{self.ua.port}>"]
        if expires is not None:
            hdrs.append(f"Expires: {expires}")
        resp = self.ua.request("SUBSCRIBE", uri, to=to, from_tag=self.from_tag,
                               call_id=self.call_id, cseq=self.cseq, headers=[*hdrs, *extra])
        self.last_response = resp
        if resp is not None and 200 <= (resp.status or 0) < 300 and self.to_tag is None:
            self.to_tag = tag_of(resp.headers.get("to"))
            contact = resp.headers.get("contact")
            self.remote_target = uri_of(contact) if contact else None
        return resp

    def notify(self, timeout: float = 5.0) -> SipMessage:
        """The next NOTIFY of this dialog (others stay queued); fails when none comes in time."""
        msg = self.ua.next_notify(timeout, call_id=self.call_id)
        assert msg is not None, f"no NOTIFY for {self.event} dialog {self.call_id} in {timeout} s"
        return msg


class UA:
    """One UDP socket acting for one AOR."""

    def __init__(self, herald, aor: str, bind_port: int = 0, answer: int = 200):
        self.server_port = herald.udp_port
        self.sock = UdpClient(herald.udp_port, bind_port)
        self.aor = aor
        self.user = re.sub(r"^sips?:", "", aor).split("@")[0]
        self.answer = answer          # status we answer NOTIFYs with (0: do not answer)
        self.notifies: list[SipMessage] = []
        self.responses: list[SipMessage] = []
        self.notify_log: list[SipMessage] = []   # every NOTIFY ever received (retransmits too)

    @property
    def port(self) -> int:
        return self.sock.port

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "UA":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def dialog(self, target: str, event: str = "presence") -> Dialog:
        return Dialog(self, target, event)

    # -- receiving ---------------------------------------------------------------------
    def _pump(self, timeout: float) -> bool:
        """Receive one datagram (answering/queueing NOTIFYs); False if nothing came."""
        data = self.sock.recv(timeout)
        if data is None:
            return False
        msg = parse_message(data)
        if msg.is_response:
            self.responses.append(msg)
        elif msg.method == "NOTIFY":
            self.notify_log.append(msg)
            if self.answer:
                self.sock.send(self.response_to(msg, self.answer))
            if not self._retransmission(msg):
                self.notifies.append(msg)
        elif msg.method != "ACK":
            self.sock.send(self.response_to(msg, 200))
        return True

    def _retransmission(self, msg: SipMessage) -> bool:
        """Same Call-ID and CSeq as a NOTIFY received before (notify_log ends with msg)."""
        key = (msg.headers.get("call-id"), msg.headers.get("cseq"))
        return any((n.headers.get("call-id"), n.headers.get("cseq")) == key
                   for n in self.notify_log[:-1])

    @staticmethod
    def response_to(req: SipMessage, status: int) -> bytes:
        reason = {200: "OK", 481: "Call/Transaction Does Not Exist"}.get(status, "Error")
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {v}" for v in req.headers.get_all("via")]
        for h in ("From", "To", "Call-ID", "CSeq"):
            lines.append(f"{h}: {req.headers.get(h)}")
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def pump_for(self, duration: float) -> None:
        deadline = time.monotonic() + duration
        while (left := deadline - time.monotonic()) > 0:
            self._pump(left)

    def next_notify(self, timeout: float = 5.0, call_id: str | None = None) -> SipMessage | None:
        deadline = time.monotonic() + timeout
        while True:
            for i, n in enumerate(self.notifies):
                if call_id is None or n.headers.get("call-id") == call_id:
                    return self.notifies.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._pump(left)

    def no_notify(self, duration: float, call_id: str | None = None) -> SipMessage | None:
        """A NOTIFY arriving within duration (None when quiet, the expected case)."""
        return self.next_notify(duration, call_id)

    # -- sending -----------------------------------------------------------------------
    def request(self, method: str, uri: str, *, to: str | None = None, from_tag: str | None = None,
                call_id: str | None = None, cseq: int = 1, headers: list[str] | tuple = (),
                body: bytes = b"", ctype: str | None = None,
                timeout: float = 3.0) -> SipMessage | None:
        """Send a request from self.aor; return its final response (NOTIFYs meanwhile queued)."""
        branch = new_branch()
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {LOOPBACK}:{self.port};rport;branch={branch}",
                 "Max-Forwards: 70",
                 f"From: <{self.aor}>;tag={from_tag or new_tag()}",
                 f"To: {to or '<' + uri + '>'}",
                 f"Call-ID: {call_id or new_call_id()}",
                 f"CSeq: {cseq} {method}", *headers]
        if ctype:
            lines.append(f"Content-Type: {ctype}")
        lines.append(f"Content-Length: {len(body)}")
        self.sock.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return self.await_response(branch, timeout)

    def send_raw(self, raw: bytes, timeout: float = 3.0) -> SipMessage | None:
        """Send a ready-made request; return its final response (matched by Via branch)."""
        self.sock.send(raw)
        return self.await_response(parse_message(raw).top_via().params.get("branch"), timeout)

    def await_response(self, branch: str, timeout: float) -> SipMessage | None:
        deadline = time.monotonic() + timeout
        while True:
            for i, r in enumerate(self.responses):
                if r.top_via().params.get("branch") == branch and (r.status or 0) >= 200:
                    del self.responses[i]
                    return r
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._pump(left)

    def publish(self, target: str, body: bytes = b"", *, expires: int | None = 3600,
                etag: str | None = None, event: str = "presence",
                ctype: str | None = "application/pidf+xml",
                extra: list[str] | tuple = ()) -> SipMessage | None:
        hdrs = [f"Event: {event}"]
        if expires is not None:
            hdrs.append(f"Expires: {expires}")
        if etag is not None:
            hdrs.append(f"SIP-If-Match: {etag}")
        return self.request("PUBLISH", target, headers=[*hdrs, *extra], body=body,
                            ctype=ctype if body else None)


def cseq_num(msg: SipMessage) -> int:
    parsed = parse_cseq(msg.headers.get("cseq"))
    assert parsed, f"bad CSeq in {msg.start_line}: {msg.headers.get('cseq')!r}"
    return parsed[0]


def presence_server(factory, policy: str | None = None, domains=("example.com",), **kw):
    """A server with --auth none and the given domains (and --default-policy, if given)."""
    extra = ["--default-policy", policy] if policy else []
    return factory(domains=domains, extra_args=[*extra, *kw.pop("extra_args", [])], **kw)
