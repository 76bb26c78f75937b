import Foundation
import QuillNumerics
import QuillOptim

/// Loss of a char model over a token sequence, in nats per character, and its next-step error.
public struct CharEvaluation: Equatable, Sendable {
    public let natsPerChar: Double
    public let characters: Int
    /// Characters whose most probable prediction (the arg-max of the output) was the character that came: the
    /// complement of Graves's "next-step classification error" (2013, Table 1).
    public var correct: Int = 0

    /// The loss summed over the characters, in nats (0 without characters).
    public var nats: Double { characters > 0 ? natsPerChar * Double(characters) : 0 }
    public var bitsPerChar: Double { natsPerChar / Double.log(2) }
    public var perplexity: Double { Double.exp(natsPerChar) }
    /// Next-step classification error, a fraction of the characters predicted (Graves 2013, Table 1's "error").
    public var error: Double { characters > 0 ? 1 - Double(correct) / Double(characters) : .nan }

    /// Perplexity per word, 2^(bits/char × characters a word), as Graves (2013, Table 1) converts BPC for Penn
    /// Treebank (with 5.6 characters a word there); `charactersPerWord` from `CharEvaluation.charactersPerWord`.
    public func perplexityPerWord(charactersPerWord: Double) -> Double {
        Double.pow(2, bitsPerChar * charactersPerWord)
    }

    /// Characters per word of a text: its length over its words (maximal runs of characters other than spaces
    /// and line breaks), so a word's share of the spaces counts, as in Graves's 5.6 for Penn Treebank. Nil for a
    /// text without words.
    public static func charactersPerWord(_ text: String) -> Double? {
        var words = 0, characters = 0, inWord = false
        for c in text {
            characters += 1
            let space = c.isWhitespace
            if !space && !inWord { words += 1 }
            inWord = !space
        }
        return words > 0 ? Double(characters) / Double(words) : nil
    }

    /// Evaluates by cutting `tokens` into up to `batch` contiguous streams, each read start to end with carried
    /// state, so every character but each stream's first is predicted with its full left context in the stream.
    ///
    /// With `dynamicLearningRate`, dynamic evaluation (Graves 2013, §3; Mikolov 2012): after each window of
    /// `steps` characters has been scored, the model takes one SGD step on that window's mean loss (its gradient's
    /// global norm clipped to `dynamicClip`), so each character is predicted by weights that have learned from the
    /// text before it but never from itself. This changes `model`'s weights; load it again for anything else. A
    /// rate of 0 gives the static figures.
    ///
    /// `streams`: a data-parallel rank's share (static evaluation only): it reads only the streams
    /// `streams.block(of: B)` of the B streams the whole evaluation cuts, and returns their characters and loss, so
    /// that the ranks' `nats`, `characters` and `correct` sum to the whole's (within float rounding); a share
    /// without streams returns 0 characters.
    /// - Parameter progress: called after each window with (windows done, windows in all).
    /// What `evaluate` allocates for `characters` of text in `batch` streams and windows of `steps`: the workspaces
    /// of a window and of the last, shorter one (a training step's activations over their rows, weights; no
    /// optimiser state). `--window 100000 --streams 128` on a 10 MB text needed over 24 GB and was killed.
    public static func memoryEstimate(_ config: CharModelConfig, characters: Int, batch: Int = 32,
                                      steps: Int = 128) -> MemoryEstimate {
        let streams = max(1, min(batch, (characters - 1) / 64))
        let predictable = max(characters / streams - 1, 1)
        let T = min(steps, predictable), rest = predictable % T
        return MemoryEstimate.charTraining(config, batch: streams, seq: T + rest, optimizer: .sgd, characters: characters)
            .withoutTraining(what: "char eval", advice: "lower --window or --streams")
    }

    public static func evaluate(_ model: CharModel<Float>, tokens: [Int32], batch: Int = 32,
                                steps: Int = 128, dynamicLearningRate: Double? = nil,
                                dynamicClip: Double = 5, streams shard: Shard = .whole,
                                progress: ((Int, Int) -> Void)? = nil) -> CharEvaluation {
        guard tokens.count >= 2 else { return CharEvaluation(natsPerChar: .nan, characters: 0) }
        // Dynamic evaluation's weights learn from every stream in turn: it cannot be split.
        precondition(dynamicLearningRate == nil || shard == .whole, "dynamic evaluation reads every stream")
        // Short texts use fewer streams, so each stream still has some context.
        let allStreams = max(1, min(batch, (tokens.count - 1) / 64))
        let L = tokens.count / allStreams
        let mine = shard.block(of: allStreams), B = mine.count, first = mine.lowerBound
        guard B > 0 else { return CharEvaluation(natsPerChar: .nan, characters: 0) }
        let predictable = L - 1
        let T = min(steps, predictable)
        let full = predictable / T, rest = predictable % T
        let ws = model.makeWorkspace(steps: T, batch: B)
        let wsRest = rest > 0 ? model.makeWorkspace(steps: rest, batch: B) : nil
        let params = model.parameters.filter(\.trainable)
        let sgd = dynamicLearningRate.map { SGD<Float>(config: OptimizerConfig(kind: .sgd, learningRate: $0, momentum: 0)) }
        var inputs = [Int32](repeating: 0, count: T * B), targets = inputs
        var total = 0.0, correct = 0
        var unused = SeededGenerator(seed: 0)
        func run(_ w: CharWorkspace<Float>, at pos: Int) {
            let n = w.steps
            for t in 0..<n {
                for b in 0..<B {
                    inputs[t * B + b] = tokens[(first + b) * L + pos + t]
                    targets[t * B + b] = tokens[(first + b) * L + pos + t + 1]
                }
            }
            if let sgd {
                params.zeroGradients()
                total += model.trainStep(inputs: inputs, targets: targets, w, dropout: 0, rng: &unused)
                correct += Self.correct(w, targets: targets, classes: model.config.vocabularySize)
                GradientClipping.clipByGlobalNorm(params, maxNorm: dynamicClip)
                sgd.update(params)
            } else {
                total += model.evaluate(inputs: inputs, targets: targets, w)
                correct += Self.correct(w, targets: targets, classes: model.config.vocabularySize)
            }
            w.carryState()
        }
        let windows = full + (rest > 0 ? 1 : 0)
        for k in 0..<full {
            run(ws, at: k * T)
            progress?(k + 1, windows)
        }
        if let w = wsRest {
            w.setState(ws.state())
            run(w, at: full * T)
            progress?(windows, windows)
        }
        let count = B * predictable
        return CharEvaluation(natsPerChar: total / Double(count), characters: count, correct: correct)
    }

    /// How many rows of the workspace's logits have their arg-max (the first, on ties) at the target.
    private static func correct(_ w: CharWorkspace<Float>, targets: [Int32], classes V: Int) -> Int {
        var n = 0
        let logits = w.logits.ptr
        for r in 0..<(w.steps * w.batch) {
            let row = logits + r * V
            var best = 0
            for j in 1..<V where row[j] > row[best] { best = j }
            if best == Int(targets[r]) { n += 1 }
        }
        return n
    }
}

/// Which part of a text a char model is evaluated on: the part training held out for validation, the part it trained
/// on, or all of it.
public enum CharTextPart: String, CaseIterable, Sendable {
    case all, train, val

    /// This part of `tokens`, split where training splits a text held out by `valFraction`
    /// (`CharTrainOptions.validationStart`).
    public func of(_ tokens: [Int32], valFraction: Double) -> [Int32] {
        let start = CharTrainOptions.validationStart(count: tokens.count, valFraction: valFraction)
        switch self {
        case .all: return tokens
        case .train: return Array(tokens[..<start])
        case .val: return Array(tokens[start...])
        }
    }
}

extension CharCheckpoint.Loaded {
    /// The options of the run that wrote the checkpoint (nil for a checkpoint without them, or with options of
    /// another kind).
    public var trainOptions: CharTrainOptions? {
        file.metadata["quill.train-options"].flatMap { try? JSONDecoder().decode(CharTrainOptions.self, from: Data($0.utf8)) }
    }
}
