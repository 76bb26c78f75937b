/// One prepared sample: normalised offsets ready for training, plus what is needed to draw it again.
public struct PreparedSample: Equatable, Sendable {
    public var id: String
    public var writer: String?
    /// The raw transcription, nil when the source has none.
    public var text: String?
    /// `text` encoded with the dataset's alphabet (empty when there is no text).
    public var characters: [Int32]
    public var split: DataSplit
    /// The absolute first point (in the prepared orientation, before normalisation).
    public var originX: Double
    public var originY: Double
    /// Normalised offsets, one row per point: (dx[k], dy[k], eos[k]). Row 0 is always (0, 0, eos₀): the start
    /// point itself, at `origin`.
    public var dx: [Float]
    public var dy: [Float]
    /// 1 when point k ends its stroke.
    public var eos: [UInt8]

    public init(id: String, writer: String?, text: String?, characters: [Int32], split: DataSplit,
                originX: Double, originY: Double, dx: [Float], dy: [Float], eos: [UInt8]) {
        self.id = id
        self.writer = writer
        self.text = text
        self.characters = characters
        self.split = split
        self.originX = originX
        self.originY = originY
        self.dx = dx
        self.dy = dy
        self.eos = eos
    }

    public var count: Int { dx.count }

    /// The rows interleaved as one (T, 3) buffer: dx, dy, eos for each point, the layout a network input takes.
    public func interleavedRows() -> [Float] {
        var out = [Float](repeating: 0, count: 3 * count)
        for k in 0..<count {
            out[3 * k] = dx[k]
            out[3 * k + 1] = dy[k]
            out[3 * k + 2] = Float(eos[k])
        }
        return out
    }

    public var strokeCount: Int { eos.reduce(0) { $0 + Int($1) } }
}

/// What a prepared file's header records: how it was made and how to undo the normalisation.
public struct PreparedHeader: Codable, Equatable, Sendable {
    /// The format the samples were imported from.
    public var format: ImportFormat
    public var options: PreprocessOptions
    /// The transform applied to rows 1…: stored = (raw − mean) / std (identity when `options.normalise` is off).
    public var stats: OffsetStatistics
    /// The statistics measured on the training split, whether or not they were applied.
    public var measuredStats: OffsetStatistics
    public var alphabet: Alphabet
    /// Which split source was used in the end: "source" or "seeded".
    public var splitUsed: String
    /// How many samples the import skipped (with --skip-invalid) and how many outlier points were removed.
    public var skippedSamples: Int
    public var removedOutlierPoints: Int

    public init(format: ImportFormat, options: PreprocessOptions, stats: OffsetStatistics,
                measuredStats: OffsetStatistics, alphabet: Alphabet, splitUsed: String,
                skippedSamples: Int = 0, removedOutlierPoints: Int = 0) {
        self.format = format
        self.options = options
        self.stats = stats
        self.measuredStats = measuredStats
        self.alphabet = alphabet
        self.splitUsed = splitUsed
        self.skippedSamples = skippedSamples
        self.removedOutlierPoints = removedOutlierPoints
    }
}

extension PreparedHeader {
    /// What makes a decoded header unusable, in words, or nil when it is sound: statistics that are not finite
    /// or have a deviation that is not positive, options out of range, negative counts, an unknown split source.
    func problem() -> String? {
        for (name, st) in [("stats", stats), ("measuredStats", measuredStats)] {
            if let why = st.problem() { return "\(name) \(why)" }
        }
        do { try options.validate() } catch let error as DatasetError {
            if case let .invalidOption(why) = error { return "options: \(why)" }
            return "options are out of range"
        } catch { return "options are out of range" }
        guard skippedSamples >= 0, removedOutlierPoints >= 0 else { return "skippedSamples or removedOutlierPoints is negative" }
        guard splitUsed == "source" || splitUsed == "seeded" else {
            return "splitUsed is '\(splitUsed)', expected \"source\" or \"seeded\""
        }
        return nil
    }
}

/// A prepared dataset: the header and the samples, as loaded from (or written to) a prepared file.
public struct PreparedDataset: Equatable, Sendable {
    public var header: PreparedHeader
    public var samples: [PreparedSample]

    public init(header: PreparedHeader, samples: [PreparedSample]) {
        self.header = header
        self.samples = samples
    }

    public var options: PreprocessOptions { header.options }
    public var stats: OffsetStatistics { header.stats }
    public var alphabet: Alphabet { header.alphabet }

    /// The samples of one split.
    public func samples(in split: DataSplit) -> [PreparedSample] { samples.filter { $0.split == split } }

    /// Raw offsets (normalisation undone) of a sample, in the prepared orientation.
    public func rawOffsets(_ s: PreparedSample) -> OffsetSequence {
        let (dx, dy) = header.stats.rawOffsets(dx: s.dx, dy: s.dy)
        return OffsetSequence(originX: s.originX, originY: s.originY, dx: dx, dy: dy, eos: s.eos)
    }

    /// A sample as absolute strokes for drawing, with y pointing down whatever the prepared orientation.
    public func strokes(of s: PreparedSample) -> [Stroke] {
        var sample = HandwritingSample(id: s.id, offsets: rawOffsets(s))
        if header.options.yAxis == .up { sample = StrokeGeometry.flipY(sample) }
        return sample.strokes
    }
}
