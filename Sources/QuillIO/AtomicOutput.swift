import Foundation

/// A file written completely or not at all: bytes go to a temporary file beside the target, which `commit()` flushes
/// to the disk and renames into place. Until then the target keeps its old content; after a failure (disk full, a
/// killed process) the target is as it was and the temporary file is removed (at once, or by the next write to the
/// same name: see `Temporaries`).
///
/// - A symbolic link is followed: the file it names is replaced and the link stays a link.
/// - An existing file keeps its permission bits; a read-only one is refused (permission denied), not replaced.
/// - A directory is refused; a character device or FIFO (`/dev/stdout`, a pipe) is written directly, since it cannot
///   be replaced.
/// Every failure is a `FileSystemError` naming the path as given.
public final class AtomicOutput {
    /// The path as given.
    public let path: String
    /// Where the bytes end up (the file a link names, or `path`).
    public let target: String
    /// The temporary file (nil when writing a device or FIFO directly).
    public let temporaryPath: String?
    private var fd: Int32
    private var open = true
    /// Bytes written so far.
    public private(set) var count = 0

    /// Checks the target and creates the temporary file. Throws `FileSystemError` when the target cannot be written.
    public init(path: String) throws {
        self.path = path
        var target = path
        var st = stat()
        if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
            target = AtomicOutput.linkTarget(path)
        }
        self.target = target
        var mode: mode_t?
        if stat(target, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                throw FileSystemError(path: path, operation: .write, code: EISDIR)
            case S_IFREG:
                // No write bit for anyone is read-only for root too, whom access() would let through.
                if access(target, W_OK) != 0 || st.st_mode & 0o222 == 0 {
                    throw FileSystemError(path: path, operation: .write,
                                          detail: errno == EROFS ? "the file system is read-only; choose another path"
                                              : "the file is read-only; make it writable or choose another path")
                }
                mode = st.st_mode & 0o7777
            case S_IFCHR, S_IFIFO:
                let direct = Foundation.open(target, O_WRONLY | O_CLOEXEC)
                guard direct >= 0 else { throw FileSystemError.current(path, .write) }
                fd = direct
                temporaryPath = nil
                return
            default:
                throw FileSystemError(path: path, operation: .write,
                                      detail: "it is not a regular file; give the path of a file")
            }
        } else if errno != ENOENT {
            throw FileSystemError.current(path, .write)
        }
        let (dir, name) = Temporaries.split(target)
        Temporaries.removeStale(named: name, in: dir)
        let temp = Temporaries.path(for: name, in: dir)
        let made = Foundation.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard made >= 0 else { throw FileSystemError.creating(path, in: dir) }
        if let mode { _ = fchmod(made, mode) }
        fd = made
        temporaryPath = temp
    }

    deinit { if open { abort() } }

    /// Appends bytes. Throws `FileSystemError` (the output is then abandoned: no later `commit()` succeeds).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard open else { throw FileSystemError(path: path, operation: .write, detail: "the output was already closed") }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let allowed = FaultInjection.allowance(bytes.count)
        var done = 0
        while done < allowed {
            let n = Foundation.write(fd, base + done, allowed - done)
            if n < 0 {
                if errno == EINTR { continue }
                let error = FileSystemError.current(path, .write)
                abort()
                throw error
            }
            done += n
        }
        count += done
        if allowed < bytes.count {
            abort()
            throw FileSystemError(path: path, operation: .write, code: ENOSPC)
        }
    }

    /// Appends bytes.
    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Flushes the bytes to the disk and renames the temporary file over the target. Throws `FileSystemError`; then the
    /// target is unchanged and the temporary file removed.
    public func commit() throws {
        guard open else { throw FileSystemError(path: path, operation: .write, detail: "the output was already closed") }
        guard let temp = temporaryPath else {
            open = false
            if Foundation.close(fd) != 0 { throw FileSystemError.current(path, .write) }
            return
        }
        // A full disk or a failing device often shows only here, when the data is flushed.
        if fsync(fd) != 0, errno != EINVAL, errno != EROFS {
            let error = FileSystemError.current(path, .write)
            abort()
            throw error
        }
        open = false
        if Foundation.close(fd) != 0 {
            let error = FileSystemError.current(path, .write)
            unlink(temp)
            throw error
        }
        if rename(temp, target) != 0 {
            let error = FileSystemError.current(path, .rename)
            unlink(temp)
            throw error
        }
        // Make the rename itself durable; a failure here leaves a complete file either way.
        let dir = Foundation.open(Temporaries.split(target).directory, O_RDONLY | O_CLOEXEC)
        if dir >= 0 { _ = fsync(dir); Foundation.close(dir) }
    }

    /// Abandons the output: closes and removes the temporary file. The target is untouched.
    public func abort() {
        guard open else { return }
        open = false
        Foundation.close(fd)
        if let temporaryPath { unlink(temporaryPath) }
    }

    /// Writes `data` to `path` completely or not at all (see the type's documentation).
    public static func write(_ data: Data, to path: String) throws {
        let output = try AtomicOutput(path: path)
        try output.write(data)
        try output.commit()
    }

    /// The file a symbolic link names, resolved through further links; for a dangling link, where it points.
    static func linkTarget(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return path }
        let destination = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if destination.hasPrefix("/") { return destination }
        return Temporaries.split(path).directory + "/" + destination
    }
}
