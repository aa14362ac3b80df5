extension SIPResponse {
    /// A response to `request` as RFC 3261 §8.2.6.2 builds it: Via, From, Call-ID and CSeq copied
    /// byte for byte, To copied with a tag added when the request had none (never for 100
    /// Trying, §8.2.6.1), and a Content-Length for the body.
    public init(
        answering request: SIPRequest, statusCode: Int, reasonPhrase: String? = nil, toTag: String?,
        headers extra: [(SIPHeaderName, String)] = [], body: [UInt8] = []
    ) {
        var headers = SIPHeaders()
        for field in request.headers.fields {
            switch field.known {
            case .via, .from, .callID, .cseq:
                headers.add(field)
            case .to:
                if statusCode > 100, let toTag, let to = try? request.to(), to.tag == nil {
                    let raw = String(sipBytes: field.valueBytes)
                    headers.add(SIPHeaderField(SIPHeaderName(.to), raw + ";tag=" + toTag))
                } else {
                    headers.add(field)
                }
            case .timestamp where statusCode == 100:
                // RFC 3261 §8.2.6.1: a 100 Trying copies Timestamp.
                headers.add(field)
            default:
                continue
            }
        }
        for (name, value) in extra { headers.add(name, value) }
        headers.add(SIPHeaderName(.contentLength), String(body.count))
        self.init(statusCode: statusCode, reasonPhrase: reasonPhrase, headers: headers, body: body)
    }
}
