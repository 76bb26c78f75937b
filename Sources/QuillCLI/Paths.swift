import ArgumentParser
import Foundation
import QuillIO
import QuillData
import QuillModels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Throws when an output path option is the empty string (`--out ""`), which names no file: every command's output
/// options call this first in `validate()`.
/// - Throws: `ValidationError` "--NAME is empty; give a file path" (or "a directory path" for `directory`).
func refuseEmptyOutput(_ name: String, _ path: String?, directory: Bool = false) throws {
    guard let path, path.isEmpty else { return }
    throw ValidationError("--\(name) is empty; give a \(directory ? "directory" : "file") path")
}

/// Throws when `output` is one of a command's `inputs`: the same file after resolving symbolic links, or, when both
/// exist, the same device and inode (a hard link). Inputs that are nil or "-" (standard input) are skipped.
///
/// - inputs: each input path with what it is, for the message ("--data", "the --input file").
/// - directoryExtensions: for commands that read every file with these extensions in an input directory (`data
///   import`): an output inside such a directory with one of them would be read as input, and is refused too.
/// - fix: what to do, after the semicolon.
/// - Throws: `CLIError` "PATH: is also an input (WHAT); choose another output path".
func refuseOverwriting(inputs: [(what: String, path: String?)], output: String,
                       directoryExtensions: Set<String> = [], fix: String = "choose another output path") throws {
    let out = TextPreparation.shown(text: output)
    for (what, path) in inputs {
        guard let path, path != "-" else { continue }
        if sameFile(path, output) { throw CLIError("\(out): is also an input (\(what)); \(fix)", status: .usage) }
        let directory = canonicalPath(path)
        if !directoryExtensions.isEmpty, isDirectory(path),
           directoryExtensions.contains((output as NSString).pathExtension.lowercased()),
           canonicalPath(output).hasPrefix(directory.hasSuffix("/") ? directory : directory + "/") {
            throw CLIError("\(out): is also an input (a .\((output as NSString).pathExtension) file in the input directory \(TextPreparation.shown(text: path)), which the command reads); \(fix)", status: .usage)
        }
    }
}

/// Refuses an output that a multi-page run would number (`NAME-k.EXT` beside `NAME.EXT`, k from 1, as many as the
/// text fills: `StrokeRenderer.pagePath`) onto one of `inputs`, which the run cannot know to avoid before it has
/// written the pages.
/// - Throws: `CLIError` "OUT: its page k would be INPUT, an input (WHAT); choose another output path".
func refuseNumberedPagesOverInputs(_ inputs: [(what: String, path: String?)], output: String) throws {
    let out = canonicalPath(output) as NSString
    let dir = out.deletingLastPathComponent, ext = out.pathExtension
    let stem = (out.lastPathComponent as NSString).deletingPathExtension
    for (what, path) in inputs {
        guard let path, path != "-" else { continue }
        let p = canonicalPath(path) as NSString
        guard p.deletingLastPathComponent == dir, p.pathExtension == ext else { continue }
        let name = (p.lastPathComponent as NSString).deletingPathExtension
        guard name.hasPrefix(stem + "-"), case let digits = name.dropFirst(stem.count + 1),
              let k = Int(digits), k >= 1, String(k) == digits else { continue }
        throw CLIError("\(TextPreparation.shown(text: output)): its page \(k) would be \(TextPreparation.shown(text: path)), "
                       + "an input (\(what)); choose another output path", status: .usage)
    }
}

/// Refuses an output inside the model's styles directory (`HandwritingStyle.directory`): its files are the styles
/// that prime the writing, inputs of every page written with the model.
/// - Throws: `CLIError` "OUT: is in the model's styles directory …; choose another output path".
func refuseOutputInStyles(_ output: String, model dir: String) throws {
    let styles = canonicalPath(HandwritingStyle.directory(model: dir).path)
    guard canonicalPath(output).hasPrefix(styles.hasSuffix("/") ? styles : styles + "/") else { return }
    throw CLIError("\(TextPreparation.shown(text: output)): is in the model's styles directory "
                   + "(\(TextPreparation.shown(text: styles))), whose files are inputs (the styles that prime the "
                   + "writing); choose another output path", status: .usage)
}

/// Refuses a training run whose `--out` directory would write, or with `--force` delete, one of its data files: the
/// best and last checkpoints and the metrics log. Also refuses an `--out` that exists and is not a directory.
func refuseRunDirectoryOverInputs(data: [String], out: String) throws {
    if FileManager.default.fileExists(atPath: out), !isDirectory(out) {
        throw CLIError("\(TextPreparation.shown(text: out)): is a file, not a directory; give --out a directory for the run's checkpoints", status: .usage)
    }
    let inputs = data.map { (what: "--data", path: Optional($0)) }
    for file in RunFiles.all {
        try refuseOverwriting(inputs: inputs, output: (out as NSString).appendingPathComponent(file),
                              fix: "the run writes (and --force deletes) \(file) in --out; choose another --out directory")
    }
}

/// Refuses, before any work, a figure path the command could only fail to write at the end: an existing directory,
/// or a path whose directory does not exist.
/// - Throws: `FileSystemError` (write) with EISDIR or ENOENT.
func refuseUnwritableOutput(_ output: String) throws {
    if isDirectory(output) { throw FileSystemError(path: output, operation: .write, code: EISDIR) }
    let dir = (output as NSString).deletingLastPathComponent
    if !dir.isEmpty, !isDirectory(dir) { throw FileSystemError(path: output, operation: .write, code: ENOENT) }
}

/// Refuses a comma-separated list that names one value twice (`--cell rnn,rnn`, `--lengths 5,5`).
/// - Throws: `ValidationError` "--FLAG names X twice; name each once".
func refuseRepeats<T: Hashable>(_ flag: String, _ items: [T], shown: (T) -> String) throws {
    var seen = Set<T>()
    for item in items where !seen.insert(item).inserted {
        throw ValidationError("--\(flag) names \(shown(item)) twice; name each once")
    }
}

/// Whether two paths name the same file: the same device and inode when both exist, else the same absolute path
/// once symbolic links are resolved.
func sameFile(_ a: String, _ b: String) -> Bool {
    if let ia = fileIdentity(a), let ib = fileIdentity(b) { return ia == ib }
    return canonicalPath(a) == canonicalPath(b)
}

/// (device, inode) of an existing path, following links; nil if it can't be stat'ed.
func fileIdentity(_ path: String) -> [UInt64]? {
    var s = stat()
    guard stat(path, &s) == 0 else { return nil }
    return [UInt64(s.st_dev), UInt64(s.st_ino)]
}

/// Whether `path` exists and is a directory (following links).
func isDirectory(_ path: String) -> Bool {
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
}

/// The absolute path with `.`, `..` and symbolic links resolved, as far as the path exists: a file that does not
/// exist yet gets its directory resolved.
func canonicalPath(_ path: String) -> String {
    let url = URL(fileURLWithPath: path).standardizedFileURL
    if FileManager.default.fileExists(atPath: url.path) { return url.resolvingSymlinksInPath().path }
    let dir = url.deletingLastPathComponent()
    guard dir.path != url.path else { return url.path }
    return (canonicalPath(dir.path) as NSString).appendingPathComponent(url.lastPathComponent)
}

/// One plain line for an error from the file system, naming the path: what happened and what to do. Used for
/// Foundation errors that would otherwise be shown as "Error Domain=…", mapped to errno and worded by `FileSystemError`.
func fileErrorLine(_ error: Error, path: String) -> String {
    let shown = TextPreparation.shown(text: path)
    let ns = error as NSError
    var code = ns.code
    if ns.domain == NSCocoaErrorDomain, let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
       underlying.domain == NSPOSIXErrorDomain {
        code = underlying.code
    } else if ns.domain == NSCocoaErrorDomain, isDirectory(path) {
        code = Int(EISDIR)
    } else if ns.domain == NSCocoaErrorDomain {
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: code = Int(ENOENT)
        case NSFileWriteFileExistsError: code = Int(EEXIST)
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: code = Int(EACCES)
        case NSFileWriteOutOfSpaceError: code = Int(ENOSPC)
        case NSFileWriteVolumeReadOnlyError: code = Int(EROFS)
        default: code = -1
        }
    } else if ns.domain != NSPOSIXErrorDomain {
        code = -1
    }
    guard code > 0 else {
        return "\(shown): the file could not be read or written; check that it is a regular file you may read and write"
    }
    // The same words as every other file error (QuillIO).
    return "\(shown): " + FileSystemError(path: path, operation: .read, code: Int32(truncatingIfNeeded: code)).cause
}

/// Refuses inputs that exist but are not regular files: a directory where a file is read (unless
/// `directoriesAllowed`), a device such as /dev/null, a pipe or a socket. Paths that do not exist are left to the
/// reader, which names them; nil and "-" (standard input) are skipped.
/// - Throws: `CLIError` "PATH: is a directory, not a file (WHAT); give a file".
func refuseNonFiles(_ inputs: [(what: String, path: String?)], directoriesAllowed: Bool = false) throws {
    for (what, path) in inputs {
        guard let path, path != "-" else { continue }
        var s = stat()
        guard stat(path, &s) == 0 else { continue }
        let shown = TextPreparation.shown(text: path)
        switch s.st_mode & S_IFMT {
        case S_IFREG: continue
        case S_IFDIR:
            if directoriesAllowed { continue }
            throw CLIError("\(shown): is a directory, not a file (\(what)); give a file", status: .noInput)
        case S_IFCHR, S_IFBLK:
            throw CLIError("\(shown): is a device, not a regular file (\(what)); give a file", status: .noInput)
        default:
            throw CLIError("\(shown): is a pipe or socket, not a regular file (\(what)); give a file", status: .noInput)
        }
    }
}
