import SIPCore

/// Builds a request from header lines, the way tests need them.
func makeRequest(_ startLine: String, _ headers: [String], body: String = "") throws -> SIPRequest {
    var text = startLine + "\r\n"
    for header in headers { text += header + "\r\n" }
    text += "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    guard case .request(let request) = try SIPMessageParser.parse(Array(text.utf8)) else {
        throw SIPParseError(.malformedStartLine, "not a request")
    }
    return request
}

func basicHeaders(method: String, cseq: Int = 1, branch: String = "z9hG4bKtest", toTag: String? = nil, callID: String = "call-1") -> [String] {
    [
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=\(branch)",
        "From: <sip:alice@example.com>;tag=from1",
        "To: <sip:bob@example.com>" + (toTag.map { ";tag=\($0)" } ?? ""),
        "Call-ID: \(callID)",
        "CSeq: \(cseq) \(method)",
        "Max-Forwards: 70",
    ]
}
