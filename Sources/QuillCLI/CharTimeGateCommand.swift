import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillRender

/// `quill char time-gate`: the Phased LSTM's time gate k_t over time (note 002, Fig. 3).
public struct CharTimeGateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "time-gate",
        abstract: "Plot the Phased LSTM's time gate k_t over time for a few units, or for a τ, s and r_on given.",
        discussion: """
        Each unit's gate opens for a fraction r_on of its period τ, from its shift s: k rises from 0 to 1 over the \
        first half of the open phase, falls back over the second and leaks (0.001 φ) while closed. The figure draws \
        k between the steps as a line and at the steps the network reads as dots, one colour per unit, and the \
        command prints each unit's τ, s and r_on. With --model, units --units of layer --layer of a model trained \
        with --cell phased-lstm; without it, one gate of --period, --shift and --r-on (note 002's figure: \
        --period 6 --shift 3 --r-on 0.2).
        """)
    @Option(help: "Char model directory (or .safetensors) trained with --cell phased-lstm.") var model: String?
    @Option(help: "Layer, from 1. (default: 1)") var layer: Int?
    @Option(help: "Units, comma-separated, from 0. (default: 0,1,2,3 or fewer)") var units: String?
    @Option(help: "Period τ in steps (0.001…1000000); without --model.") var period: Double?
    @Option(help: "Shift s in steps (−1000000…1000000); without --model. (default: 0)") var shift: Double?
    @Option(name: .customLong("r-on"), help: "Open ratio r_on, more than 0 and less than 1; without --model.")
    var rOn: Double?
    @Option(help: "Steps drawn, t = 0 … T (1…10000).") var length = 48
    @Option(name: .shortAndLong, help: "Figure: .png, .svg or .pdf.") var output: String
    @Flag(help: "Also print the gates as JSON.") var json = false

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        do { _ = try OutputFormat.forPath(output) } catch { throw ValidationError("\(error)") }
        try OptionRange.check("length", length, 1...10_000)
        try OptionRange.check("layer", layer, 1...32)
        try OptionRange.check("period", period, 0.001...1_000_000)
        try OptionRange.check("shift", shift, -1_000_000...1_000_000)
        try OptionRange.check("r-on", rOn, 0...1, aboveLower: true, belowUpper: true)
        if model != nil {
            if period != nil || shift != nil || rOn != nil {
                throw ValidationError("--period, --shift and --r-on draw a gate without a model; with --model its units' own are drawn: drop one")
            }
        } else {
            if layer != nil || units != nil {
                throw ValidationError("--layer and --units choose a --model's units; without --model give --period and --r-on")
            }
            if period == nil || rOn == nil {
                throw ValidationError("give --model DIR, or a gate's --period and --r-on (and --shift)")
            }
        }
        if let units {
            let list = try CharSweepCommand.wholeNumbers("units", units)
            if let bad = list.first(where: { $0 < 0 }) { throw ValidationError("--units: unit \(bad) is negative; units count from 0") }
        }
        try refuseNonFiles([("--model", model.map(modelFile))])
        try refuseOverwriting(inputs: [("--model", model.map(modelFile))], output: output)
    }

    public func run() throws {
        try refuseUnwritableOutput(output)
        let curves: [CharInspection.TimeGateCurve]
        let title: String
        if let model {
            let loaded = try CharCheckpoint.load(modelFile(model))
            let l = (layer ?? 1) - 1
            let chosen = try units.map { try CharSweepCommand.wholeNumbers("units", $0) }
                ?? Array(0..<min(4, loaded.model.config.hidden))
            curves = try CharInspection.timeGates(loaded.model, layer: l, units: chosen, length: length)
            title = "time gates of layer \(l + 1), \(TextPreparation.shown(text: (model as NSString).lastPathComponent))"
        } else {
            // Invariant: validate() required --period and --r-on without --model.
            curves = [CharInspection.timeGate(period: period!, shift: shift ?? 0, openRatio: rOn!, length: length)]
            title = String(format: "time gate k_t: τ = %.2f, s = %.2f, r_on = %.3f", curves[0].period, curves[0].shift, curves[0].openRatio)
        }
        var figure = [InspectionFigures.Curve](), dots = [(xs: [Double], ys: [Double])]()
        for (i, c) in curves.enumerated() {
            let params = String(format: "τ = %.2f, s = %.2f, r_on = %.3f", c.period, c.shift, c.openRatio)
            let name = c.unit.map { "unit \($0): \(params)" } ?? params
            print(name + String(format: "; open (k > 0.5) at %d of %d steps", c.stepK.filter { $0 > 0.5 }.count, c.stepK.count))
            figure.append(.init(name: name, xs: c.times, ys: c.k, colorIndex: i))
            dots.append((c.stepK.indices.map(Double.init), c.stepK))
        }
        try InspectionFigures.timeGate(figure, steps: dots, length: length, title: title, to: output)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]  // the same options print the same bytes
            let data = try encoder.encode(curves.map { StepGate(layer: $0.layer.map { $0 + 1 }, unit: $0.unit,
                                                                      period: $0.period, shift: $0.shift,
                                                                      openRatio: $0.openRatio, k: $0.stepK) })
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// The JSON of one gate: its parameters and k at the steps (the layer from 1).
    struct StepGate: Encodable {
        var layer: Int?
        var unit: Int?
        var period: Double
        var shift: Double
        var openRatio: Double
        var k: [Double]
    }
}
