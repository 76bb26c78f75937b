import Foundation

/// Simulated write failures for tests: once the process has written `limit` bytes through Quill's file layer
/// (`AtomicOutput`, `AppendFile`), further writes fail as if the disk were full (`ENOSPC`).
///
/// Set with the environment variable `QUILL_FAIL_WRITES_AFTER=N` (read once, at the first write), so tests can run the
/// real `quill` binary; or in-process with `failWrites(after:)`. Everything Quill writes goes through this layer, so a
/// test can cut any output short without filling a disk.
public enum FaultInjection {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var configured = false
    nonisolated(unsafe) private static var limit: Int?
    nonisolated(unsafe) private static var written = 0

    /// Fails every write after `bytes` more bytes (nil: never).
    public static func failWrites(after bytes: Int?) {
        lock.lock(); defer { lock.unlock() }
        configured = true
        limit = bytes
        written = 0
    }

    /// How many of `count` bytes may be written now; fewer than `count` means the write must fail after them.
    static func allowance(_ count: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        if !configured {
            configured = true
            if let text = ProcessInfo.processInfo.environment["QUILL_FAIL_WRITES_AFTER"], let n = Int(text), n >= 0 {
                limit = n
            }
        }
        guard let limit else { return count }
        let allowed = max(0, min(count, limit - written))
        written += allowed
        return allowed
    }
}
