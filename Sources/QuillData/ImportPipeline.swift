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
    /// `splitLists` overrides the source's split with list files (see `SplitLists`); `synthetic` adds synthetic lines
    /// from the Hershey script fonts to the training split (`SyntheticMix`), before preprocessing, so they go through
    /// the same steps as the real lines. Nothing is written when any step fails.
    public static func run(format: ImportFormat, inputs: [String], output: String, options: PreprocessOptions,
                           skipInvalid: Bool = false, asciiRoot: String? = nil,
                           splitLists: (train: String, validation: String)? = nil,
                           synthetic: SyntheticMix? = nil) throws -> Report {
        try options.validate()
        if let synthetic, synthetic.lines > 0 || synthetic.mixedLines > 0, options.split == .seeded {
            // A seeded split would deal the added lines (copies of real training lines among them) into validation.
            throw DatasetError.invalidOption("synthetic and mixed lines go into the source's training split; --split seeded "
                                             + "would deal them into validation too: use --split auto or source")
        }
        let t0 = Date()
        var imported = try Importer.load(format, inputs: inputs, skipInvalid: skipInvalid, asciiRoot: asciiRoot)
        if let lists = splitLists {
            try SplitLists.apply(train: lists.train, validation: lists.validation, to: &imported)
        }
        try synthetic?.apply(to: &imported)
        imported.notes += duplicateIDNote(imported.samples).map { [$0] } ?? []
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

extension ImportPipeline {
    /// A note when sample ids repeat (files of one name in two folders, JSONL records with one id): `--id` and
    /// split lists then name more than one sample. Nil when every id is unique.
    static func duplicateIDNote(_ samples: [HandwritingSample]) -> String? {
        var seen = Set<String>(), repeated: [String] = []
        for s in samples where !seen.insert(s.id).inserted && !repeated.contains(s.id) { repeated.append(s.id) }
        guard let first = repeated.first else { return nil }
        return "\(repeated.count) sample id\(repeated.count == 1 ? "" : "s") occur\(repeated.count == 1 ? "s" : "") more than once (such as '\(TextPreparation.shown(text: String(first.prefix(80))))'): `data show --id` draws the first, and a split list names all of them"
    }

    /// What `quill bench import` measured: the fastest of the runs, and the fastest reload of the prepared file.
    public struct Benchmark: Sendable {
        /// The run with the least total time.
        public var best: Report
        /// Seconds to load the prepared file, the least of the reloads.
        public var loadSeconds: Double
        public var repeats: Int
        /// Points in the prepared dataset.
        public var points: Int { best.dataset.samples.reduce(0) { $0 + $1.count } }
    }

    /// Imports the IAM-OnDB JSON-lines file `input` with the default preprocessing into `scratch` (removed
    /// afterwards) and reloads it, `repeats` times (at least once).
    /// - Throws: what importing, writing or loading throws (a missing input: `DatasetError`).
    public static func benchmark(jsonl input: String, repeats: Int, scratch: String) throws -> Benchmark {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        func once() throws -> (report: Report, loadSeconds: Double) {
            let r = try run(format: .iamJSONL, inputs: [input], output: scratch, options: PreprocessOptions())
            let t0 = Date()
            _ = try PreparedFormat.load(path: scratch)
            return (r, Date().timeIntervalSince(t0))
        }
        var (best, bestLoad) = try once()
        for _ in 1..<max(repeats, 1) {
            let (r, load) = try once()
            if r.totalSeconds < best.totalSeconds { best = r }
            bestLoad = min(bestLoad, load)
        }
        return Benchmark(best: best, loadSeconds: bestLoad, repeats: max(repeats, 1))
    }
}
