import Dispatch
import NIOCore
import SIPCore

/// A request a workload wants sent; `build` writes it with the branch, CSeq and (after a
/// challenge) credentials the driver chooses.
public struct LoadRequest: Sendable {
    public var method: String
    public var requestURI: String
    /// The digest username (the user part of From, To for REGISTER).
    public var user: String
    /// The workload's own key (a user or presentity index).
    public var key: Int
    public var cseq: Int
    public var build: @Sendable (_ branch: String, _ cseq: Int, _ authorization: String?) -> [UInt8]

    public init(
        method: String, requestURI: String, user: String, key: Int, cseq: Int,
        build: @escaping @Sendable (_ branch: String, _ cseq: Int, _ authorization: String?) -> [UInt8]
    ) {
        self.method = method
        self.requestURI = requestURI
        self.user = user
        self.key = key
        self.cseq = cseq
        self.build = build
    }
}

/// What a scenario sends and how it reacts: the driver (`RequestLoad`) owns pacing,
/// retransmission, challenges and measurement.
public protocol LoadWorkload: AnyObject {
    var name: String { get }
    /// The request for the `index`-th due slot, or nil to skip the slot (counted in `skipped`).
    func makeRequest(_ index: Int, transport: LoadTransport) -> LoadRequest?
    /// The final response to a request (nil: it timed out).
    func completed(_ request: LoadRequest, response: SIPResponse?, now: UInt64)
    /// A NOTIFY arrived; the driver has answered it with 200.
    func notified(_ request: SIPRequest, now: UInt64)
    /// Scenario-specific figures for the summary.
    var extraFigures: [String: Double] { get }
}

extension LoadWorkload {
    public func notified(_ request: SIPRequest, now: UInt64) {}
    public var extraFigures: [String: Double] { [:] }
}

/// Drives one workload over one transport at a constant offered rate (open loop), bounded in
/// count and time; latency runs from each request's due time to its final response.
public final class RequestLoad: @unchecked Sendable {
    // @unchecked: all mutable state is touched only on the transport's loop.
    struct Pending {
        var request: LoadRequest
        var dueAt: UInt64
        var sentAt: UInt64
        var bytes: [UInt8]
        var attempts = 0
        var nextResend: UInt64?
        var deadline: UInt64
        var answeredChallenge = false
    }

    public let workload: any LoadWorkload
    public let transport: LoadTransport
    public let rate: Double
    public let duration: Double
    public let maxRequests: Int?
    public let credentials: DigestCredentials?
    public private(set) var summary: LoadSummary
    public private(set) var skipped = 0
    let schedule: RetransmissionSchedule
    let clock: @Sendable () -> UInt64
    var pacer: OpenLoopPacer
    var pending: [String: Pending] = [:]
    var branchCounter = 0
    var index = 0
    var endsAt: UInt64 = 0
    var started = false
    var ticks = 0

    public init(
        workload: any LoadWorkload, transport: LoadTransport, rate: Double, duration: Double, maxRequests: Int? = nil,
        credentials: DigestCredentials? = nil, clock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    ) {
        self.workload = workload
        self.transport = transport
        self.rate = rate
        self.duration = duration
        self.maxRequests = maxRequests
        self.credentials = credentials
        self.clock = clock
        self.schedule = RetransmissionSchedule(reliable: transport.isReliable)
        self.summary = LoadSummary(scenario: workload.name, durationSeconds: duration)
        self.pacer = OpenLoopPacer(startNanoseconds: 0, ratePerSecond: rate)
        transport.onMessage = { [weak self] message in self?.handle(message) }
    }

    public var inFlight: Int { self.pending.count }

    /// Sending has ended (time or count) and every request has its answer or timed out.
    public var isFinished: Bool { self.started && self.sendingEnded && self.pending.isEmpty }

    var sendingEnded: Bool {
        self.clock() >= self.endsAt || (self.maxRequests.map { self.index >= $0 } ?? false)
    }

    /// Starts the 1 ms tick on the transport's loop.
    public func start() {
        self.transport.loop.execute {
            let now = self.clock()
            self.pacer = OpenLoopPacer(startNanoseconds: now, ratePerSecond: self.rate)
            self.endsAt = now + UInt64(self.duration * 1e9)
            self.started = true
            self.transport.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { task in
                self.ticks += 1
                self.tick(now: self.clock(), checkTimers: self.ticks % 10 == 0)
                if self.isFinished { task.cancel() }
            }
        }
    }

    func tick(now: UInt64, checkTimers: Bool) {
        if now < self.endsAt {
            for _ in 0..<self.pacer.due(now: now) {
                if let limit = self.maxRequests, self.index >= limit { break }
                let slot = self.index
                self.index += 1
                guard let request = self.workload.makeRequest(slot, transport: self.transport) else {
                    self.skipped += 1
                    continue
                }
                self.summary.attempted += 1
                self.send(request, dueAt: self.pacer.dueTime(of: slot), now: now, authorization: nil)
            }
        }
        if checkTimers { self.checkTimers(now: now) }
    }

    func send(_ request: LoadRequest, dueAt: UInt64, now: UInt64, authorization: String?, answeredChallenge: Bool = false) {
        self.branchCounter += 1
        let branch = "z9hG4bKhl\(self.transport.localPort)x\(self.branchCounter)"
        let bytes = request.build(branch, request.cseq, authorization)
        self.pending[branch] = Pending(
            request: request, dueAt: dueAt, sentAt: now, bytes: bytes, nextResend: self.schedule.retransmitAt(sentAt: now, attempt: 1),
            deadline: self.schedule.timeoutAt(sentAt: now), answeredChallenge: answeredChallenge)
        self.transport.send(bytes)
    }

    func checkTimers(now: UInt64) {
        for (branch, var entry) in self.pending {
            if now >= entry.deadline {
                self.pending[branch] = nil
                self.summary.timeouts += 1
                self.workload.completed(entry.request, response: nil, now: now)
                continue
            }
            if let resend = entry.nextResend, now >= resend {
                entry.attempts += 1
                entry.nextResend = self.schedule.retransmitAt(sentAt: entry.sentAt, attempt: entry.attempts + 1)
                self.pending[branch] = entry
                self.summary.retransmissions += 1
                self.transport.send(entry.bytes)
            }
        }
    }

    func handle(_ message: SIPMessage) {
        let now = self.clock()
        switch message {
        case .request(let request):
            guard request.method != .ack else { return }
            let response = SIPResponse(answering: request, statusCode: 200, toTag: nil)
            self.transport.send(SIPSerializer.serialize(response))
            if request.method == .notify { self.workload.notified(request, now: now) }
        case .response(let response):
            guard let branch = try? response.topVia().branch, var entry = self.pending[branch] else { return }
            if response.statusCode < 200 {
                // Proceeding (§17.1.2.2): resend at T2 only.
                entry.nextResend = self.schedule.reliable ? nil : now + self.schedule.t2Nanoseconds
                self.pending[branch] = entry
                return
            }
            self.pending[branch] = nil
            if !entry.answeredChallenge, let line = self.credentials?.authorizationLine(
                answering: response, username: entry.request.user, method: entry.request.method, uri: entry.request.requestURI,
                cnonce: "hl\(self.branchCounter)")
            {
                var request = entry.request
                request.cseq += 1
                self.send(request, dueAt: entry.dueAt, now: now, authorization: line, answeredChallenge: true)
                return
            }
            if (200..<300).contains(response.statusCode) {
                self.summary.completed += 1
                self.summary.latency.record(microseconds: Int64(clamping: (now &- entry.dueAt) / 1000))
            } else {
                self.summary.failuresByStatus[response.statusCode, default: 0] += 1
            }
            self.workload.completed(entry.request, response: response, now: now)
        }
    }

    /// The summary with the workload's own figures, and skipped slots.
    public func finalSummary() -> LoadSummary {
        var summary = self.summary
        summary.extra["skipped"] = Double(self.skipped)
        for (key, value) in self.workload.extraFigures { summary.extra[key] = value }
        return summary
    }
}
