import Foundation

/// A file-system call that failed, said in plain words: what Quill tried, on which path, what happened and what to do.
///
/// Built from `errno` (POSIX) so every command reports the same cause the same way ("no space left on the device",
/// "permission denied", "is a directory"), never a Foundation error domain or code.
public struct FileSystemError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What Quill was doing when the call failed.
    public enum Operation: String, Sendable {
        case read, write, create, rename, remove, append
        var verb: String {
            switch self {
            case .read: return "read"
            case .write: return "write"
            case .create: return "create"
            case .rename: return "move into place"
            case .remove: return "remove"
            case .append: return "append to"
            }
        }
    }

    /// The path as the user gave it.
    public let path: String
    public let operation: Operation
    /// The POSIX error number (`ENOSPC`, `EACCES`, …), or 0 for a cause given in `detail`.
    public let code: Int32
    /// A cause in words, for failures that have no errno (a file too large, a cut-short read).
    public let detail: String?

    public init(path: String, operation: Operation, code: Int32) {
        self.path = path; self.operation = operation; self.code = code; self.detail = nil
    }

    public init(path: String, operation: Operation, detail: String) {
        self.path = path; self.operation = operation; self.code = 0; self.detail = detail
    }

    /// The error for the current `errno`.
    public static func current(_ path: String, _ operation: Operation) -> FileSystemError {
        FileSystemError(path: path, operation: operation, code: errno)
    }

    /// The error for the current `errno` after creating a file in `directory` failed: "no such file" although the
    /// directory exists (a special file system such as /proc, which accepts no new files) is said as such rather than
    /// as a missing directory.
    public static func creating(_ path: String, in directory: String) -> FileSystemError {
        let code = errno
        var isDirectory: ObjCBool = false
        if code == ENOENT, FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue {
            return FileSystemError(path: path, operation: .write,
                                   detail: "its directory accepts no new files (a special file system such as /proc); choose another path")
        }
        return FileSystemError(path: path, operation: .write, code: code)
    }

    /// What happened, in words, then what to do.
    public var cause: String {
        if let detail { return detail }
        let writing = operation != .read
        switch code {
        case ENOENT:
            return writing ? "its directory does not exist; create it first or choose another path"
                : "no such file or directory; check the path"
        case EACCES, EPERM:
            return writing ? "permission denied; check the permissions of the file and its directory, or choose another path"
                : "permission denied; check the file's permissions"
        case EROFS: return "the file system is read-only; choose another path"
        case ENOSPC, EDQUOT: return "no space left on the device; free some space and run again"
        case EISDIR: return "it is a directory; give the path of a file"
        case ENOTDIR: return "a part of the path is not a directory; check the path"
        case EEXIST: return "it already exists; remove it or choose another path"
        case ENAMETOOLONG: return "the name is too long; choose a shorter path"
        case ELOOP: return "too many levels of symbolic links; check the links on the path"
        case EFBIG: return "the file is larger than the file system allows; choose another path"
        case EIO: return "input/output error (a failing disk, or a network file system that went away)"
        case EMFILE, ENFILE: return "too many open files; close some programs and run again"
        case EBUSY, ETXTBSY: return "the file is busy; try again when the program using it has finished"
        case EXDEV: return "the temporary file and the target are on different devices"
        case ENOMEM: return "not enough memory; raise ulimit -v or free memory"
        default: return String(cString: strerror(code))
        }
    }

    public var description: String { "\(path): cannot \(operation.verb) it: \(cause)" }

    /// True when the device is full (the run can be resumed once space is freed).
    public var isOutOfSpace: Bool { code == ENOSPC || code == EDQUOT }
}
