import Foundation

/// Rebuilds the SIP messages printed in a seed document (`[ Line N ] text` lines, indented
/// continuation lines, body lines), with CRLF line ends and a Content-Length that matches.
enum SeedMessages {
    static func load(_ path: String) throws -> [[UInt8]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var messages = [[UInt8]]()
        var headers = [String]()
        var body = [String]()
        var inBody = false

        func flush() {
            guard let start = headers.first, start.hasSuffix("SIP/2.0") || start.hasPrefix("SIP/2.0") else {
                headers = []
                body = []
                inBody = false
                return
            }
            let bodyText = body.isEmpty ? "" : body.joined(separator: "\r\n") + "\r\n"
            var lines = headers.filter { !$0.lowercased().hasPrefix("content-length") }
            lines.append("Content-Length: \(bodyText.utf8.count)")
            messages.append(Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + bodyText).utf8))
            headers = []
            body = []
            inBody = false
        }

        for rawLine in text.components(separatedBy: .newlines) {
            let line = rawLine.replacingOccurrences(of: "\u{00A0}", with: " ")
            if line.hasPrefix("< Example") {
                flush()
                continue
            }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if line.hasPrefix("[ Line"), let close = line.firstIndex(of: "]") {
                let content = String(line[line.index(after: close)...]).trimmingCharacters(in: .whitespaces)
                if content.isEmpty {
                    inBody = !headers.isEmpty
                    continue
                }
                if !inBody, !headers.isEmpty, !Self.looksLikeHeader(content) { inBody = true }
                if inBody { body.append(content) } else { headers.append(content) }
            } else if !headers.isEmpty {
                if inBody {
                    body.append(line.trimmingCharacters(in: .whitespaces))
                } else if let last = headers.popLast() {
                    // A folded header line (RFC 3261 §7.3.1).
                    headers.append(last + "\r\n " + line.trimmingCharacters(in: .whitespaces))
                }
            }
        }
        flush()
        return messages
    }

    static func looksLikeHeader(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        let name = text[..<colon].trimmingCharacters(in: .whitespaces)
        return !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    }
}
