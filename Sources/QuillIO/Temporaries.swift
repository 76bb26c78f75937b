import Foundation

/// The temporary files `AtomicOutput` writes beside a target, `.NAME.quill-tmp-PID-RANDOM`, and their clean-up.
///
/// A process killed while writing leaves its temporary file behind; the next write to the same name, and a training run
/// starting in its directory, remove those whose process is gone. Names written by earlier versions of Quill
/// (`.NAME.tmp-PID`, `.NAME.PID.RANDOM.tmp`) are recognised too.
public enum Temporaries {
    static let marker = ".quill-tmp-"

    /// A fresh temporary path for `name` in `directory`.
    static func path(for name: String, in directory: String) -> String {
        // Keep the whole name under the usual 255-byte limit.
        let stem = String(decoding: Array(name.utf8.prefix(200)), as: UTF8.self)
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return directory + "/." + stem + marker + "\(getpid())-" + random
    }

    /// The directory (`.` for a bare name) and the last component of a path.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// The process id recorded in a temporary file's name, or nil when the name is not one of Quill's temporaries.
    /// `name` limits the match to temporaries of that target name.
    static func owner(ofTemporary file: String, name: String? = nil) -> pid_t? {
        guard file.hasPrefix(".") else { return nil }
        let body = file.dropFirst()
        func digits<S: StringProtocol>(_ s: S) -> pid_t? {
            guard !s.isEmpty, s.count <= 10, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return pid_t(s)
        }
        if let range = body.range(of: marker, options: .backwards) {
            let stem = body[..<range.lowerBound]
            if let name, stem != String(decoding: Array(name.utf8.prefix(200)), as: UTF8.self) { return nil }
            return digits(body[range.upperBound...].prefix { $0 != "-" })
        }
        // Earlier versions: `.NAME.tmp-PID` and `.NAME.PID.RANDOM.tmp`.
        if let range = body.range(of: ".tmp-", options: .backwards) {
            if let name, body[..<range.lowerBound] != name { return nil }
            return digits(body[range.upperBound...])
        }
        if body.hasSuffix(".tmp") {
            let parts = body.dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 3, digits(parts[parts.count - 1]) != nil || parts[parts.count - 1].allSatisfy(\.isNumber),
                  let pid = digits(parts[parts.count - 2]) else { return nil }
            if let name, parts.dropLast(2).joined(separator: ".") != name { return nil }
            return pid
        }
        return nil
    }

    /// Removes temporary files in `directory` (of target `named`, or all) whose writing process no longer exists.
    /// Returns the names removed. Errors are ignored: clean-up never stops a command.
    @discardableResult
    public static func removeStale(named name: String? = nil, in directory: String) -> [String] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed = [String]()
        for entry in entries {
            guard let pid = owner(ofTemporary: entry, name: name), pid > 0 else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                if unlink(directory + "/" + entry) == 0 { removed.append(entry) }
            }
        }
        return removed.sorted()
    }
}
