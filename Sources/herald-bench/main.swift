import Foundation
import SIPCore

// Parse and serialize throughput of the SIP message core on the NOTIFY messages of seed 000.
// Single-threaded; run the release build: `swift run -c release herald-bench [SEED_FILE] [SECONDS]`.

let arguments = CommandLine.arguments
let seedPath = arguments.count > 1 ? arguments[1] : "../shared/seeds/000_d25415f5df49c4c5.txt"
let secondsPerCase = arguments.count > 2 ? Double(arguments[2]) ?? 2 : 2

let messages: [[UInt8]]
do {
    messages = try SeedMessages.load(seedPath)
} catch {
    FileHandle.standardError.write(Data("herald-bench: cannot read \(seedPath): \(error)\n".utf8))
    exit(1)
}
guard !messages.isEmpty else {
    FileHandle.standardError.write(Data("herald-bench: no SIP messages in \(seedPath)\n".utf8))
    exit(1)
}
for message in messages {
    // The benchmark is meaningless unless the messages parse and round-trip exactly.
    guard let parsed = try? SIPMessageParser.parse(message), SIPSerializer.serialize(parsed) == message else {
        FileHandle.standardError.write(Data("herald-bench: a seed message does not round-trip\n".utf8))
        exit(1)
    }
}

/// Runs `body` over every message repeatedly for about `seconds`; returns messages per second.
func measure(_ name: String, only: [[UInt8]]? = nil, _ body: ([UInt8]) -> Int) -> Double {
    let messages = only ?? messages
    var sink = 0
    for message in messages { sink &+= body(message) }  // warm-up
    let start = DispatchTime.now().uptimeNanoseconds
    var count = 0
    var elapsed: UInt64 = 0
    repeat {
        for _ in 0..<1000 {
            for message in messages { sink &+= body(message) }
            count += messages.count
        }
        elapsed = DispatchTime.now().uptimeNanoseconds - start
    } while Double(elapsed) < secondsPerCase * 1e9
    let rate = Double(count) / (Double(elapsed) / 1e9)
    let label = name.padding(toLength: 36, withPad: " ", startingAt: 0)
    print(label + String(format: "%12.0f msg/s  %8.0f ns/msg  (check %d)", rate, 1e9 / rate, sink & 0xFF))
    return rate
}

let sizes = messages.map(\.count)
print("herald-bench: \(messages.count) messages from \(seedPath), sizes \(sizes) bytes, mean \(sizes.reduce(0, +) / sizes.count)")

_ = measure("parse + serialize") { bytes in
    guard let message = try? SIPMessageParser.parse(bytes) else { return 0 }
    return SIPSerializer.serialize(message).count
}
for message in messages {
    _ = measure("  one \(message.count)-byte NOTIFY", only: [message]) { bytes in
        guard let message = try? SIPMessageParser.parse(bytes) else { return 0 }
        return SIPSerializer.serialize(message).count
    }
}
_ = measure("parse + hot headers + serialize") { bytes in
    guard case .request(let request)? = try? SIPMessageParser.parse(bytes),
        let via = try? request.topVia(), let from = try? request.from(), let to = try? request.to(),
        let cseq = try? request.cseq(), let callID = request.callID
    else { return 0 }
    return SIPSerializer.serialize(request).count &+ via.host.count &+ (from.tag?.count ?? 0) &+ (to.tag?.count ?? 0)
        &+ Int(cseq.sequenceNumber) &+ callID.count
}
_ = measure("parse + validate + serialize") { bytes in
    guard case .request(let request)? = try? SIPMessageParser.parse(bytes), (try? request.validate()) != nil else { return 0 }
    return SIPSerializer.serialize(request).count
}
