import SIPCore

/// Interworking with strict routers (RFC 2543 route sets), RFC 3261 §16.4 and §16.6 step 6.
public enum StrictRouting {
    /// §16.4: a strict router upstream put the URI Herald record-routed into the Request-URI and
    /// moved the real target to the end of the Route set. Put it back: the last Route value
    /// becomes the Request-URI again. Returns whether the request was changed.
    public static func restoreRequestURI(_ request: inout SIPRequest, identity: ServerIdentity) -> Bool {
        guard let uri = try? request.requestURI(), uri.user == nil, identity.isOwnAddress(uri),
            let routes = try? request.routes(), let last = routes.last
        else { return false }
        Self.replaceRoutes(&request, with: routes.dropLast())
        request.setRequestURI(last.uri)
        return true
    }

    /// §16.6 step 6: when the next hop is a strict router (its Route URI has no `lr`), it
    /// expects to find itself in the Request-URI. The Request-URI goes to the end of the Route
    /// set and the first Route value becomes the Request-URI. Returns whether it applied.
    public static func addressStrictNextHop(_ request: inout SIPRequest) -> Bool {
        guard let routes = try? request.routes(), let first = routes.first, first.uri.parameter("lr") == nil,
            let target = try? request.requestURI()
        else { return false }
        Self.replaceRoutes(&request, with: Array(routes.dropFirst()) + [NameAddress(uri: target)])
        request.setRequestURI(first.uri)
        return true
    }

    static func replaceRoutes(_ request: inout SIPRequest, with routes: some Collection<NameAddress>) {
        request.headers.replaceAll(SIPHeaderName(.route), with: routes.map(\.description))
    }
}
