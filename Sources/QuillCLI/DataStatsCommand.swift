import ArgumentParser
import QuillData

/// `quill data stats FILE`: summarise a prepared dataset.
public struct DataStatsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print samples, points, strokes, length percentiles, the alphabet with counts and split sizes."
    )

    @OptionGroup var dataset: PreparedDatasetArgument

    public init() {}

    public func run() throws {
        let file = dataset.file
        let ds = try PreparedFormat.load(path: file)
        let h = ds.header
        print("file: \(file) (format \(h.format.rawValue), split \(h.splitUsed), alphabet \(h.options.alphabet))")
        print(String(format: "normalisation: mean (%.4f, %.4f) std (%.4f, %.4f)%@", h.stats.meanDx, h.stats.meanDy,
                     h.stats.stdDx, h.stats.stdDy, h.options.normalise ? "" : " (off)"))
        print(DatasetSummary(ds).description)
    }
}
