import Foundation
import QuillNumerics

/// Loss of a char model over a token sequence, in nats per character.
public struct CharEvaluation: Equatable, Sendable {
    public let natsPerChar: Double
    public let characters: Int

    public var bitsPerChar: Double { natsPerChar / Double.log(2) }
    public var perplexity: Double { Double.exp(natsPerChar) }

    /// Evaluates by cutting `tokens` into up to `batch` contiguous streams, each read start to end with carried
    /// state, so every character but each stream's first is predicted with its full left context in the stream.
    public static func evaluate(_ model: CharModel<Float>, tokens: [Int32], batch: Int = 32,
                                steps: Int = 128) -> CharEvaluation {
        guard tokens.count >= 2 else { return CharEvaluation(natsPerChar: .nan, characters: 0) }
        // Short texts use fewer streams, so each stream still has some context.
        let B = max(1, min(batch, (tokens.count - 1) / 64))
        let L = tokens.count / B
        let predictable = L - 1
        let T = min(steps, predictable)
        let full = predictable / T, rest = predictable % T
        let ws = model.makeWorkspace(steps: T, batch: B)
        let wsRest = rest > 0 ? model.makeWorkspace(steps: rest, batch: B) : nil
        var inputs = [Int32](repeating: 0, count: T * B), targets = inputs
        var total = 0.0
        func run(_ w: CharWorkspace<Float>, at pos: Int) {
            let n = w.steps
            for t in 0..<n {
                for b in 0..<B {
                    inputs[t * B + b] = tokens[b * L + pos + t]
                    targets[t * B + b] = tokens[b * L + pos + t + 1]
                }
            }
            total += model.evaluate(inputs: inputs, targets: targets, w)
            w.stack.carryState()
        }
        for k in 0..<full { run(ws, at: k * T) }
        if let w = wsRest {
            w.stack.setStates(ws.stack.states())
            run(w, at: full * T)
        }
        let count = B * predictable
        return CharEvaluation(natsPerChar: total / Double(count), characters: count)
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
