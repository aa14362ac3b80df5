import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import HeraldLoadKit
import SIPCore

/// PUBLISH→NOTIFY fan-out: P presentities with W watchers each; PUBLISH (modify) at a constant
/// total rate; latency from a PUBLISH's send time, carried in its body, to each NOTIFY carrying it.
final class FanoutScenario: @unchecked Sendable {
    // @unchecked: every mutable property is touched only on `loop`.
    struct Options {
        var target: SocketAddress
        var domain: String
        var presentities: Int
        var watchers: Int
        var rate: Double
        var duration: Double
        var transport: LoadTransport.Kind = .udp
        /// Every load user's password: 401/407 challenges are answered (RFC 7616) when set.
        var password: String?
    }

    let options: Options
    let loop: any EventLoop
    var watcherChannel: (any Channel)?
    var publisherChannel: (any Channel)?
    var subscribed = 0
    var firstNotifies = Set<String>()
    var entityTags: [Int: String] = [:]
    /// PUBLISHes awaiting their final response, by Call-ID: resent over UDP on RFC 3261's
    /// Timer E schedule and given up at Timer F (a lost one would otherwise hold its
    /// presentity, and every later PUBLISH for it would be skipped).
    struct InFlightPublish {
        var presentity: Int
        var sent: UInt64
        var text: String
        var attempts = 0
        var nextResend: UInt64?
        /// When the current request went out (the first send, or the answer to a challenge).
        var base: UInt64 = 0
    }
    var inFlightPublish: [String: InFlightPublish] = [:]
    var retransmission: RetransmissionSchedule { RetransmissionSchedule(reliable: self.options.transport == .tcp) }
    var retransmissions = 0
    var timeouts = 0
    var latencies = LatencyHistogram()
    var notifies = 0
    var publishSent = 0
    var publishOK = 0
    var publishSkipped = 0
    var failures: [Int: Int] = [:]
    var measuring = false
    var branchCounter = 0

    init(options: Options, loop: any EventLoop) {
        self.options = options
        self.loop = loop
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func bind() async throws {
        for isWatcher in [true, false] {
            // The channel lives on `loop`, so its reads arrive where the scenario's state is.
            let read: @Sendable ([UInt8], SocketAddress) -> Void = { [self] bytes, source in
                self.received(bytes, from: source, watcherSide: isWatcher)
            }
            let readComplete: @Sendable () -> Void = { [self] in self.flushAnswers() }
            let channel: any Channel
            switch self.options.transport {
            case .udp:
                channel = try await DatagramBootstrap(group: self.loop)
                    .channelOption(.socketOption(.so_rcvbuf), value: 8 << 20)
                    .channelOption(.socketOption(.so_sndbuf), value: 8 << 20)
                    // Up to 32 datagrams per recvmmsg, each in a 16 KiB slot (a NOTIFY is ~1 KiB).
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 32 * 16_384))
                    .channelOption(.datagramVectorReadMessageCount, value: 32)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let handler = DatagramCallbackHandler(
                                read: { envelope in
                                    var data = envelope.data
                                    read(data.readBytes(length: data.readableBytes) ?? [], envelope.remoteAddress)
                                },
                                readComplete: readComplete)
                            try channel.pipeline.syncOperations.addHandler(handler)
                        }
                    }
                    .bind(host: "127.0.0.1", port: 0).get()
            case .tcp:
                // One connection for all watchers and one for the publishers, as behind an edge
                // proxy; the server sends each watcher's NOTIFYs back over the watchers' one.
                let target = self.options.target
                channel = try await ClientBootstrap(group: self.loop)
                    .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                StreamCallbackHandler(read: { read($0, target) }, readComplete: readComplete))
                        }
                    }
                    .connect(to: target).get()
            }
            if isWatcher { self.watcherChannel = channel } else { self.publisherChannel = channel }
        }
    }

    /// Via's transport token and the Contact parameter for the chosen transport.
    var viaTransport: String { self.options.transport.viaToken }
    var contactSuffix: String { self.options.transport == .tcp ? ";transport=tcp" : "" }

    /// Queues `bytes` to the server on `channel` (a datagram to it, or the stream's bytes).
    func write(_ bytes: [UInt8], to address: SocketAddress, on channel: any Channel) {
        let buffer = channel.allocator.buffer(bytes: bytes)
        switch self.options.transport {
        case .udp: channel.write(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
        case .tcp: channel.write(buffer, promise: nil)
        }
    }

    /// Answers to NOTIFYs are queued while a batch of datagrams is read and leave together
    /// (one sendmmsg) when the batch ends.
    var answersQueued = false

    func flushAnswers() {
        guard self.answersQueued else { return }
        self.answersQueued = false
        self.watcherChannel?.flush()
    }

    var watcherPort: Int { self.watcherChannel?.localAddress?.port ?? 0 }
    var publisherPort: Int { self.publisherChannel?.localAddress?.port ?? 0 }

    func nextBranch() -> String {
        self.branchCounter += 1
        return "z9hG4bKload\(self.branchCounter)"
    }

    func send(_ text: String, on channel: (any Channel)?) {
        guard let channel else { return }
        self.write(Array(text.utf8), to: self.options.target, on: channel)
        channel.flush()
    }

    func presentityURI(_ index: Int) -> String { "sip:load-p\(index)@\(self.options.domain)" }

    // MARK: Setup

    /// CSeqs that tell the answers apart: a new subscription's SUBSCRIBE, its un-SUBSCRIBE, and
    /// one more for each after a challenge.
    static let subscribeCSeq = 1
    static let unsubscribeCSeq = 10

    /// A SUBSCRIBE from watcher `watcher` of `presentity`: a new dialog, or in it with `toTag`.
    func subscribeText(presentity: Int, watcher: Int, cseq: Int, toTag: String?, expires: Int, authorization: String? = nil) -> String {
        let uri = self.presentityURI(presentity)
        var text = "SUBSCRIBE \(uri) SIP/2.0\r\nVia: SIP/2.0/\(self.viaTransport) 127.0.0.1:\(self.watcherPort);rport;branch=\(self.nextBranch())\r\n"
            + "From: <sip:\(Self.watcherUser(presentity, watcher))@\(self.options.domain)>;tag=w\(presentity)-\(watcher)\r\n"
            + "To: <\(uri)>\(toTag.map { ";tag=\($0)" } ?? "")\r\n"
            + "Call-ID: sub-\(presentity)-\(watcher)\r\nCSeq: \(cseq) SUBSCRIBE\r\nMax-Forwards: 70\r\nEvent: presence\r\n"
            + "Contact: <sip:w@127.0.0.1:\(self.watcherPort)\(self.contactSuffix)>\r\nExpires: \(expires)\r\n"
        if let authorization { text += authorization + "\r\n" }
        return text + "Content-Length: 0\r\n\r\n"
    }

    static func watcherUser(_ presentity: Int, _ watcher: Int) -> String { "load-w\(presentity)-\(watcher)" }

    /// The Authorization or Proxy-Authorization line answering `challenge` (401 or 407), or nil
    /// without a password or a usable challenge.
    func credentials(answering challenge: SIPResponse, user: String, method: String, uri: String) -> String? {
        guard let password = self.options.password else { return nil }
        self.branchCounter += 1
        return DigestCredentials(password: password).authorizationLine(
            answering: challenge, username: user, method: method, uri: uri, cnonce: "fo\(self.branchCounter)")
    }

    /// SUBSCRIBEs not yet answered, by Call-ID, with their text and tries (UDP needs retransmission).
    var pendingSubscribes: [String: (text: String, tries: Int)] = [:]
    var subscribeQueue: [(String, String)] = []

    /// Sends every SUBSCRIBE at a paced rate, retransmitting unanswered ones every second.
    func subscribeAll(ratePerSecond: Int = 2_000) {
        for presentity in 0..<self.options.presentities {
            for watcher in 0..<self.options.watchers {
                let text = self.subscribeText(presentity: presentity, watcher: watcher, cseq: Self.subscribeCSeq, toTag: nil, expires: 3600)
                self.subscribeQueue.append(("sub-\(presentity)-\(watcher)", text))
            }
        }
        let perTick = max(1, ratePerSecond / 100)
        self.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(10)) { [self] task in
            for _ in 0..<perTick {
                guard !self.subscribeQueue.isEmpty else { break }
                let (callID, text) = self.subscribeQueue.removeFirst()
                self.pendingSubscribes[callID] = (text, 1)
                self.send(text, on: self.watcherChannel)
            }
            if self.subscribeQueue.isEmpty && self.pendingSubscribes.isEmpty { task.cancel() }
        }
        self.loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] task in
            // Over TCP nothing is resent (RFC 3261 §17.1.2.2 resends over unreliable transports only).
            for (callID, pending) in self.pendingSubscribes where pending.tries < 8 && self.options.transport == .udp {
                self.pendingSubscribes[callID] = (pending.text, pending.tries + 1)
                self.send(pending.text, on: self.watcherChannel)
            }
            if self.subscribeQueue.isEmpty && self.pendingSubscribes.isEmpty { task.cancel() }
        }
    }

    /// A final answer to a SUBSCRIBE (CSeq 1, or 2 after a challenge) or an un-SUBSCRIBE (10, 11).
    func subscribeAnswered(_ response: SIPResponse, callID: String, cseq: Int) {
        let indices = callID.dropFirst(4).split(separator: "-").compactMap { Int($0) }
        let unsubscribing = cseq >= Self.unsubscribeCSeq
        if indices.count == 2, cseq == (unsubscribing ? Self.unsubscribeCSeq : Self.subscribeCSeq),
            let line = self.credentials(
                answering: response, user: Self.watcherUser(indices[0], indices[1]), method: "SUBSCRIBE", uri: self.presentityURI(indices[0]))
        {
            let text = self.subscribeText(
                presentity: indices[0], watcher: indices[1], cseq: cseq + 1, toTag: unsubscribing ? self.dialogTags[callID] : nil,
                expires: unsubscribing ? 0 : 3600, authorization: line)
            if unsubscribing {
                self.pendingUnsubscribes[callID] = text
            } else if let pending = self.pendingSubscribes[callID] {
                self.pendingSubscribes[callID] = (text, pending.tries)
            }
            self.send(text, on: self.watcherChannel)
            return
        }
        if unsubscribing {
            self.pendingUnsubscribes[callID] = nil
            return
        }
        if response.statusCode < 300, let tag = try? response.to().tag { self.dialogTags[callID] = tag }
        if self.pendingSubscribes.removeValue(forKey: callID) != nil {
            if response.statusCode < 300 { self.subscribed += 1 } else { self.failures[response.statusCode, default: 0] += 1 }
        }
    }

    /// The To tag each watcher's dialog got, by Call-ID (for ending the subscriptions).
    var dialogTags: [String: String] = [:]
    /// Un-SUBSCRIBEs not yet answered, by Call-ID, and those not yet sent.
    var pendingUnsubscribes: [String: String] = [:]
    var unsubscribeQueue: [(String, String)] = []

    /// Ends every subscription this run opened (SUBSCRIBE with Expires: 0 in its dialog, RFC 6665
    /// §4.1.2.3), so that a following run does not find them still alive and the server does
    /// not keep sending NOTIFYs to a port nobody reads. Paced like the setup, not retransmitted:
    /// a lost one only leaves a subscription to expire.
    func unsubscribeAll(ratePerSecond: Int = 2_000) {
        for presentity in 0..<self.options.presentities {
            for watcher in 0..<self.options.watchers {
                let callID = "sub-\(presentity)-\(watcher)"
                guard let tag = self.dialogTags[callID] else { continue }
                let text = self.subscribeText(presentity: presentity, watcher: watcher, cseq: Self.unsubscribeCSeq, toTag: tag, expires: 0)
                self.unsubscribeQueue.append((callID, text))
            }
        }
        let perTick = max(1, ratePerSecond / 100)
        self.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(10)) { [self] task in
            for _ in 0..<perTick {
                guard !self.unsubscribeQueue.isEmpty else { break }
                let (callID, text) = self.unsubscribeQueue.removeFirst()
                self.pendingUnsubscribes[callID] = text
                self.send(text, on: self.watcherChannel)
            }
            if self.unsubscribeQueue.isEmpty { task.cancel() }
        }
    }

    func publish(_ presentity: Int) {
        let sent = Self.now()
        let callID = "pub-\(presentity)-\(sent)"
        let text = self.publishText(presentity: presentity, sent: sent, callID: callID, cseq: 1)
        self.inFlightPublish[callID] = InFlightPublish(
            presentity: presentity, sent: sent, text: text, nextResend: self.retransmission.retransmitAt(sentAt: sent, attempt: 1), base: sent)
        self.publishing.insert(presentity)
        self.publishSent += 1
        self.send(text, on: self.publisherChannel)
    }

    /// A PUBLISH (modify when an entity-tag is known) whose PIDF carries `sent` as `ts-<ns>`.
    func publishText(presentity: Int, sent: UInt64, callID: String, cseq: Int, authorization: String? = nil) -> String {
        let uri = self.presentityURI(presentity)
        let body = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"\(uri)\"><tuple id=\"t\"><status><basic>open</basic></status><note>ts-\(sent)</note></tuple></presence>"
        var text = "PUBLISH \(uri) SIP/2.0\r\nVia: SIP/2.0/\(self.viaTransport) 127.0.0.1:\(self.publisherPort);rport;branch=\(self.nextBranch())\r\n"
            + "From: <\(uri)>;tag=p\(presentity)\r\nTo: <\(uri)>\r\nCall-ID: \(callID)\r\nCSeq: \(cseq) PUBLISH\r\nMax-Forwards: 70\r\n"
            + "Event: presence\r\nExpires: 3600\r\nContent-Type: application/pidf+xml\r\n"
        if let tag = self.entityTags[presentity] { text += "SIP-If-Match: \(tag)\r\n" }
        if let authorization { text += authorization + "\r\n" }
        text += "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        return text
    }

    var nextPresentity = 0
    var pacer = OpenLoopPacer(startNanoseconds: 0, ratePerSecond: 1)

    /// Starts the open-loop PUBLISH schedule: every millisecond, send what is due.
    func startPublishing() {
        self.measuring = true
        self.pacer = OpenLoopPacer(startNanoseconds: Self.now(), ratePerSecond: self.options.rate)
        let end = Self.now() + UInt64(self.options.duration * 1e9)
        self.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { [self] task in
            let now = Self.now()
            guard now < end else {
                task.cancel()
                return
            }
            for _ in 0..<self.pacer.due(now: now) {
                let presentity = self.nextPresentity % self.options.presentities
                self.nextPresentity += 1
                // One PUBLISH per presentity at a time: the next needs the entity-tag of the last.
                if self.publishing.contains(presentity) {
                    self.publishSkipped += 1
                } else {
                    self.publish(presentity)
                }
            }
        }
        self.loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { [self] task in
            let now = Self.now()
            self.checkPublishTimers(now: now)
            if now >= end && self.inFlightPublish.isEmpty { task.cancel() }
        }
    }

    var publishing: Set<Int> = []

    /// Resends unanswered PUBLISHes that are due and gives up on those past Timer F.
    func checkPublishTimers(now: UInt64) {
        for (callID, var publish) in self.inFlightPublish {
            if now >= self.retransmission.timeoutAt(sentAt: publish.base) {
                self.inFlightPublish[callID] = nil
                self.publishing.remove(publish.presentity)
                self.timeouts += 1
            } else if let due = publish.nextResend, now >= due {
                publish.attempts += 1
                publish.nextResend = self.retransmission.retransmitAt(sentAt: publish.base, attempt: publish.attempts + 1)
                self.inFlightPublish[callID] = publish
                self.retransmissions += 1
                self.send(publish.text, on: self.publisherChannel)
            }
        }
    }

    /// A NOTIFY: answered with a 200 copied from its bytes, and its latency taken from the
    /// PUBLISH's send time that herald-load put in the PIDF (`ts-<nanoseconds>`).
    func notified(_ answer: RawAnswer, bytes: [UInt8], from address: SocketAddress) {
        if let channel = self.watcherChannel {
            self.write(answer.response, to: address, on: channel)
            self.answersQueued = true
        }
        guard self.measuring else {
            self.firstNotifies.insert(String(decoding: answer.callID, as: UTF8.self))
            return
        }
        self.notifies += 1
        let now = Self.now()
        // A marker the server mangled could name a time still to come: not a latency.
        if let sent = Self.timestamp(in: bytes, from: answer.bodyStart), sent <= now {
            self.latencies.record(microseconds: Int64(clamping: (now - sent) / 1000))
        }
    }

    /// The number after the first `ts-` at or after `start` (a plain scan: the generic
    /// `firstRange(of:)` was the load generator's largest cost).
    static func timestamp(in bytes: [UInt8], from start: Int) -> UInt64? {
        let t = UInt8(ascii: "t"), s = UInt8(ascii: "s"), dash = UInt8(ascii: "-")
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == t, bytes[index + 1] == s, bytes[index + 2] == dash {
                var sent: UInt64 = 0
                var digit = index + 3
                while digit < bytes.count, bytes[digit] >= 48, bytes[digit] <= 57 {
                    sent = sent &* 10 &+ UInt64(bytes[digit] - 48)
                    digit += 1
                }
                return digit > index + 3 ? sent : nil
            }
            index += 1
        }
        return nil
    }

    // MARK: Receiving

    func received(_ bytes: [UInt8], from address: SocketAddress, watcherSide: Bool) {
        if watcherSide, let answer = RawAnswer.answering(bytes), answer.method.elementsEqual("NOTIFY".utf8) {
            self.notified(answer, bytes: bytes, from: address)
            return
        }
        guard let message = try? SIPMessageParser.parse(bytes) else { return }
        switch message {
        case .request(let request) where request.method == .notify:
            // A NOTIFY the byte-level answer refused (say, a missing header that the parser
            // tolerates): still answered, so the server does not retransmit it.
            let response = SIPResponse(answering: request, statusCode: 200, toTag: nil)
            if let channel = self.watcherChannel {
                self.write(SIPSerializer.serialize(response), to: address, on: channel)
                self.answersQueued = true
            }
            if let callID = request.callID, !self.measuring { self.firstNotifies.insert(callID) }
        case .response(let response):
            guard let callID = response.callID, response.statusCode >= 200 else { return }
            let cseq = (try? response.cseq())?.sequenceNumber ?? 0
            if callID.hasPrefix("sub-") {
                self.subscribeAnswered(response, callID: callID, cseq: Int(cseq))
            } else if var publish = self.inFlightPublish[callID] {
                if cseq == 1, let line = self.credentials(
                    answering: response, user: "load-p\(publish.presentity)", method: "PUBLISH", uri: self.presentityURI(publish.presentity))
                {
                    // Challenged: the same publication again with credentials (latency still
                    // counts from the first send).
                    let now = Self.now()
                    publish.text = self.publishText(presentity: publish.presentity, sent: publish.sent, callID: callID, cseq: 2, authorization: line)
                    publish.base = now
                    publish.attempts = 0
                    publish.nextResend = self.retransmission.retransmitAt(sentAt: now, attempt: 1)
                    self.inFlightPublish[callID] = publish
                    self.send(publish.text, on: self.publisherChannel)
                    return
                }
                self.inFlightPublish[callID] = nil
                self.publishing.remove(publish.presentity)
                if response.statusCode == 200 {
                    self.publishOK += 1
                    if let tag = response.headers["SIP-ETag"] { self.entityTags[publish.presentity] = tag }
                } else {
                    self.failures[response.statusCode, default: 0] += 1
                    if response.statusCode == 412 { self.entityTags[publish.presentity] = nil }
                }
            }
        default:
            break
        }
    }
}

/// A SIP stream's messages, framed (RFC 3261 §18.3), handed on with the end of each read.
final class StreamCallbackHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let read: ([UInt8]) -> Void
    let readComplete: () -> Void
    var framer = SIPStreamFramer()
    init(read: @escaping ([UInt8]) -> Void, readComplete: @escaping () -> Void) {
        self.read = read
        self.readComplete = readComplete
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = Self.unwrapInboundIn(data)
        self.framer.append(buffer.readBytes(length: buffer.readableBytes) ?? [])
        while let frame = try? self.framer.next() {
            if case .message(let bytes) = frame { self.read(bytes) }
        }
    }
    func channelReadComplete(context: ChannelHandlerContext) {
        self.readComplete()
        context.fireChannelReadComplete()
    }
}

final class DatagramCallbackHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let read: (AddressedEnvelope<ByteBuffer>) -> Void
    let readComplete: () -> Void
    init(read: @escaping (AddressedEnvelope<ByteBuffer>) -> Void, readComplete: @escaping () -> Void) {
        self.read = read
        self.readComplete = readComplete
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { self.read(Self.unwrapInboundIn(data)) }
    func channelReadComplete(context: ChannelHandlerContext) {
        self.readComplete()
        context.fireChannelReadComplete()
    }
}
