import Foundation

extension FileSystemError {
    /// Creates the directory `path` and any missing parents (`mkdir -p`); nothing when it exists already.
    /// - Throws: `FileSystemError` (operation `.create`) naming the path that could not be made, with its errno:
    ///   a part of the path that is a file, a read-only or pseudo file system, no permission, no space.
    public static func createDirectory(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw FileSystemError(path: path, operation: .create, code: EEXIST)
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try createDirectory(parent) }
        if mkdir(path, 0o777) != 0 && errno != EEXIST { throw FileSystemError.current(path, .create) }
    }
}
