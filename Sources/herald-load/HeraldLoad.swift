import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import HeraldLoadKit

@main
struct HeraldLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-load",
        abstract: "Loads a SIP presence server on loopback and measures it.",
        subcommands: [Register.self, Publish.self, Subscribe.self, Fanout.self, Mixed.self])
}

/// Options every request scenario shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Server address (loopback only).") var target = "127.0.0.1:5060"
    @Option(help: "udp or tcp.") var transport = "udp"
    @Option(help: "Domain of the load users.") var domain = "example.com"
    @Option(help: "Requests per second offered (open loop).") var rate = 100.0
    @Option(help: "Seconds of sending (at most 600).") var duration = 10.0
    @Option(help: "Send at most this many requests.") var count: Int?
    @Option(help: "Password of every load user: answers 401/407 challenges with digest.") var password: String?
    @Option(help: "Write the summary as JSON to this file.") var json: String?
    @Option(help: "Seconds to wait for answers after sending ends (at most 60).") var drain = 10.0
    @Option(name: .customLong("server-pid"), help: "Report the server's resident memory before and after the run.") var serverPID: Int32?

    func validatedTarget() throws -> (SocketAddress, LoadTransport.Kind) {
        guard let colon = self.target.lastIndex(of: ":"), let port = Int(self.target[self.target.index(after: colon)...]) else {
            throw ValidationError("--target must be HOST:PORT")
        }
        let host = String(self.target[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let address = try SocketAddress(ipAddress: host, port: port)
        guard LoadTransport.isLoopback(address) else { throw ValidationError("herald-load only targets loopback addresses") }
        guard let kind = LoadTransport.Kind(rawValue: self.transport.lowercased()) else { throw ValidationError("--transport is udp or tcp") }
        guard self.duration > 0, self.duration <= 600, self.rate > 0, self.rate <= 200_000, self.drain >= 0, self.drain <= 60 else {
            throw ValidationError("runs are bounded: 0 < duration ≤ 600 s, 0 < rate ≤ 200000/s, drain ≤ 60 s")
        }
        return (address, kind)
    }
}

/// Runs request workloads side by side (one socket each), prints a progress line a second and
/// the summaries at the end.
func runLoads(_ options: CommonOptions, _ workloads: [(any LoadWorkload, Double)]) async throws {
    let (target, kind) = try options.validatedTarget()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let loop = group.next()
    var opened: [RequestLoad] = []
    for (workload, share) in workloads {
        let transport = try await LoadTransport.open(kind: kind, target: target, loop: loop)
        opened.append(RequestLoad(
            workload: workload, transport: transport, rate: options.rate * share, duration: options.duration,
            maxRequests: options.count.map { max(1, Int((Double($0) * share).rounded())) },
            credentials: options.password.map(DigestCredentials.init(password:))))
    }
    let loads = opened
    let memoryBefore = options.serverPID.flatMap(residentKiB)
    for load in loads { load.start() }
    let deadline = Date().addingTimeInterval(options.duration + options.drain)
    var elapsed = 0
    while Date() < deadline {
        try await Task.sleep(for: .seconds(1))
        elapsed += 1
        let seconds = elapsed
        let (lines, finished) = try await loop.submit {
            (loads.map { "[\($0.workload.name)] " + $0.summary.progressLine(elapsed: seconds, inFlight: $0.inFlight) },
             loads.allSatisfy(\.isFinished))
        }.get()
        FileHandle.standardError.write(Data((lines.joined(separator: "  ") + "\n").utf8))
        if finished { break }
    }
    var summaries = try await loop.submit { loads.map { $0.finalSummary() } }.get()
    if let before = memoryBefore, let after = options.serverPID.flatMap(residentKiB), !summaries.isEmpty {
        summaries[0].extra["server_rss_kib_before"] = Double(before)
        summaries[0].extra["server_rss_kib_after"] = Double(after)
        let completed = summaries.reduce(0) { $0 + $1.completed }
        if completed > 0 { summaries[0].extra["server_bytes_per_completed_request"] = Double(after - before) * 1024 / Double(completed) }
    }
    for summary in summaries { print(summary.table + "\n") }
    if let json = options.json {
        let objects = try summaries.map { try JSONSerialization.jsonObject(with: $0.json()) }
        let data = try JSONSerialization.data(withJSONObject: objects.count == 1 ? objects[0] : objects, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: json))
    }
    for load in loads { await load.transport.close() }
    try await group.shutdownGracefully()
}

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "N users refresh their registrations at a constant rate.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Number of users (load-u0 … load-uN-1).") var users = 100

    func run() async throws {
        try await runLoads(self.options, [(RegisterWorkload(users: self.users, domain: self.options.domain), 1)])
    }
}

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "N presentities PUBLISH at a constant rate: initial, then refresh or modify.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Number of presentities (load-p0 …).") var presentities = 100
    @Option(name: .customLong("modify-ratio"), help: "Share of later PUBLISHes that change the state (the rest refresh).") var modifyRatio = 0.5

    func run() async throws {
        try await runLoads(
            self.options, [(PublishWorkload(presentities: self.presentities, domain: self.options.domain, modifyRatio: self.modifyRatio), 1)])
    }
}

struct Subscribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open N presence subscriptions at a constant rate and hold them, answering NOTIFYs.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Subscriptions to open (load-w0 …).") var subscriptions = 1000
    @Option(help: "Presentities they watch (load-p0 …).") var presentities = 100
    @Option(help: "Expires of each subscription.") var expires = 600

    func run() async throws {
        var options = self.options
        if options.count == nil { options.count = self.subscriptions }
        try await runLoads(
            options,
            [(SubscribeWorkload(subscriptions: self.subscriptions, presentities: self.presentities, domain: options.domain, expires: self.expires), 1)])
    }
}

struct Mixed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "register, publish and subscribe together: 20 % REGISTER, 50 % PUBLISH, 30 % SUBSCRIBE of --rate.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Users, presentities and watchers of each kind.") var population = 100

    func run() async throws {
        let domain = self.options.domain
        try await runLoads(self.options, [
            (RegisterWorkload(users: self.population, domain: domain), 0.2),
            (PublishWorkload(presentities: self.population, domain: domain), 0.5),
            (SubscribeWorkload(subscriptions: Int.max / 4, presentities: self.population, domain: domain), 0.3),
        ])
    }
}

struct Fanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "P presentities × W watchers; PUBLISH at a constant rate; PUBLISH-to-NOTIFY latency at every watcher.")

    @Option(help: "Server address (loopback only).") var target = "127.0.0.1:5060"
    @Option(help: "Domain of the load users.") var domain = "example.com"
    @Option(help: "Number of presentities.") var presentities = 10
    @Option(help: "Watchers per presentity.") var watchers = 10
    @Option(help: "PUBLISH requests per second, all presentities together.") var rate = 100.0
    @Option(help: "Seconds of publishing.") var duration = 10.0
    @Option(help: "udp or tcp (over TCP, one connection for the watchers and one for the publishers).") var transport = "udp"
    @Option(help: "Password of every load user (load-pN publishers, load-wN-M watchers): answers digest challenges.") var password: String?
    @Option(name: .customLong("server-pid"), help: "Report the server's resident memory per subscription and CPU per PUBLISH.") var serverPID: Int32?
    @Option(help: "Write the summary as JSON to this file.") var json: String?
    @Option(help: "Seconds to wait after subscribing before measuring memory (RFC 3261 Timer J keeps each SUBSCRIBE's transaction for 32 s).")
    var settle = 1.0

    func run() async throws {
        guard let colon = self.target.lastIndex(of: ":"), let port = Int(self.target[self.target.index(after: colon)...]) else {
            throw ValidationError("--target must be HOST:PORT")
        }
        let host = String(self.target[..<colon])
        guard host.hasPrefix("127.") || host == "::1" || host == "[::1]" else {
            throw ValidationError("herald-load only targets loopback addresses")
        }
        guard self.duration > 0, self.duration <= 600, self.rate > 0, self.presentities * self.watchers <= 200_000 else {
            throw ValidationError("runs are bounded: duration ≤ 600 s, presentities × watchers ≤ 200000")
        }
        guard let kind = LoadTransport.Kind(rawValue: self.transport.lowercased()) else { throw ValidationError("--transport is udp or tcp") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let scenario = FanoutScenario(
            options: .init(
                target: try SocketAddress(ipAddress: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: port),
                domain: self.domain, presentities: self.presentities, watchers: self.watchers, rate: self.rate, duration: self.duration,
                transport: kind, password: self.password),
            loop: loop)
        try await scenario.bind()
        let memoryBefore = self.serverPID.flatMap(residentKiB)
        let total = self.presentities * self.watchers
        // Subscribe in paced batches so the socket buffers never overflow.
        let subscribeStart = FanoutScenario.now()
        try await loop.submit { scenario.subscribeAll() }.get()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let (done, notified, unanswered) = try await loop.submit {
                (scenario.subscribed, scenario.firstNotifies.count, scenario.subscribeQueue.count + scenario.pendingSubscribes.count)
            }.get()
            if done >= total && notified >= total { break }
            // Every SUBSCRIBE answered, some refused: wait only for the accepted ones' first NOTIFYs.
            if unanswered == 0 && notified >= done { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let setupSeconds = Double(FanoutScenario.now() - subscribeStart) / 1e9
        let (subscribed, notified) = try await loop.submit { (scenario.subscribed, scenario.firstNotifies.count) }.get()
        FileHandle.standardError.write(Data("subscribed \(subscribed)/\(total), first NOTIFYs \(notified) in \(String(format: "%.1f", setupSeconds)) s\n".utf8))
        try await Task.sleep(for: .seconds(max(0, min(self.settle, 120))))
        let memoryAfter = self.serverPID.flatMap(residentKiB)

        let cpuBefore = self.serverPID.flatMap(cpuSeconds)
        try await loop.submit { scenario.startPublishing() }.get()
        var elapsed = 0.0
        while elapsed < self.duration + 2 {
            try await Task.sleep(for: .seconds(1))
            elapsed += 1
            let seconds = Int(elapsed)
            let line = try await loop.submit {
                "t=\(seconds)s publish sent=\(scenario.publishSent) ok=\(scenario.publishOK) notifies=\(scenario.notifies)\n"
            }.get()
            FileHandle.standardError.write(Data(line.utf8))
        }
        let cpuAfter = self.serverPID.flatMap(cpuSeconds)
        let summary = try await loop.submit { () -> [String: Double] in
            let attempted = scenario.publishSent + scenario.publishSkipped
            var result: [String: Double] = [
                "presentities": Double(self.presentities), "watchers_per_presentity": Double(self.watchers),
                "offered_publish_per_s": self.rate, "duration_s": self.duration,
                "publish_sent_per_s": Double(scenario.publishSent) / self.duration,
                "publish_ok_per_s": Double(scenario.publishOK) / self.duration,
                "publish_skipped": Double(scenario.publishSkipped),
                "notify_per_s": Double(scenario.notifies) / self.duration,
                "failures": Double(scenario.failures.values.reduce(0, +) + scenario.timeouts),
                "subscriptions": Double(subscribed), "subscribe_setup_s": setupSeconds, "settle_s": self.settle,
                // The common summary's names: attempted = the slots that fell due (skipped ones
                // included), completed = answered 200; the ratio counts skips and timeouts as failed.
                "attempted": Double(attempted), "attempted_per_s": Double(attempted) / self.duration,
                "completed": Double(scenario.publishOK), "completed_per_s": Double(scenario.publishOK) / self.duration,
                "retransmissions": Double(scenario.retransmissions), "timeouts": Double(scenario.timeouts),
            ]
            if attempted > 0 {
                result["failure_ratio"] = min(1, Double(max(0, attempted - scenario.publishOK)) / Double(attempted))
            }
            for (status, count) in scenario.failures { result["failed_\(status)"] = Double(count) }
            for (name, fraction) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999), ("max", 1.0)] {
                if let value = scenario.latencies.percentile(fraction) { result["latency_\(name)_ms"] = Double(value) / 1000 }
            }
            return result
        }.get()
        // End the run's subscriptions and give the answers (and final NOTIFYs) a moment.
        try await loop.submit { scenario.unsubscribeAll() }.get()
        let unsubscribeDeadline = Date().addingTimeInterval(Double(total) / 2_000 + 3)
        while Date() < unsubscribeDeadline {
            try await Task.sleep(for: .milliseconds(100))
            let (queued, open) = try await loop.submit { (scenario.unsubscribeQueue.count, scenario.pendingUnsubscribes.count) }.get()
            if queued == 0 && open == 0 { break }
        }
        try await Task.sleep(for: .milliseconds(300))  // the final NOTIFYs (RFC 6665 §4.2.2) are answered meanwhile
        var output = summary
        if let before = cpuBefore, let after = cpuAfter, let published = summary["completed"], published > 0 {
            // All of the server's threads, over the publishing and its drain: its cost per
            // PUBLISH with the NOTIFYs it fans out to (the figure an A/B compares).
            output["server_cpu_s"] = after - before
            output["server_cpu_us_per_publish"] = (after - before) * 1e6 / published
        }
        if let before = memoryBefore, let after = memoryAfter, subscribed > 0 {
            output["server_rss_kib_before"] = Double(before)
            output["server_rss_kib_after"] = Double(after)
            output["server_bytes_per_subscription"] = Double(after - before) * 1024 / Double(subscribed)
        }
        for key in output.keys.sorted() {
            print(key.padding(toLength: 32, withPad: " ", startingAt: 0) + String(format: "%14.2f", output[key] ?? 0))
        }
        if let json = self.json {
            let data = try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
        try await group.shutdownGracefully()
    }
}

/// User and system CPU time of a process (all its threads), in seconds.
func cpuSeconds(_ pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    // After "pid (comm)": state is field 3, utime 14 and stime 15 (proc(5)).
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// VmRSS of a process, in KiB.
func residentKiB(_ pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }
    return nil
}
