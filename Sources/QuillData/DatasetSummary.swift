/// The numbers `quill data stats` prints: sizes, length percentiles, alphabet counts and split sizes.
public struct DatasetSummary: Equatable, Sendable {
    public var samples: Int
    public var points: Int
    public var strokes: Int
    public var withText: Int
    /// Points per sample at the 0, 5, 25, 50, 75, 95 and 100th percentiles.
    public var pointPercentiles: [(percent: Int, value: Int)]
    /// Characters per transcription at the same percentiles (empty when no sample has text).
    public var textPercentiles: [(percent: Int, value: Int)]
    /// Each alphabet symbol with its count over all encoded transcriptions, in alphabet order.
    public var symbolCounts: [(symbol: String, count: Int)]
    public var splitSizes: [(split: DataSplit, count: Int)]

    public static let percents = [0, 5, 25, 50, 75, 95, 100]

    public static func == (a: DatasetSummary, b: DatasetSummary) -> Bool { a.description == b.description }

    /// Nearest-rank percentile of sorted values.
    public static func percentile(_ sorted: [Int], _ p: Int) -> Int {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((Double(p) / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank - 1, 0), sorted.count - 1)]
    }

    public init(_ ds: PreparedDataset) {
        samples = ds.samples.count
        points = ds.samples.reduce(0) { $0 + $1.count }
        strokes = ds.samples.reduce(0) { $0 + $1.strokeCount }
        withText = ds.samples.filter { $0.text != nil }.count
        let lengths = ds.samples.map(\.count).sorted()
        pointPercentiles = DatasetSummary.percents.map { ($0, DatasetSummary.percentile(lengths, $0)) }
        let textLengths = ds.samples.compactMap { $0.text == nil ? nil : $0.characters.count }.sorted()
        textPercentiles = textLengths.isEmpty ? []
            : DatasetSummary.percents.map { ($0, DatasetSummary.percentile(textLengths, $0)) }
        var counts = [Int](repeating: 0, count: ds.alphabet.count)
        for s in ds.samples { for c in s.characters where c >= 0 && Int(c) < counts.count { counts[Int(c)] += 1 } }
        symbolCounts = zip(ds.alphabet.symbols, counts).map { ($0, $1) }
        splitSizes = DataSplit.allCases.map { split in (split, ds.samples.filter { $0.split == split }.count) }
    }

    /// A readable multi-line report.
    public var description: String {
        var lines = [String]()
        lines.append("samples: \(samples) (\(withText) with text)")
        lines.append("points:  \(points)")
        lines.append("strokes: \(strokes)")
        lines.append("points per sample: " + pointPercentiles.map { "p\($0.percent)=\($0.value)" }.joined(separator: " "))
        if !textPercentiles.isEmpty {
            lines.append("characters per text: " + textPercentiles.map { "p\($0.percent)=\($0.value)" }
                .joined(separator: " "))
        }
        lines.append("splits: " + splitSizes.map { "\($0.split)=\($0.count)" }.joined(separator: " "))
        lines.append("alphabet (\(symbolCounts.count) symbols, index 0 = unknown):")
        for (i, s) in symbolCounts.enumerated() {
            // Control and invisible symbols (from a file written before imports refused them) by code point.
            let shown = s.symbol == " " ? "' '" : TextPreparation.shown(text: s.symbol)
            lines.append("  \(i)\t\(shown)\t\(s.count)")
        }
        return lines.joined(separator: "\n")
    }
}
