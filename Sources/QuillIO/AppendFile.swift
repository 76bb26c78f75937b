import Foundation

/// A log file that grows by whole records (the `metrics.jsonl` of a training run): each `append` writes all of its
/// bytes or, when the write fails, cuts the file back to where it was, so a full disk never leaves half a record.
public final class AppendFile {
    public let path: String
    private var fd: Int32

    /// Opens `path` for appending, creating it (mode 0666 less the umask) when absent; `truncate` empties it first.
    /// Throws `FileSystemError`.
    public init(path: String, truncate: Bool = false) throws {
        self.path = path
        let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0)
        fd = Foundation.open(path, flags, 0o666)
        guard fd >= 0 else { throw FileSystemError.current(path, .append) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            Foundation.close(fd)
            fd = -1
            throw FileSystemError(path: path, operation: .append, detail: "it is not a regular file")
        }
    }

    deinit { close() }

    /// Appends one record. Throws `FileSystemError`; the file then ends where it ended before the call.
    public func append(_ data: Data) throws {
        guard fd >= 0 else { throw FileSystemError(path: path, operation: .append, detail: "the file was closed") }
        var st = stat()
        let before = fstat(fd, &st) == 0 ? st.st_size : -1
        let allowed = FaultInjection.allowance(data.count)
        var failure: FileSystemError?
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < allowed {
                let n = Foundation.write(fd, base + done, allowed - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = FileSystemError.current(path, .append)
                    return
                }
                done += n
            }
        }
        if failure == nil, allowed < data.count { failure = FileSystemError(path: path, operation: .append, code: ENOSPC) }
        if let failure {
            if before >= 0 { _ = ftruncate(fd, before) }
            throw failure
        }
    }

    /// Closes the file (also done when the object goes away).
    public func close() {
        if fd >= 0 { Foundation.close(fd); fd = -1 }
    }
}

/// Reading whole files with a size limit and plain-worded errors.
public enum InputFile {
    /// Reads all of `path` (`-` is standard input). Throws `FileSystemError`: no such file, permission denied, a
    /// directory, or more than `maxBytes` bytes (the message then ends with `tooLargeHint`).
    public static func read(_ path: String, maxBytes: Int, tooLargeHint: String = "") throws -> Data {
        let fd: Int32 = path == "-" ? 0 : Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.current(path, .read) }
        defer { if fd != 0 { Foundation.close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileSystemError.current(path, .read) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw FileSystemError(path: path, operation: .read, code: EISDIR) }
        func tooLarge() -> FileSystemError {
            FileSystemError(path: path, operation: .read,
                            detail: "it has more than \(maxBytes) bytes, the most this reads" + (tooLargeHint.isEmpty ? "" : "; \(tooLargeHint)"))
        }
        if (st.st_mode & S_IFMT) == S_IFREG, st.st_size > maxBytes { throw tooLarge() }
        var data = Data()
        if (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 { data.reserveCapacity(Int(st.st_size)) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError.current(path, .read)
            }
            if n == 0 { break }
            if data.count + n > maxBytes { throw tooLarge() }
            data.append(contentsOf: buffer[0..<n])
        }
        return data
    }

    /// True when `a` and `b` name the same file (the same device and inode, through links), or the same path when
    /// either does not exist yet.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        if stat(a, &sa) == 0, stat(b, &sb) == 0 { return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino }
        let ra = URL(fileURLWithPath: a).standardizedFileURL.resolvingSymlinksInPath().path
        let rb = URL(fileURLWithPath: b).standardizedFileURL.resolvingSymlinksInPath().path
        return ra == rb
    }
}
