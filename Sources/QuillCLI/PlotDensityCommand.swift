import ArgumentParser
import QuillData
import QuillModels
import QuillRender

/// `quill plot density`: Graves Fig. 10.
public struct PlotDensityCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "density", abstract: "Sample from a prediction network and plot its predicted pen-position density and mixture weights (Graves Fig. 10).")

    @OptionGroup var sampling: SamplingOptions<PredictionDefaults>
    @OptionGroup var image: ImageOutput
    @Option(help: "Pen steps to sample (10…5000).") var length: Int = 400

    public init() {}

    public func validate() throws {
        try OptionRange.check("length", length, 10...5000)
        try sampling.refuseInputs(output: image.output)
    }

    public func run() throws {
        let (loaded, line, parameters) = try sampling.predictionSample(length: length)
        guard let figure = DensityFigureData(line: line, parameters: parameters, mixture: loaded.model.mixture,
                                             stats: loaded.stats) else {
            throw CLIError("\(image.output): the sample has no points")
        }
        try HandwritingFigures.density(
            strokes: line.strokes, density: try Matrix(figure.density),
            area: Rect(x: figure.minX, y: figure.minY, width: figure.width, height: figure.height),
            mixtureWeights: try Matrix(figure.mixtureWeights), to: image.output)
        print("wrote \(TextPreparation.shown(text: image.output))")
    }
}

extension Matrix {
    /// A figure's grid as a matrix to draw.
    init(_ grid: FigureGrid) throws { try self.init(rows: grid.rows, cols: grid.columns, values: grid.values) }
}
