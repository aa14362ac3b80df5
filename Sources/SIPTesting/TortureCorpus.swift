import Foundation

/// Locates the shared torture corpus (`../shared/torture` beside the repository) and loads
/// its messages byte for byte.
public enum TortureCorpus {
    /// The `shared` folder: `HERALD_SHARED` when set, else the first `shared/torture` found
    /// walking up from this source file.
    public static func sharedDirectory(file: String = #filePath) -> URL? {
        if let override = ProcessInfo.processInfo.environment["HERALD_SHARED"] {
            return URL(fileURLWithPath: override)
        }
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("shared")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("torture/manifest.csv").path) {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    /// The bytes of `relativePath` (e.g. `rfc4475/wsinv.dat`).
    public static func load(_ relativePath: String) throws -> [UInt8] {
        guard let shared = Self.sharedDirectory() else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "shared/torture not found"])
        }
        let url = shared.appendingPathComponent("torture").appendingPathComponent(relativePath)
        return Array(try Data(contentsOf: url))
    }

    /// The `file` column of the manifest: every corpus message.
    public static func manifestFiles() throws -> [String] {
        guard let shared = Self.sharedDirectory() else { return [] }
        let text = try String(contentsOf: shared.appendingPathComponent("torture/manifest.csv"), encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            line.split(separator: ",", maxSplits: 1).first.map(String.init)
        }
    }
}
