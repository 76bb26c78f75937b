import Foundation

/// Import, prepare and write in one call: what `quill data import` and `quill bench import` run.
public enum ImportPipeline {
    /// What a run did, with the time of each phase in seconds.
    public struct Report: Sendable {
        public var dataset: PreparedDataset
        public var imported: ImportResult
        public var inputBytes: Int
        public var outputBytes: Int
        public var parseSeconds: Double
        public var prepareSeconds: Double
        public var writeSeconds: Double
        public var totalSeconds: Double { parseSeconds + prepareSeconds + writeSeconds }
    }

    /// Imports `inputs`, prepares them with `options` and writes the prepared file atomically to `output`.
    /// `splitLists` overrides the source's split with list files (see `SplitLists`).
    /// Nothing is written when any step fails.
    public static func run(format: ImportFormat, inputs: [String], output: String, options: PreprocessOptions,
                           skipInvalid: Bool = false, asciiRoot: String? = nil,
                           splitLists: (train: String, validation: String)? = nil) throws -> Report {
        try options.validate()
        let t0 = Date()
        var imported = try Importer.load(format, inputs: inputs, skipInvalid: skipInvalid, asciiRoot: asciiRoot)
        if let lists = splitLists {
            try SplitLists.apply(train: lists.train, validation: lists.validation, to: &imported)
        }
        let t1 = Date()
        let dataset = try Preparer.prepare(imported, format: format, options: options)
        let t2 = Date()
        let bytes = try PreparedFormat.encode(dataset)
        try PreparedFormat.writeAtomically(bytes, to: output)
        let t3 = Date()
        let inputBytes = (try? Importer.files(in: inputs, extensions: format.fileExtensions))?
            .reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) } ?? 0
        return Report(dataset: dataset, imported: imported, inputBytes: inputBytes, outputBytes: bytes.count,
                      parseSeconds: t1.timeIntervalSince(t0), prepareSeconds: t2.timeIntervalSince(t1),
                      writeSeconds: t3.timeIntervalSince(t2))
    }
}
