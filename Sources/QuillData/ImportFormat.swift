import Foundation

/// The input formats `quill data import` understands.
public enum ImportFormat: String, CaseIterable, Codable, Sendable {
    /// IAM-OnDB as distributed: lineStrokes XML plus ascii/ transcriptions.
    case iamXML = "iam-xml"
    /// The JSON-lines form of IAM-OnDB (one line per record, integer [dx, dy, eos] offsets).
    case iamJSONL = "iam-jsonl"
    /// W3C InkML (CROHME, ADAB, …), one sample per file.
    case inkml
    /// Google Quick, Draw! ndjson, raw or simplified.
    case quickdraw

    /// The file extensions found when an input is a directory.
    public var fileExtensions: Set<String> {
        switch self {
        case .iamXML: return ["xml"]
        case .iamJSONL: return ["jsonl"]
        case .inkml: return ["inkml"]
        case .quickdraw: return ["ndjson", "jsonl", "json"]
        }
    }

    /// Parses a format name, throwing `DatasetError.unknownFormat` with the list of known ones.
    public init(name: String) throws {
        guard let f = ImportFormat(rawValue: name.lowercased()) else { throw DatasetError.unknownFormat(name) }
        self = f
    }
}

/// Samples read from the inputs, and the ones skipped with the reason for each.
public struct ImportResult: Sendable {
    public var samples: [HandwritingSample] = []
    /// Errors for the samples skipped under `skipInvalid`; empty otherwise (the first error is thrown instead).
    public var skipped: [DatasetError] = []
    /// Notes that are not errors (for example IAM lines whose form has fewer transcription lines than XML files).
    public var notes: [String] = []
    /// The QuickDraw kind of the first drawing read, and where it was: every later drawing must be of the same kind.
    var quickDrawKind: (kind: QuickDrawImporter.Kind, at: SourcePosition)?

    public init(samples: [HandwritingSample] = [], skipped: [DatasetError] = [], notes: [String] = []) {
        self.samples = samples
        self.skipped = skipped
        self.notes = notes
    }

    /// Runs `body`; with `skipInvalid` a `DatasetError` is recorded instead of thrown.
    mutating func attempt(skipInvalid: Bool, _ body: (inout ImportResult) throws -> Void) throws {
        do {
            try body(&self)
        } catch let error as DatasetError where skipInvalid {
            skipped.append(error)
        }
    }

    /// Appends a sample after validating it (empty strokes, non-finite or absurd coordinates).
    mutating func add(_ sample: HandwritingSample, skipInvalid: Bool, at position: SourcePosition? = nil) throws {
        try attempt(skipInvalid: skipInvalid) { result in
            try sample.validate(at: position)
            result.samples.append(sample)
        }
    }

    /// A short account of why samples were skipped: counts per kind and the first few messages.
    public func skippedSummary(limit: Int = 5) -> String {
        guard !skipped.isEmpty else { return "skipped 0 samples" }
        var lines = ["skipped \(skipped.count) invalid sample(s):"]
        for e in skipped.prefix(limit) { lines.append("  \(e.description)") }
        if skipped.count > limit { lines.append("  … and \(skipped.count - limit) more") }
        return lines.joined(separator: "\n")
    }
}

/// Reads samples in any supported format.
public enum Importer {
    /// Imports every input of one format.
    ///
    /// - Parameters:
    ///   - inputs: files or directories (see each format's importer for what it accepts).
    ///   - skipInvalid: skip bad samples and report them in `ImportResult.skipped` instead of stopping at the first.
    ///   - asciiRoot: IAM-OnDB only: the `ascii/` tree, when it is not beside `lineStrokes/`.
    public static func load(_ format: ImportFormat, inputs: [String], skipInvalid: Bool = false,
                            asciiRoot: String? = nil) throws -> ImportResult {
        var result = ImportResult()
        switch format {
        case .iamJSONL:
            for path in try files(in: inputs, extensions: format.fileExtensions) {
                try IAMJSONLImporter.load(path: path, skipInvalid: skipInvalid, into: &result)
            }
        case .quickdraw:
            for path in try files(in: inputs, extensions: format.fileExtensions) {
                try QuickDrawImporter.load(path: path, skipInvalid: skipInvalid, into: &result)
            }
        case .inkml:
            for path in try files(in: inputs, extensions: format.fileExtensions) {
                try result.attempt(skipInvalid: skipInvalid) { r in
                    r.samples.append(try InkMLImporter.load(path: path))  // load validates
                }
            }
        case .iamXML:
            try IAMXMLImporter.load(inputs: inputs, asciiRoot: asciiRoot, skipInvalid: skipInvalid, into: &result)
        }
        if result.samples.isEmpty, result.skipped.isEmpty {
            let names = inputs.prefix(3).joined(separator: ", ") + (inputs.count > 3 ? " and \(inputs.count - 3) more" : "")
            throw DatasetError.noSamples("\(names) \(inputs.count == 1 ? "holds" : "hold") no \(format.rawValue) samples")
        }
        return result
    }

    /// Expands directories into their files with one of `extensions` (recursively, sorted); files pass through.
    static func files(in inputs: [String], extensions: Set<String>) throws -> [String] {
        var out = [String]()
        let fm = FileManager.default
        for input in inputs {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDir) else {
                throw DatasetError.io(input, "no such file or directory. Check the path.")
            }
            if !isDir.boolValue {
                out.append(input)
                continue
            }
            guard let walker = fm.enumerator(atPath: input) else {
                throw DatasetError.io(input, "cannot list the directory")
            }
            var found = [String]()
            for case let rel as String in walker
            where extensions.contains((rel as NSString).pathExtension.lowercased()) {
                found.append((input as NSString).appendingPathComponent(rel))
            }
            guard !found.isEmpty else {
                throw DatasetError.io(input, "the directory holds no \(extensions.sorted().map { "." + $0 }.joined(separator: ", ")) "
                                      + "files (its subdirectories included); give the files or the folder that holds them")
            }
            out.append(contentsOf: found.sorted())
        }
        return out
    }
}
