import ArgumentParser
import Foundation
import QuillData
import QuillModels

/// `quill eval`: a handwriting checkpoint's NLL, SSE and end-of-stroke error on a prepared dataset.
public struct EvalCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a handwriting model (prediction or synthesis) on a prepared dataset, in Graves's units.",
        discussion: """
        Prints, over every line of the part: the NLL in nats per sequence (Graves's log-loss, Tables 3 and 4) and \
        per point, its offset and end-of-stroke parts, the SSE (squared error of the mixture's mean offset, in the \
        model's normalised units, per point) and the end-of-stroke error rate. Offsets are normalised with the \
        model's statistics whatever the dataset's own; a dataset at another resolution, or with characters the \
        model can't encode, is refused. Lines run in length-sorted batches of --batch from a fresh state, as \
        training's validation does.
        """)

    @Option(help: DefaultModel.help(.synthesis, what: "Model directory (its model.safetensors) or checkpoint file, prediction or synthesis"))
    var model: String?
    @Option(help: "Prepared dataset (.qds, from quill data import).") var data: String
    @Option(help: "Which part of the dataset's split: val (default), train, or all lines. IAM-OnDB imported from its JSON lines carries Graves's split; other imports a seeded one.")
    var part: String = "val"
    @Option(help: "Lines per batch (1…64; memory grows with it: about 60 MB a line on IAM-OnDB at decimation 2); the result does not depend on it beyond rounding.")
    var batch = HandwritingEvaluation.defaultBatch
    @Flag(help: "Print the scores as one JSON object.") var json = false

    public init() {}

    public func validate() throws {
        if !["all", "val", "train"].contains(part) { throw ValidationError("--part must be all, val or train") }
        try OptionRange.check("batch", batch, 1...64)
        try refuseNonFiles([("--model", modelFile(DefaultModel.path(model, .synthesis))), ("--data", data)])
    }

    public func run() throws {
        let file = modelFile(try DefaultModel.path(model, .synthesis))
        let loaded = try HandwritingCheckpoint.load(file)
        let dataset = try PreparedFormat.load(path: data)
        let lines: [PreparedSample] = part == "all" ? dataset.samples
            : dataset.samples(in: part == "val" ? .validation : .train)
        let kind = loaded.model.config.kind
        let usable = HandwritingEvaluation.usable(lines, kind: kind)
        guard !usable.isEmpty else {
            throw CLIError("\(data): the \(part) part has no lines\(kind == .synthesis ? " with text" : "") to evaluate"
                + (part == "all" ? "" : "; try --part all"))
        }
        if usable.count < lines.count && !json {
            note("left out \(lines.count - usable.count) of the \(lines.count) lines: \(kind == .synthesis ? "no text or " : "")fewer than 2 points")
        }
        let samples = try HandwritingEvaluation.conformed(usable, of: dataset, path: data, kind: kind,
                                                          alphabet: loaded.alphabet, stats: loaded.stats)
        try MemoryBudget.current().check(HandwritingEvaluation.memoryEstimate(loaded.model.config, samples: samples, batch: batch))
        let bar = json ? nil : WorkProgress(after: 0)
        let scores = HandwritingEvaluation.evaluate(loaded.model, samples: samples, batch: batch) { done, total in
            bar?.update(done, total, unit: "lines")
        }
        bar?.finish()
        guard scores.natsPerSequence.isFinite, scores.sse.isFinite else {
            throw CLIError("\(file): the model's predictions are not finite numbers on \(data) (NLL \(scores.natsPerSequence)); the checkpoint is broken or diverged", status: .failure)
        }
        if json {
            var object: [String: Any] = [
                "model": file, "data": data, "part": part, "kind": kind.rawValue,
                "sequences": scores.sequences, "points": scores.points,
                "nats_per_sequence": scores.natsPerSequence, "nats_per_point": scores.natsPerPoint,
                "offset_nats_per_point": scores.offsetNats / Double(scores.points),
                "end_of_stroke_nats_per_point": scores.endOfStrokeNats / Double(scores.points),
                "sse": scores.sse, "end_of_stroke_error_rate": scores.endOfStrokeErrorRate,
            ]
            object["decimate"] = dataset.options.decimation ?? 1
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("\(file) (\(kind.rawValue)) on \(data), \(part) part: \(scores.sequences) lines, \(scores.points) points")
        print(String(format: "NLL: %.1f nats per sequence, %.4f nats per point (offsets %.4f, end of stroke %.4f)",
                     scores.natsPerSequence, scores.natsPerPoint, scores.offsetNats / Double(scores.points),
                     scores.endOfStrokeNats / Double(scores.points)))
        print(String(format: "SSE: %.4f per point (normalised offsets)   end-of-stroke error rate: %.4f",
                     scores.sse, scores.endOfStrokeErrorRate))
    }
}
