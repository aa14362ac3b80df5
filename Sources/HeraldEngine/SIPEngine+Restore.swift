import HeraldStore
import NIOCore
import PresenceDocuments
import SIPCore
import SIPProtocol

extension SIPEngine {
    /// Continues what the store remembers after a (re)start: live subscriptions get their expiry
    /// timers back and keep their dialogs, with NOTIFY CSeqs above any used before; those that
    /// expired while the server was down are ended with a terminated NOTIFY (RFC 6665 §4.2.2),
    /// and so are those to a user removed meanwhile (reason "noresource"); publications get
    /// their expiry timers, expired ones are removed.
    public func restore() -> EventLoopFuture<(subscriptions: Int, publications: Int)> {
        let store = self.store
        let now = self.wallClock()
        let withAccounts = self.configuration.authMode == .digest
        return self.restorePresencePolicy().flatMap { _ in
            self.loop.makeFutureWithTask {
                () async throws -> ([SubscriptionRecord], [PublicationRecord], [PublicationRecord], Set<String>?) in
                let expired = try await store.removeExpiredPublications(now: now)
                let users = withAccounts ? Set(try await store.allUsers().map { $0.username + "@" + $0.domain }) : nil
                return (try await store.allSubscriptions(), try await store.allPublications(), expired, users)
            }
        }.map { subscriptions, publications, expired, users in
            for publication in publications {
                self.indexPublication(publication)
                self.publicationSequence = max(self.publicationSequence, publication.sequence)
                self.schedulePublicationExpiry(publication)
            }
            // Subscriptions that share a dialog (RFC 6665 §4.5.2) get it back as one, with CSeqs
            // above what any of them reserved.
            var dialogs: [String: SubscriptionDialog] = [:]
            // Where each restorable record's NOTIFYs go (nil: not restorable), parsed once; the
            // records themselves are not copied (100,000 of them are tens of megabytes).
            var destinations = subscriptions.map { record in
                EventPackage.stored(record.event) == nil ? nil : SIPDestination(storedForm: record.destination)
            }
            var dropped: [String] = []
            for (index, record) in subscriptions.enumerated() where destinations[index] != nil {
                // A pending one that had timed out, its final NOTIFY on its way, comes back to be
                // ended again and to wait (RFC 3857 §4.7.1); others that had ended do not.
                let timedOutPending = record.authorization == SubscriptionAuthorization.pending.rawValue && record.expiresAt <= now
                    && self.configuration.authorizationWait != nil
                if record.status == SubscriptionStatus.terminated.rawValue && !timedOutPending
                    || record.authorization == SubscriptionAuthorization.reject.rawValue
                {
                    destinations[index] = nil
                    dropped.append(record.id)
                } else if let dialog = dialogs[record.localTag] {
                    guard dialog.matches(localTag: record.localTag, callID: record.callID, remoteTag: record.remoteTag) else {
                        self.logger.warning("stored subscription in another dialog under the same tag: dropped", metadata: ["id": "\(record.id)"])
                        destinations[index] = nil
                        dropped.append(record.id)
                        continue
                    }
                    dialog.add(subscriptionID: record.id)
                    dialog.localCSeqReserved = max(dialog.localCSeqReserved, record.localCSeqReserved)
                    if record.remoteCSeq > dialog.remoteCSeq {
                        // The record written last by a request of the subscriber has the latest target.
                        dialog.remoteCSeq = record.remoteCSeq
                        dialog.updateRemoteTarget(record.remoteTarget)
                    }
                } else {
                    dialogs[record.localTag] = SubscriptionDialog(
                        fields: DialogFields(record: record), localCSeq: 0, localCSeqReserved: record.localCSeqReserved,
                        remoteCSeq: record.remoteCSeq, firstSubscriptionID: record.id)
                }
            }
            for dialog in dialogs.values { dialog.localCSeq = dialog.localCSeqReserved &+ 1 }
            for id in dropped { self.unsavedSubscriptions[id] = .some(nil) }
            self.flushSubscriptions()
            var live = 0
            var lists: [SubscriptionEntry] = []
            for (record, destination) in zip(subscriptions, destinations) {
                guard let destination, let package = EventPackage.stored(record.event), let dialog = dialogs[record.localTag] else {
                    continue
                }
                let isWatcherOfRules = package.kind == .presence && record.watcher != record.resource
                let authorization = SubscriptionAuthorization(rawValue: record.authorization) ?? .pending
                let remaining = record.expiresAt - now
                let wait = self.configuration.authorizationWait
                let isWaiting = record.status == SubscriptionEntry.waitingStatus
                var machine = NotifierSubscription(
                    authorization: authorization, expiresAt: self.instant + .seconds(max(0, remaining)), authorizationWait: wait)
                var waitingActions: [NotifierSubscription.Action] = [.remove]
                if isWaiting, let wait {
                    // A waiting watcher's stored expiry is the time it is given up.
                    (machine, waitingActions) = NotifierSubscription.waiting(
                        authorization: authorization, authorizationWait: wait, givenUpAt: self.instant + .seconds(max(0, remaining)))
                }
                let (resource, resourceURI) = self.sharedResourceStrings(
                    event: package.key, resource: record.resource, resourceURI: record.resourceURI)
                let entry = SubscriptionEntry(
                    id: record.id, eventID: record.eventID, resource: resource, resourceURI: resourceURI, expiresAt: record.expiresAt,
                    createdAt: record.createdAt, dialog: dialog, machine: machine, package: package, destination: destination)
                self.dialogs[SubscriptionDialog.key(localTag: record.localTag)] = dialog
                entry.needsFullState = true
                entry.usesCPIMPIDF = record.notifyContentType == CPIMPIDF.contentType
                // The winfo event is not stored; the authorization gives the one it had at creation.
                entry.lastWatcherEvent = Self.watcherEvent(from: .pending, to: authorization)
                if package.kind == .watcherInfo || package.kind == .registration {
                    // RFC 3858 §4 / RFC 3680 §5.2: a subscriber ignores a document whose version
                    // is not above the last it saw. Versions are not stored, but each went out in
                    // its own NOTIFY, so every one sent is below the reserved CSeq.
                    entry.watcherInfoVersion = Int(clamping: dialog.localCSeqReserved)
                }
                if isWatcherOfRules {
                    // What the rules show this watcher is derived again from the rules loaded above.
                    let host = (try? SIPURI(parsing: record.watcher))?.hostKey ?? ""
                    entry.watcherAuthenticated = self.configuration.authMode == .none || self.identity.domains.contains(host)
                    entry.transformations = self.presenceDecision(
                        resource: record.resource, watcher: record.watcher, authenticated: entry.watcherAuthenticated)?.1
                }
                self.subscriptions[record.id] = entry
                self.subscriptionsByResource[Self.resourceKey(package.key, entry.resource), default: []].insert(entry.id)
                var resourceGone = users.map { users in
                    (try? SIPURI(parsing: record.resource)).map { !users.contains(($0.unescapedUser ?? "") + "@" + $0.hostKey) } ?? false
                } ?? false
                if package.kind == .resourceList {
                    // The list's members are resolved again below, from the documents loaded
                    // above; RLMI versions go on above any sent (one per NOTIFY, like winfo's).
                    entry.resourceList = ResourceListSubscription(version: Int(clamping: dialog.localCSeqReserved))
                    // (Its resource is the service, which may name no user: only the service counts.)
                    resourceGone = self.presencePolicy.services[record.resource]?.owner != record.watcher
                }
                if resourceGone {
                    entry.lastWatcherEvent = .noresource
                    self.apply(isWaiting ? [.remove] : entry.machine.terminate(reason: .noresource, now: self.instant), to: entry, transaction: nil)
                } else if isWaiting {
                    entry.lastWatcherEvent = .timeout
                    self.apply(waitingActions, to: entry, transaction: nil)
                    if self.subscriptions[entry.id] === entry, entry.machine.isWaiting { self.countWaiting(entry) }
                } else if remaining <= 0 {
                    entry.lastWatcherEvent = .timeout
                    self.apply(entry.machine.expire(now: self.instant), to: entry, transaction: nil)
                } else {
                    live += 1
                    // A pending watcher's wait counts from its SUBSCRIBE (the time it became
                    // pending is not stored).
                    let waitEnds = wait.map { self.instant + .seconds(record.createdAt - now) + $0 }
                    self.apply(entry.machine.resume(authorizationDeadline: waitEnds), to: entry, transaction: nil)
                    if package.kind == .resourceList { lists.append(entry) }
                }
            }
            // Once every subscription is back: the members' winfo lists the back-end
            // subscriptions from here on (a full document builds them from the index).
            for list in lists { self.refreshList(list, notify: false, reportWatchers: false) }
            // State that expired while the server was down has left the composition: tell the
            // watchers who last saw it (RFC 3903 §6 step 8).
            var changed = Set<String>()
            for publication in expired where changed.insert(Self.resourceKey(publication.event, publication.resource)).inserted {
                self.resourceStateChanged(event: publication.event, resource: publication.resource)
            }
            self.logger.info("restored state", metadata: ["subscriptions": "\(live)", "publications": "\(publications.count)"])
            return (live, publications.count)
        }
    }

    public var activeSubscriptionCount: Int {
        self.loop.preconditionInEventLoop()
        return self.subscriptions.values.count { !$0.machine.isWaiting }
    }
}
