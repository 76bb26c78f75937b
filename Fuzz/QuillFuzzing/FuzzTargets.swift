import Foundation
import QuillData
import QuillModels

/// One fuzz target per reader of untrusted files. Each takes the bytes of one file, feeds them to the reader the way
/// `quill` does, and traps (so libFuzzer records the input) when the reader accepts something inconsistent or fails
/// with an unclear message. Crashes are caught by the sanitizers.
///
/// The executables in Fuzz/ (`fuzz-json-lines`, …) call these under libFuzzer (`make fuzz`); `QuillFuzzTests` replays
/// the committed inputs in Fuzz/Corpus/<target>/ through the same functions in `make test`.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case jsonLines = "json-lines"
    case iamXML = "iam-xml"
    case inkml
    case quickdraw
    case prepared
    case safetensors
    case style
    case ngram

    /// Runs one input.
    public func run(_ bytes: Data) {
        switch self {
        case .jsonLines: FuzzTarget.importFile(bytes, format: .iamJSONL, name: "lines.jsonl")
        case .quickdraw: FuzzTarget.importFile(bytes, format: .quickdraw, name: "drawings.ndjson")
        case .inkml:
            FuzzTarget.importFile(bytes, format: .inkml, name: "sample.inkml")
            // `write --prime-inkml` reads the same files through the InkML reader directly.
            let path = FuzzFiles.write(bytes, as: "prime.inkml")
            do { _ = try InkMLImporter.load(path: path) } catch { FuzzCheck.message(error) }
        case .iamXML:
            let root = FuzzFiles.directory
            let ascii = root + "/ascii/a01/a01-000"
            try? FileManager.default.createDirectory(atPath: ascii, withIntermediateDirectories: true)
            try? FileManager.default.createDirectory(atPath: root + "/lineStrokes/a01/a01-000", withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: ascii + "/a01-000u.txt",
                                           contents: Data("OCR:\n\nCSR:\n\nA MOVE to stop\nsecond line\n".utf8))
            let path = root + "/lineStrokes/a01/a01-000/a01-000u-01.xml"
            _ = FileManager.default.createFile(atPath: path, contents: bytes)
            FuzzTarget.importPaths([path], format: .iamXML)
        case .prepared:
            do {
                let dataset = try PreparedFormat.decode(bytes, file: "fuzz.qds")
                // Whatever decodes must encode and decode to the same thing.
                let again = try PreparedFormat.decode(try PreparedFormat.encode(dataset), file: "again.qds")
                if again != dataset { FuzzCheck.fail("prepared file does not survive a round trip") }
            } catch { FuzzCheck.message(error) }
        case .safetensors:
            let path = FuzzFiles.write(bytes, as: "model.safetensors")
            do { _ = try SafeTensors.read(path) } catch { FuzzCheck.message(error) }
            do { _ = try HandwritingCheckpoint.load(path) } catch { FuzzCheck.message(error) }
            do { _ = try CharCheckpoint.load(path) } catch { FuzzCheck.message(error) }
        case .style:
            let dir = FuzzFiles.directory + "/model"
            try? FileManager.default.createDirectory(atPath: dir + "/styles", withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: dir + "/styles/fuzz.json", contents: bytes)
            do { _ = try HandwritingStyle.load(name: "fuzz", model: dir) } catch { FuzzCheck.message(error) }
        case .ngram:
            let path = FuzzFiles.write(bytes, as: "model.ngram")
            do {
                let model = try NGramFile.load(path)
                // Whatever loads gives a distribution that sums to one, and survives a round trip.
                let p = model.distribution(after: [])
                if abs(p.reduce(0, +) - 1) > 1e-9 { FuzzCheck.fail("n-gram probabilities sum to \(p.reduce(0, +))") }
                let again = FuzzFiles.write(try NGramFile.encode(model), as: "again.ngram")
                if try NGramFile.load(again).distribution(after: []) != p { FuzzCheck.fail("n-gram model does not survive a round trip") }
            } catch { FuzzCheck.message(error) }
        }
    }

    /// Imports one file of `format` and, when it imports, prepares it and round-trips the prepared bytes.
    static func importFile(_ bytes: Data, format: ImportFormat, name: String) {
        importPaths([FuzzFiles.write(bytes, as: name)], format: format)
    }

    static func importPaths(_ paths: [String], format: ImportFormat) {
        for skip in [false, true] {
            do {
                let imported = try Importer.load(format, inputs: paths, skipInvalid: skip, asciiRoot: nil)
                for error in imported.skipped { FuzzCheck.message(error) }
                let dataset = try Preparer.prepare(imported, format: format, options: PreprocessOptions())
                _ = try PreparedFormat.decode(try PreparedFormat.encode(dataset), file: "fuzz.qds")
            } catch { FuzzCheck.message(error) }
        }
    }
}

/// Scratch files for readers that take a path: one private directory per process, in /dev/shm when it exists.
public enum FuzzFiles {
    public static let directory: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = base + "/quill-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    static func write(_ bytes: Data, as name: String) -> String {
        let path = directory + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        return path
    }
}

/// What a reader's error must look like: one line a person can act on.
public enum FuzzCheck {
    /// Traps when an error message is unclear: a Foundation error domain, a Swift type name, a raw control character.
    public static func message(_ error: Error) {
        let text = String(describing: error)
        for bad in ["Error Domain=", "DecodingError", "Swift.", "Foundation.", "NSCocoaErrorDomain", "NSXMLParserErrorDomain"]
        where text.contains(bad) {
            fail("unclear error message (\(bad)): \(text.prefix(300))")
        }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }) {
            fail("error message with a raw control character: \(text.debugDescription.prefix(300))")
        }
        if text.isEmpty { fail("empty error message") }
    }

    public static func fail(_ why: String) -> Never {
        FileHandle.standardError.write(Data("fuzz check failed: \(why)\n".utf8))
        abort()
    }
}

/// The entry point of a fuzz executable built without libFuzzer: runs each file given (or each file in each directory
/// given) through the target once, so a committed crash input can be replayed with a plain debug build.
public enum FuzzReplay {
    public static func main(_ target: FuzzTarget) {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDir) else {
                FileHandle.standardError.write(Data("fuzz-\(target.rawValue): \(argument): no such file\n".utf8))
                exit(2)
            }
            let files = isDir.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map { argument + "/" + $0 }
                : [argument]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                target.run(data)
                count += 1
            }
        }
        print("fuzz-\(target.rawValue): \(count) inputs ran without a crash")
    }
}

/// The whole program of a fuzz executable: built for fuzzing (`make fuzz`, `-DFUZZING`), hands `target` to
/// libFuzzer; otherwise replays the files or directories given as arguments.
public func fuzzMain(_ target: FuzzTarget) {
    #if FUZZING
    FuzzDriver.target = target
    exit(FuzzDriver.run())
    #else
    FuzzReplay.main(target)
    #endif
}

#if FUZZING
/// libFuzzer's driver (linked by `-sanitize=fuzzer`): SwiftPM gives every executable its own `main`, so the fuzz
/// executables start libFuzzer through this entry rather than libFuzzer's `main`.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                 _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

enum FuzzDriver {
    /// The reader being fuzzed (a C callback cannot capture it).
    nonisolated(unsafe) static var target = FuzzTarget.jsonLines

    /// Runs libFuzzer with the process's arguments; each input goes to `target`.
    static func run() -> CInt {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv as UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        return LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput)
    }
}

/// libFuzzer's callback, by its conventional name (libFuzzer's objects refer to it): one input, the bytes of one file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzDriver.target.run(Data(bytes: data, count: size))
    return 0
}
#endif
