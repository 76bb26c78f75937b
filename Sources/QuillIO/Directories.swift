import Foundation

extension FileSystemError {
    /// Creates the directory `path` and any missing parents (`mkdir -p`); nothing when it exists already.
    /// - Throws: `FileSystemError` (operation `.create`) naming the path that could not be made, with its errno:
    ///   a part of the path that is a file, a read-only or pseudo file system, no permission, no space.
    ///   A part that is a file (the user's input, say) is named as such, never to be removed; a dangling symbolic
    ///   link names where it points; a directory that accepts no new entries (/proc) is said as such.
    public static func createDirectory(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw FileSystemError(path: path, operation: .create, detail: "it is a file, not a directory; choose another path")
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try createDirectory(parent) }
        guard mkdir(path, 0o777) != 0 else { return }
        let code = errno
        if code == EEXIST, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
            throw FileSystemError(path: path, operation: .create,
                                  detail: "it is a symbolic link to \(target), which does not exist; create that directory or choose another path")
        }
        if code == EEXIST { return }   // made meanwhile by another process
        if code == ENOENT, FileManager.default.fileExists(atPath: parent.isEmpty ? "." : parent, isDirectory: &isDir), isDir.boolValue {
            throw FileSystemError(path: path, operation: .create,
                                  detail: "its directory accepts no new entries (a special file system such as /proc); choose another path")
        }
        throw FileSystemError(path: path, operation: .create, code: code)
    }

    /// Throws what `createDirectory(path)` would throw, leaving nothing behind: for options checked before a run
    /// starts (a `--tensorboard` directory made only when the first event is written). The first missing part is
    /// made and removed again, so a directory that takes no new entries (/proc) is found too.
    public static func checkDirectoryCanBeMade(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw FileSystemError(path: path, operation: .create, detail: "it is a file, not a directory; choose another path")
        }
        // The deepest part of the path that exists (or is a link), and the part below it.
        var missing = path
        var parent = (path as NSString).deletingLastPathComponent
        while !parent.isEmpty && parent != missing && !FileManager.default.fileExists(atPath: parent)
                && (try? FileManager.default.destinationOfSymbolicLink(atPath: parent)) == nil {
            missing = parent
            parent = (parent as NSString).deletingLastPathComponent
        }
        if !parent.isEmpty, parent != missing {
            if FileManager.default.fileExists(atPath: parent, isDirectory: &isDir), !isDir.boolValue {
                throw FileSystemError(path: parent, operation: .create, detail: "it is a file, not a directory; choose another path")
            }
        }
        try createDirectory(missing)
        _ = rmdir(missing)
    }
}
