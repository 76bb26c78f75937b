import Foundation

/// File moves a process must still make if it is killed by a second Ctrl-C: a `--force` training run that has moved
/// the old run's files aside and not yet written its first resume point puts them back, so the directory never holds
/// only `*.replaced` files (which `quill eval`, `sample` and `plot loss` cannot read).
///
/// `perform()` runs inside a signal handler, so it uses only `unlink(2)` and `rename(2)` on C strings made
/// beforehand; the strings of a cleared plan are not freed (a handler may be reading them), a few hundred bytes a run.
public enum InterruptRestore {
    private static let capacity = 16
    /// Each entry: (path to delete or rename, new name or nil to delete).
    nonisolated(unsafe) private static let entries = UnsafeMutablePointer<(UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<CChar>?)>
        .allocate(capacity: capacity)
    nonisolated(unsafe) private static var count: Int32 = 0

    /// The plan: delete each of `delete` (the new run's files), then rename each `(from, to)` (the old run's back).
    /// Replaces any earlier plan.
    public static func set(delete: [String], rename: [(from: String, to: String)]) {
        count = 0
        let plan = delete.map { (strdup($0), nil as UnsafeMutablePointer<CChar>?) } + rename.map { (strdup($0.from), strdup($0.to)) }
        for (i, entry) in plan.prefix(capacity).enumerated() { entries[i] = entry }
        count = Int32(min(plan.count, capacity))
    }

    /// No moves are needed any more (the new run wrote its resume point, or put the old files back itself).
    public static func clear() { count = 0 }

    /// The plan as it stands: (path, new name, or nil to delete), for tests.
    public static var plan: [(path: String, to: String?)] {
        (0..<Int(count)).compactMap { i in
            entries[i].0.map { (String(cString: $0), entries[i].1.map { String(cString: $0) }) }
        }
    }

    /// Makes the planned moves; safe in a signal handler.
    public static func perform() {
        let n = Int(count)
        for i in 0..<n {
            let (path, to) = entries[i]
            guard let path else { continue }
            if let to { _ = rename(path, to) } else { _ = unlink(path) }
        }
    }
}
