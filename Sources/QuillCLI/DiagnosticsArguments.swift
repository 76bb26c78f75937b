import ArgumentParser
import Foundation
import QuillIO
import QuillData
import QuillModels
import QuillRender

/// The diagnostics flags of every training command (`char train`, `char sweep`, `train prediction`,
/// `train synthesis`): per-layer histograms in metrics.jsonl and TensorBoard event files. They change what is
/// logged, never what is trained.
struct DiagnosticsArguments: ParsableArguments {
    @Option(help: "Every N steps, log per-layer weight and gradient histograms (30 bins) and the global gradient norm to metrics.jsonl, for `quill plot histograms` (0…1000000; 0 turns them off). Default: 0, or --eval-every's N when --tensorboard is given; a resumed run logs as it did before.")
    var histogramEvery: Int?

    @Option(name: .customLong("tensorboard"), help: ArgumentHelp("Also write TensorBoard event files into this directory: the metrics as scalars and the histograms; a char model's validation samples as text, a handwriting model's as an image.", valueName: "dir"))
    var tensorBoard: String?

    /// The ranges, and a --tensorboard that names a file.
    func check() throws {
        try OptionRange.check("histogram-every", histogramEvery, 0...TrainingRanges.evalEvery.upperBound)
        try refuseTensorBoardFile(tensorBoard)
    }

    /// The diagnostics of a run validating every `evalEvery` steps; `run` names a sweep's run, whose events go to
    /// a folder of that name under --tensorboard (TensorBoard shows each folder as a run).
    func diagnostics(evalEvery: Int, run: String? = nil) -> TrainingDiagnostics {
        let dir = tensorBoard.map { dir in run.map { (dir as NSString).appendingPathComponent($0) } ?? dir }
        var d = TrainingDiagnostics(histogramEvery: histogramEvery ?? (tensorBoard == nil ? 0 : evalEvery), tensorBoard: dir)
        if dir != nil { d.drawSample = Self.drawSample }
        d.keepsSavedHistograms = histogramEvery == nil && tensorBoard == nil
        return d
    }

    /// A handwriting sample as a PNG under its caption (ink 60 points high, 2 pixels per point, wide enough for the
    /// caption at about 7 points per character of 12-point text), drawn through a temporary file.
    static func drawSample(_ strokes: [Stroke], caption: String) throws -> (png: Data, width: Int, height: Int) {
        let file = (NSTemporaryDirectory() as NSString).appendingPathComponent("quill-tensorboard-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try HandwritingFigures.captioned(strokes: strokes, caption: caption, to: file, height: 60,
                                         style: StrokeStyle(), pixelScale: 2,
                                         minimumWidth: max(200, 32 + 7 * Double(caption.count)))
        let image = try RasterImage.readPNG(file)
        return (try Data(contentsOf: URL(fileURLWithPath: file)), image.width, image.height)
    }
}

/// Refuses an empty --tensorboard, or one that names a file (`quill task` shares it).
func refuseTensorBoardFile(_ dir: String?) throws {
    try refuseEmptyOutput("tensorboard", dir, directory: true)
    if let dir, FileManager.default.fileExists(atPath: dir), !isDirectory(dir) {
        throw ValidationError("--tensorboard \(dir): is a file, not a directory; give a directory for the TensorBoard event files")
    }
    // What would stop the event files (a file or a dangling link on the path, /proc) is found before the run starts.
    if let dir { try FileSystemError.checkDirectoryCanBeMade(dir) }
}
