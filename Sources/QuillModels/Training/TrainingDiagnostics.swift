import Foundation
import QuillData
import QuillTensorBoard

/// What a `TrainingRun` records beyond its loss lines; none of it changes the training itself, and none is saved in
/// the checkpoint's options (a resumed run may log differently). A resume point records `histogramEvery` when it is
/// on (`quill.histogram-every`), so a run resumed with `keepsSavedHistograms` logs them as before.
public struct TrainingDiagnostics {
    /// On `--resume`: log histograms as the resumed run did, when its resume point says it logged them (the CLI sets
    /// this when neither --histogram-every nor --tensorboard is given).
    public var keepsSavedHistograms = false
    /// Every this many steps, a `histograms` record in metrics.jsonl (`ParameterHistograms`) and, with
    /// `tensorBoard`, histogram summaries; 0 for none. Costs one pass over the weights and one over the gradients
    /// at those steps only.
    public var histogramEvery = 0
    /// Bins per histogram (at least 1).
    public var histogramBins = ParameterHistograms.defaultBins
    /// A directory for TensorBoard event files (`--tensorboard`), nil for none: the metrics lines' numbers as
    /// scalars (train/…, val/…), the histograms as weights/NAME and gradients/NAME, char models' validation samples
    /// as text and, with `drawSample`, a handwriting sample per validation as an image.
    public var tensorBoard: String?
    /// Draws a handwriting sample (strokes in the dataset's units, y down; a caption) as PNG bytes and their size in
    /// pixels. QuillModels does not draw: `quill` passes QuillRender's drawing.
    public var drawSample: ((_ strokes: [Stroke], _ caption: String) throws -> (png: Data, width: Int, height: Int))?

    public init(histogramEvery: Int = 0, histogramBins: Int = ParameterHistograms.defaultBins, tensorBoard: String? = nil) {
        self.histogramEvery = histogramEvery
        self.histogramBins = max(histogramBins, 1)
        self.tensorBoard = tensorBoard
    }

    /// The numbers of a metrics line as scalars tagged `prefix` + key (kind, step and non-numbers left out).
    static func scalars(_ line: [String: Any], prefix: String) -> [SummaryValue] {
        line.keys.sorted().compactMap { key in
            guard key != "step", key != "kind", let n = line[key] as? NSNumber,
                  String(cString: n.objCType) != "c", n.doubleValue.isFinite else { return nil }
            return .scalar(tag: prefix + key, value: Float(n.doubleValue))
        }
    }

    /// The summaries of `h`: a histogram per tensor's weights and gradients, and the global gradient norm.
    static func summaries(_ h: ParameterHistograms) -> [SummaryValue] {
        var values: [SummaryValue] = h.gradientNorm.isFinite ? [.scalar(tag: "train/grad_norm", value: Float(h.gradientNorm))] : []
        values += h.weights.map { .histogram(tag: "weights/\($0.name)", $0.histogram.summary) }
        values += h.gradients.map { .histogram(tag: "gradients/\($0.name)", $0.histogram.summary) }
        return values
    }

    /// A text sample as Markdown that shows it verbatim: every line indented four spaces (a code block).
    static func verbatim(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
    }
}

extension ValueHistogram {
    /// The histogram as TensorBoard's `HistogramProto`: bucket limits are the bins' right edges (TensorBoard's
    /// buckets are closed on the right, these bins on the left; the difference is values on an inner edge).
    var summary: HistogramSummary {
        HistogramSummary(min: min, max: max, count: Double(count), sum: sum, sumOfSquares: sumOfSquares,
                         bucketLimits: upperEdges, buckets: counts.map(Double.init))
    }
}
