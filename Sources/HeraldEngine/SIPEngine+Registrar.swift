import HeraldStore
import PresenceDocuments
import NIOCore
import SIPCore
import SIPProtocol

extension SIPEngine {
    /// REGISTER (RFC 3261 §10.3): the rules decide on the stored bindings; the new set is
    /// written durably before the 200 goes out. REGISTERs for one address-of-record are
    /// processed one after another so that read-modify-write cannot interleave.
    func register(_ entry: ServerTransactionEntry) {
        let essentials = entry.essentials
        let aor = essentials.to.uri.addressOfRecord
        let previous = self.registrarQueues[aor] ?? self.loop.makeSucceededVoidFuture()
        let done = previous.flatMap { self.processRegister(entry, addressOfRecord: aor) }
        self.registrarQueues[aor] = done
        done.whenComplete { _ in
            if self.registrarQueues[aor] === done { self.registrarQueues[aor] = nil }
        }
    }

    private func processRegister(_ entry: ServerTransactionEntry, addressOfRecord aor: String) -> EventLoopFuture<Void> {
        let request = entry.request
        let store = self.store
        let contacts: ContactValue?
        let paths: [String]
        do {
            contacts = try request.contacts()
            paths = try request.paths().map(\.description)
        } catch {
            self.respond(entry, status: 400, reason: error.reason)
            return self.loop.makeSucceededVoidFuture()
        }
        let receivedFrom = "\(entry.destination.transport.rawValue):\(entry.destination.address.ipAddress ?? ""):\(entry.destination.address.port ?? 0)"
        return self.loop.makeFutureWithTask { try await store.bindings(addressOfRecord: aor) }
            .flatMap { records -> EventLoopFuture<Void> in
                let now = self.wallClock()
                let existing = records.compactMap(Self.registrarBinding)
                let decision = RegistrarRules.process(
                    essentials: entry.essentials, contacts: contacts, expiresHeader: request.expires, existing: existing, now: now,
                    policy: self.configuration.registrar, identity: self.identity, path: paths, receivedFrom: receivedFrom)
                switch decision {
                case .reject(let status, let reason, let headers):
                    self.respond(entry, status: status, reason: reason, headers: headers.map { (SIPHeaderName($0.name), $0.value) })
                    return self.loop.makeSucceededVoidFuture()
                case .update(let aor, let bindings):
                    let records = bindings.map { Self.bindingRecord($0, addressOfRecord: aor) }
                    let contactEvents = Self.contactEvents(before: existing, after: bindings, now: now)
                    return self.loop.makeFutureWithTask { try await store.replaceBindings(addressOfRecord: aor, with: records) }
                        .map {
                            self.registrationChanged(aor: aor, contacts: contactEvents)
                            // Remove each binding when its time comes (RFC 3261 §10.3), not at the next sweep.
                            for binding in bindings {
                                self.schedule(at: self.instant + .seconds(max(0, binding.expiresAt - now))) { [weak self] in
                                    _ = self?.removeExpiredBindings()
                                }
                            }
                            var headers = bindings.map { (SIPHeaderName(.contact), $0.responseContact(now: now)) }
                            if !paths.isEmpty, request.headers.tokens(SIPHeaderName(.supported)).contains("path") {
                                // RFC 3327 §5.3: echo the Path when the UA supports it.
                                headers += paths.map { (SIPHeaderName(.path), $0) }
                            }
                            headers.append((SIPHeaderName(.date), Self.httpDate(seconds: now)))
                            self.respond(entry, status: 200, headers: headers)
                        }
                }
            }
            .flatMapErrorThrowing { error in
                self.respondStoreUnavailable(entry, error: error)
            }
    }

    /// What a REGISTER did to each contact, in RFC 3680 §5.2.2 terms.
    static func contactEvents(before: [RegistrarBinding], after: [RegistrarBinding], now: Int64) -> [RegInfoDocument.Contact] {
        var events = [RegInfoDocument.Contact]()
        let live = before.filter { $0.expiresAt > now }
        for binding in after {
            let uri = binding.contact.uri.description
            let previous = live.first { $0.contact.uri.isEquivalent(to: binding.contact.uri) }
            let event: RegInfoDocument.ContactEvent
            if let previous {
                if binding.expiresAt < previous.expiresAt {
                    event = .shortened
                } else if binding.callID == previous.callID, binding.cseq == previous.cseq {
                    continue  // unchanged (a query)
                } else {
                    event = .refreshed
                }
            } else {
                event = .registered
            }
            events.append(RegInfoDocument.Contact(
                id: Self.watcherID(uri), uri: uri, state: .active, event: event, expires: Int(binding.expiresAt - now),
                callID: binding.callID, cseq: binding.cseq))
        }
        for binding in live where !after.contains(where: { $0.contact.uri.isEquivalent(to: binding.contact.uri) }) {
            let uri = binding.contact.uri.description
            events.append(RegInfoDocument.Contact(id: Self.watcherID(uri), uri: uri, state: .terminated, event: .unregistered, expires: 0))
        }
        return events
    }

    static func registrarBinding(_ record: BindingRecord) -> RegistrarBinding? {
        guard let contact = try? NameAddress(parsing: record.contactHeader, header: "Contact") else { return nil }
        return RegistrarBinding(
            contact: contact, callID: record.callID, cseq: record.cseq, expiresAt: record.expiresAt, path: record.path,
            receivedFrom: record.receivedFrom)
    }

    static func bindingRecord(_ binding: RegistrarBinding, addressOfRecord: String) -> BindingRecord {
        BindingRecord(
            addressOfRecord: addressOfRecord, contactURI: binding.contact.uri.description, contactHeader: binding.contact.description,
            callID: binding.callID, cseq: binding.cseq, expiresAt: binding.expiresAt, qValue: binding.qValue, path: binding.path,
            receivedFrom: binding.receivedFrom)
    }

    /// Removes bindings whose time has passed (RFC 3261 §10.3: a binding lasts until it expires).
    public func removeExpiredBindings() -> EventLoopFuture<Int> {
        let store = self.store
        let now = self.wallClock()
        return self.loop.makeFutureWithTask { try await store.removeExpiredBindings(now: now) }.map { removed in
            var byAOR = [String: [RegInfoDocument.Contact]]()
            for binding in removed {
                byAOR[binding.addressOfRecord, default: []].append(RegInfoDocument.Contact(
                    id: Self.watcherID(binding.contactURI), uri: binding.contactURI, state: .terminated, event: .expired, expires: 0))
            }
            for (aor, contacts) in byAOR { self.registrationChanged(aor: aor, contacts: contacts) }
            return removed.count
        }
    }

    /// RFC 3261 §20.17 Date: an RFC 1123 date in GMT.
    static func httpDate(seconds: Int64) -> String {
        let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let dayCount = Int(seconds / 86_400)
        let secondOfDay = Int(seconds % 86_400)
        // Civil-from-days (proleptic Gregorian), so no Foundation formatter on the hot path.
        let shifted = dayCount + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[dayCount % 7]), \(two(day)) \(months[month - 1]) \(year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}
