/// An `application/simple-message-summary` body (RFC 3842 §5): whether messages wait, the
/// account, and counts per message class (`Voice-Message: 2/8 (0/2)`).
public struct MessageSummary: Sendable, Equatable {
    public struct Counts: Sendable, Equatable {
        public var new: Int
        public var old: Int
        public var urgentNew: Int?
        public var urgentOld: Int?

        public init(new: Int, old: Int, urgentNew: Int? = nil, urgentOld: Int? = nil) {
            self.new = new
            self.old = old
            self.urgentNew = urgentNew
            self.urgentOld = urgentOld
        }
    }

    /// RFC 3842 §5.2 message-context-class values (RFC 3458).
    public static let messageClasses = ["voice-message", "fax-message", "pager-message", "multimedia-message", "text-message", "none"]

    public var messagesWaiting: Bool
    public var messageAccount: String?
    /// Counts by class, keyed by the class name as written (`Voice-Message`), in order.
    public var counts: [(name: String, counts: Counts)]

    public init(messagesWaiting: Bool, messageAccount: String? = nil, counts: [(name: String, counts: Counts)] = []) {
        self.messagesWaiting = messagesWaiting
        self.messageAccount = messageAccount
        self.counts = counts
    }

    public static func == (lhs: MessageSummary, rhs: MessageSummary) -> Bool {
        lhs.messagesWaiting == rhs.messagesWaiting && lhs.messageAccount == rhs.messageAccount
            && lhs.counts.map(\.name) == rhs.counts.map(\.name) && lhs.counts.map(\.counts) == rhs.counts.map(\.counts)
    }

    /// Parses the summary lines; optional message headers after a blank line are ignored.
    public init(parsing text: String) throws(PresenceDocumentError) {
        var waiting: Bool?
        var account: String?
        var counts: [(name: String, counts: Counts)] = []
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)
            if line.trimmedXMLWhitespace.isEmpty {
                if waiting != nil { break }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw PresenceDocumentError("malformed message summary line: \(line.prefix(40))")
            }
            let name = String(line[..<colon]).trimmedXMLWhitespace
            let value = String(line[line.index(after: colon)...]).trimmedXMLWhitespace
            switch name.lowercased() {
            case "messages-waiting", "message-waiting":
                // The singular is what some deployed notifiers send (seed 004's Packet8 MWI
                // NOTIFY); it is read as RFC 3842's Messages-Waiting, and written back as that
                // (`standardized`).
                switch value.lowercased() {
                case "yes": waiting = true
                case "no": waiting = false
                default: throw PresenceDocumentError("Messages-Waiting must be yes or no")
                }
            case "message-account":
                account = value
            case let lowered where Self.messageClasses.contains(lowered):
                counts.append((name, try Self.parseCounts(value)))
            case "voicemail":
                // The same notifiers' name for the voice-message class (RFC 3842 §5.2).
                counts.append(("Voice-Message", try Self.parseCounts(value)))
            default:
                continue
            }
        }
        guard let waiting else { throw PresenceDocumentError("message summary without Messages-Waiting") }
        self.init(messagesWaiting: waiting, messageAccount: account, counts: counts)
    }

    /// `new/old [(urgent-new/urgent-old)]`.
    static func parseCounts(_ value: String) throws(PresenceDocumentError) -> Counts {
        let malformed = PresenceDocumentError("malformed message counts '\(value.prefix(40))': expected new/old (urgent-new/urgent-old)")
        let parts = value.split(separator: "(", maxSplits: 1)
        func pair(_ text: Substring) -> (Int, Int)? {
            let numbers = text.replacingOccurrences(of: ")", with: "").split(separator: "/")
            guard numbers.count == 2, let first = Int(numbers[0].trimmedXMLWhitespace), let second = Int(numbers[1].trimmedXMLWhitespace),
                first >= 0, second >= 0
            else { return nil }
            return (first, second)
        }
        guard let first = parts.first, let (new, old) = pair(first) else { throw malformed }
        if parts.count == 2 {
            guard let (urgentNew, urgentOld) = pair(parts[1]) else { throw malformed }
            return Counts(new: new, old: old, urgentNew: urgentNew, urgentOld: urgentOld)
        }
        return Counts(new: new, old: old)
    }

    /// A summary as sent, its deployed variants' names written as RFC 3842 §5.2 names them
    /// (`Message-Waiting` → `Messages-Waiting`, `Voicemail` → `Voice-Message`), everything else
    /// (values, other lines, the message headers after the blank line) kept as it is: what
    /// subscribers are sent is RFC 3842 whatever the voicemail system wrote.
    public static func standardized(_ text: String) -> String {
        var lines: [String] = []
        var inSummary = true
        // (Split by scalars: "\r\n" is one Character, and each line keeps its "\r".)
        for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(String.UnicodeScalarView(rawLine))
            if line.trimmedXMLWhitespace.isEmpty, lines.contains(where: { !$0.trimmedXMLWhitespace.isEmpty }) { inSummary = false }
            if inSummary, let colon = line.firstIndex(of: ":") {
                switch line[..<colon].trimmedXMLWhitespace.lowercased() {
                case "message-waiting": line = "Messages-Waiting" + line[colon...]
                case "voicemail": line = "Voice-Message" + line[colon...]
                default: break
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    public var text: String {
        var lines = ["Messages-Waiting: \(self.messagesWaiting ? "yes" : "no")"]
        if let account = self.messageAccount { lines.append("Message-Account: \(account)") }
        for (name, counts) in self.counts {
            var line = "\(name): \(counts.new)/\(counts.old)"
            if let urgentNew = counts.urgentNew, let urgentOld = counts.urgentOld { line += " (\(urgentNew)/\(urgentOld))" }
            lines.append(line)
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

extension Substring {
    var trimmedXMLWhitespace: String { String(self).trimmedXMLWhitespace }
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        String(self).split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
