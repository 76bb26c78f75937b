import QuillNumerics

/// Turns imported samples into a prepared dataset: the preprocessing pipeline of `PreprocessOptions`.
public enum Preparer {
    /// Applies the geometric steps (orientation, outliers, smoothing, slant, decimation, truncation) to one sample.
    /// Returns the sample and the number of outlier points removed.
    public static func preprocess(_ sample: HandwritingSample, _ o: PreprocessOptions) -> (HandwritingSample, Int) {
        var s = sample
        var removed = 0
        if o.yAxis == .up { s = StrokeGeometry.flipY(s) }
        if let t = o.outlierThreshold { (s, removed) = StrokeGeometry.removeOutliers(s, threshold: t) }
        if let w = o.smoothingWindow { s = StrokeGeometry.smooth(s, window: w, order: o.smoothingOrder) }
        if o.slantCorrection { s = StrokeGeometry.correctSlant(s).0 }
        if let d = o.decimation, d > 1 { s = StrokeGeometry.decimate(s, every: d) }
        if let m = o.maxPoints { s = StrokeGeometry.truncate(s, maxPoints: m) }
        return (s, removed)
    }

    /// The split of each sample: the source's where it gives one (policy auto/source), else seeded.
    /// Returns the splits and which policy was used ("source" or "seeded").
    public static func assignSplits(_ samples: [HandwritingSample], _ o: PreprocessOptions) throws
        -> ([DataSplit], String) {
        let hasSource = samples.contains { $0.split != nil }
        switch o.split {
        case .source where !hasSource:
            throw DatasetError.invalidOption("--split source: these samples carry no split; use auto or seeded")
        case .source:
            return (samples.map { $0.split ?? .unassigned }, "source")
        case .auto where hasSource:
            return (samples.map { $0.split ?? .unassigned }, "source")
        default:
            return (seededSplit(count: samples.count, validationFraction: o.validationFraction, seed: o.seed),
                    "seeded")
        }
    }

    /// A seeded split: a Fisher–Yates shuffle of the indices with `SeededGenerator(seed)`; the first
    /// round(fraction · count) shuffled indices go to validation. The same seed gives the same split.
    public static func seededSplit(count: Int, validationFraction: Double, seed: UInt64) -> [DataSplit] {
        var rng = SeededGenerator(seed: seed)
        var order = Array(0..<count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        var splits = [DataSplit](repeating: .train, count: count)
        let nValid = Int((validationFraction * Double(count)).rounded())
        for k in 0..<min(nValid, count) { splits[order[k]] = .validation }
        return splits
    }

    /// Runs the whole pipeline.
    public static func prepare(_ imported: ImportResult, format: ImportFormat,
                               options o: PreprocessOptions) throws -> PreparedDataset {
        try o.validate()
        guard !imported.samples.isEmpty else {
            throw DatasetError.noSamples(imported.skipped.isEmpty ? "the inputs hold no samples"
                                         : "all \(imported.skipped.count) samples were invalid"
                                           + (imported.skipped.first.map { e in
                                               let why = e.withoutSkipAdvice
                                               return "; the first: " + (why.hasSuffix(".") ? String(why.dropLast()) : why)
                                           } ?? ""))
        }
        // Importers validate what they read; samples built in code are held to the same rules here.
        for sample in imported.samples { try sample.validate() }
        var removed = 0
        var sequences = [OffsetSequence]()
        sequences.reserveCapacity(imported.samples.count)
        for sample in imported.samples {
            let (s, r) = preprocess(sample, o)
            removed += r
            sequences.append(s.offsets())
        }
        let (splits, splitUsed) = try assignSplits(imported.samples, o)
        let trainIndices = splits.indices.filter { splits[$0] == .train }
        let basis = trainIndices.isEmpty ? Array(splits.indices) : trainIndices
        let measured = OffsetStatistics.measure(basis.map { sequences[$0] })
        if let why = measured.problem() {
            // Unreachable with validated coordinates (|x| ≤ 1e7); kept so no prepared file can carry such statistics.
            throw DatasetError.badCoordinate(SourcePosition(file: "the training split"), "the offset statistics \(why)")
        }
        let stats = o.normalise ? measured : .identity
        let alphabet = Alphabet.build(texts: basis.compactMap { imported.samples[$0].text }, policy: o.alphabet)

        var samples = [PreparedSample]()
        samples.reserveCapacity(sequences.count)
        for (i, seq) in sequences.enumerated() {
            let src = imported.samples[i]
            let (dx, dy) = stats.preparedRows(seq)
            samples.append(PreparedSample(id: src.id, writer: src.writer, text: src.text,
                                          characters: src.text.map { alphabet.encode($0) } ?? [],
                                          split: splits[i], originX: seq.originX, originY: seq.originY,
                                          dx: dx, dy: dy, eos: seq.eos))
        }
        let header = PreparedHeader(format: format, options: o, stats: stats, measuredStats: measured,
                                    alphabet: alphabet, splitUsed: splitUsed, skippedSamples: imported.skipped.count,
                                    removedOutlierPoints: removed)
        return PreparedDataset(header: header, samples: samples)
    }
}
