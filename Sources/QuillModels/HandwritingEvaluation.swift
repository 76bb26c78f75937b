import QuillData
import QuillNN
import QuillNumerics

/// How well a handwriting network predicts a set of lines, in Graves's units (Tables 3 and 4).
public struct HandwritingScores: Codable, Equatable, Sendable {
    /// Lines and predicted points (every point after the first of each line).
    public var sequences: Int
    public var points: Int
    /// Negative log-likelihood in nats summed over all points, and its offset and end-of-stroke parts (eq. 26 and
    /// eq. 62's terms), with offsets in the model's normalised units.
    public var nats: Double
    public var offsetNats: Double
    public var endOfStrokeNats: Double
    /// Sum over the points of the squared error of the predicted offset, ‖x_{t+1} − Σ_j π^j_t μ^j_t‖² (the mixture's
    /// mean; dx and dy in the model's normalised units), divided by the number of points.
    public var sse: Double
    /// Share of points whose end-of-stroke bit is mispredicted (e_t > 0.5 against the data's x₃).
    public var endOfStrokeErrorRate: Double

    /// NLL per line in nats: Graves's "log-loss" per sequence (Tables 3 and 4; negative, as densities of
    /// normalised offsets exceed 1).
    public var natsPerSequence: Double { sequences > 0 ? nats / Double(sequences) : .nan }
    public var natsPerPoint: Double { points > 0 ? nats / Double(points) : .nan }
}

/// Why a dataset can't be evaluated with a model.
public struct EvaluationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Evaluation of handwriting networks on prepared data: the one code path for `quill eval` and for the
/// validation of a training run, so both print the same number for the same checkpoint and lines.
public enum HandwritingEvaluation {
    /// Lines a batch when none is given: a new handwriting run's batch, which its validation uses.
    public static var defaultBatch: Int { HandwritingTrainOptions.defaults.batch }

    /// The lines a network of `kind` can be scored on: at least 2 points (one prediction), and for synthesis a
    /// transcription to condition on.
    public static func usable(_ lines: [PreparedSample], kind: HandwritingKind) -> [PreparedSample] {
        lines.filter { $0.count >= 2 && (kind == .prediction || !$0.characters.isEmpty) }
    }

    /// The dataset's samples in the model's terms: offsets normalised with the model's statistics (whatever the
    /// dataset's own), texts encoded in the model's alphabet (synthesis).
    ///
    /// Texts are encoded afresh from each line's transcription, so how the import grouped rare characters does
    /// not matter: a character the model has gets its own index; one the model lacks is read as its unknown symbol
    /// (index 0) when the dataset also treats it as unknown, as in training.
    /// - Throws: `EvaluationError` when the dataset's offsets are on another scale than the model's (another
    ///   decimation or source: the raw offsets' spread, or their mean step to the right, differs from the model's by
    ///   more than 25%), when an offset is not finite, or when the lines use characters the dataset has as symbols
    ///   of their own but the model lacks (named).
    public static func conformed(_ samples: [PreparedSample], of dataset: PreparedDataset, path: String,
                                 kind: HandwritingKind, alphabet: Alphabet, stats: OffsetStatistics) throws -> [PreparedSample] {
        let raw = dataset.header.measuredStats, d = dataset.stats
        var checks = [("spread of dx", raw.stdDx, stats.stdDx), ("spread of dy", raw.stdDy, stats.stdDy)]
        // The mean step to the right grows in proportion to the decimation, where the spread grows more slowly.
        if abs(stats.meanDx) > 0.1 * stats.stdDx { checks.append(("mean dx", raw.meanDx, stats.meanDx)) }
        for (name, a, b) in checks where !(a / b >= 0.8 && a / b <= 1.25) {
            throw EvaluationError("\(path): its offsets are on another scale than the model's (\(name) "
                + "\(String(format: "%.1f", a)) against \(String(format: "%.1f", b))): prepare it with the decimation "
                + "and source the model was trained on (--decimate)")
        }
        if let bad = samples.first(where: { s in !s.dx.allSatisfy(\.isFinite) || !s.dy.allSatisfy(\.isFinite) }) {
            throw EvaluationError("\(path): line \(bad.id) has an offset that is not a finite number; re-import it")
        }
        var out = samples
        if d != stats {
            // Undo the dataset's normalisation and apply the model's.
            for k in out.indices {
                for i in 0..<out[k].count {
                    let n = stats.normalise(d.denormalise(Point(x: Double(out[k].dx[i]), y: Double(out[k].dy[i]))))
                    out[k].dx[i] = Float(n.x)
                    out[k].dy[i] = Float(n.y)
                }
            }
        }
        guard kind == .synthesis else { return out }
        var missing = [Unicode.Scalar]()
        for k in out.indices {
            guard let text = out[k].text else { continue }
            out[k].characters = alphabet.encode(text)
            for s in alphabet.unknownCharacters(in: text)
            where dataset.alphabet.index(of: s) != nil && !missing.contains(s) { missing.append(s) }
        }
        if !missing.isEmpty {
            let names = missing.map { TextPreparation.shown(Character($0)) }
            throw EvaluationError("\(path): the model's alphabet lacks \(names.joined(separator: ", ")), used by its lines; "
                + "evaluate with a model whose alphabet has them")
        }
        return out
    }

    /// Scores `samples` (already `conformed`): lines sorted by length and run in batches of `batch`, each from a
    /// fresh state, every point of every line predicted (synthesis: lines without text are left out).
    /// - Parameter progress: called after each batch with (lines done, lines in all).
    /// What `evaluate` allocates for `samples` in batches of `batch`: the workspace of a training step sized to the
    /// longest line (`MemoryEstimate.handwritingTraining`'s weights and activations; no optimiser state, no checkpoint
    /// copies). A page-long line of a quarter of a million points needs tens of GiB: `MemoryBudget.check` refuses
    /// it before anything is allocated.
    public static func memoryEstimate(_ config: HandwritingConfig, samples: [PreparedSample],
                                      batch: Int = defaultBatch) -> MemoryEstimate {
        let batches = StrokeBatches(samples, batchSize: batch, stepLimit: Int.max, needText: config.kind == .synthesis)
        // `evaluate` sizes its workspace for `batch` lines, however few there are.
        return MemoryEstimate.handwritingTraining(config, batch: batch, steps: batches.maxSteps,
                                                  maxTextLength: batches.maxTextLength, optimizer: .sgd)
            .withoutTraining(what: "evaluating \(config.kind.rawValue) on lines of up to \(batches.maxSteps + 1) points",
                             advice: "lower --batch, or import the data again with --max-points to cut long lines")
    }

    public static func evaluate(_ model: HandwritingModel<Float>, samples: [PreparedSample], batch: Int = defaultBatch,
                                progress: ((Int, Int) -> Void)? = nil) -> HandwritingScores {
        let batches = StrokeBatches(samples, batchSize: batch, stepLimit: Int.max, needText: model.config.kind == .synthesis)
        var scores = HandwritingScores(sequences: 0, points: 0, nats: 0, offsetNats: 0, endOfStrokeNats: 0, sse: 0,
                                       endOfStrokeErrorRate: 0)
        guard !batches.batches.isEmpty else { return scores }
        let ws = model.makeWorkspace(steps: batches.maxSteps, batch: batch, maxTextLength: batches.maxTextLength)
        let M = model.mixture.components, W = model.mixture.outputSize
        var squared = 0.0, wrongEOS = 0
        var done = 0
        let total = batches.batches.reduce(0) { $0 + $1.count }
        for idx in batches.batches {
            scores.points += StrokeBatches.fill(ws, samples: samples, indices: idx)
            let loss = model.evaluate(ws)
            scores.nats += loss.total
            scores.offsetNats += loss.offsets
            scores.endOfStrokeNats += loss.endOfStroke
            scores.sequences += idx.count
            for r in 0..<(ws.activeSteps * ws.batch) where ws.mask[r] != 0 {
                let row = ws.y.ptr + r * W, target = ws.targets.ptr + 3 * r
                // π = softmax(π̂) (eq. 19), the prediction is the mixture's mean Σ π_j μ_j.
                var mx = -Float.infinity
                for j in 0..<M { mx = max(mx, row[1 + j]) }
                var z = 0.0, m1 = 0.0, m2 = 0.0
                for j in 0..<M {
                    let p = Double.exp(Double(row[1 + j] - mx))
                    z += p; m1 += p * Double(row[1 + M + j]); m2 += p * Double(row[1 + 2 * M + j])
                }
                let e1 = Double(target[0]) - m1 / z, e2 = Double(target[1]) - m2 / z
                squared += e1 * e1 + e2 * e2
                // e_t > 0.5 exactly when ê_t > 0 (eq. 18).
                if (row[0] > 0) != (target[2] > 0.5) { wrongEOS += 1 }
            }
            done += idx.count
            progress?(done, total)
        }
        scores.sse = scores.points > 0 ? squared / Double(scores.points) : .nan
        scores.endOfStrokeErrorRate = scores.points > 0 ? Double(wrongEOS) / Double(scores.points) : .nan
        return scores
    }
}
