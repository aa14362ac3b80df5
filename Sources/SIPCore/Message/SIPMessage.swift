/// A SIP request (RFC 3261 §7.1). The Request-URI is kept as written and parsed on demand,
/// so that a request passed on keeps its exact bytes.
public struct SIPRequest: Sendable {
    public var method: SIPMethod
    public var rawRequestURI: ArraySlice<UInt8>
    public var headers: SIPHeaders
    public var body: ArraySlice<UInt8>

    public init(method: SIPMethod, uri: SIPURI, headers: SIPHeaders = SIPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.rawRequestURI = Array(uri.description.utf8)[...]
        self.headers = headers
        self.body = body[...]
    }

    init(method: SIPMethod, rawRequestURI: ArraySlice<UInt8>, headers: SIPHeaders, body: ArraySlice<UInt8>) {
        self.method = method
        self.rawRequestURI = rawRequestURI
        self.headers = headers
        self.body = body
    }

    public func requestURI() throws(SIPParseError) -> SIPURI {
        try SIPURI(bytes: self.rawRequestURI)
    }

    public mutating func setRequestURI(_ uri: SIPURI) {
        self.rawRequestURI = Array(uri.description.utf8)[...]
    }

    public var requestURIText: String { String(sipBytes: self.rawRequestURI) }
}

/// A SIP response (RFC 3261 §7.2).
public struct SIPResponse: Sendable {
    public var statusCode: Int
    public var reasonPhrase: String
    public var headers: SIPHeaders
    public var body: ArraySlice<UInt8>

    public init(statusCode: Int, reasonPhrase: String? = nil, headers: SIPHeaders = SIPHeaders(), body: [UInt8] = []) {
        self.statusCode = statusCode
        self.reasonPhrase = reasonPhrase ?? SIPStatus.defaultReason(for: statusCode)
        self.headers = headers
        self.body = body[...]
    }

    public var isProvisional: Bool { self.statusCode < 200 }
    public var isFinal: Bool { self.statusCode >= 200 }
}

/// Either kind of message, as the parser returns it.
public enum SIPMessage: Sendable {
    case request(SIPRequest)
    case response(SIPResponse)

    public var headers: SIPHeaders {
        switch self {
        case .request(let request): return request.headers
        case .response(let response): return response.headers
        }
    }
}

/// Default reason phrases (RFC 3261 §21 and the extensions Herald answers with).
public enum SIPStatus {
    public static func defaultReason(for code: Int) -> String {
        switch code {
        case 100: return "Trying"
        case 180: return "Ringing"
        case 181: return "Call Is Being Forwarded"
        case 182: return "Queued"
        case 183: return "Session Progress"
        case 200: return "OK"
        case 202: return "Accepted"
        case 204: return "No Notification"
        case 300: return "Multiple Choices"
        case 301: return "Moved Permanently"
        case 302: return "Moved Temporarily"
        case 305: return "Use Proxy"
        case 380: return "Alternative Service"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 402: return "Payment Required"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 407: return "Proxy Authentication Required"
        case 408: return "Request Timeout"
        case 410: return "Gone"
        case 412: return "Conditional Request Failed"
        case 413: return "Request Entity Too Large"
        case 414: return "Request-URI Too Long"
        case 415: return "Unsupported Media Type"
        case 416: return "Unsupported URI Scheme"
        case 420: return "Bad Extension"
        case 421: return "Extension Required"
        case 423: return "Interval Too Brief"
        case 480: return "Temporarily Unavailable"
        case 481: return "Call/Transaction Does Not Exist"
        case 482: return "Loop Detected"
        case 483: return "Too Many Hops"
        case 484: return "Address Incomplete"
        case 485: return "Ambiguous"
        case 486: return "Busy Here"
        case 487: return "Request Terminated"
        case 488: return "Not Acceptable Here"
        case 489: return "Bad Event"
        case 491: return "Request Pending"
        case 493: return "Undecipherable"
        case 500: return "Server Internal Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Server Time-out"
        case 505: return "Version Not Supported"
        case 513: return "Message Too Large"
        case 600: return "Busy Everywhere"
        case 603: return "Decline"
        case 604: return "Does Not Exist Anywhere"
        case 606: return "Not Acceptable"
        default: return "Unknown"
        }
    }
}
