import QuillData
import QuillNumerics

/// Mini-batches of handwriting sequences: samples of similar length grouped together, padded, with masks.
///
/// Sample k gives inputs x_0…x_{L−2} and targets x_1…x_{L−1} (rows of (dx, dy, eos)). Batches are formed once, from
/// samples sorted by length (so padding stays small); each epoch visits them in an order drawn from the seed and the
/// epoch number, so a resumed run sees the same order.
public struct StrokeBatches {
    /// Sample indices of each batch.
    public let batches: [[Int]]
    public let batchSize: Int
    /// The longest number of steps of any batch.
    public let maxSteps: Int
    /// The longest text of any sample.
    public let maxTextLength: Int

    /// - Parameters: samples with at least 2 points (and, when `needText`, a non-empty text) are used; longer than
    ///   `stepLimit` + 1 points are left out.
    public init(_ samples: [PreparedSample], batchSize: Int, stepLimit: Int, needText: Bool) {
        let usable = samples.indices.filter {
            samples[$0].count >= 2 && samples[$0].count - 1 <= stepLimit && (!needText || !samples[$0].characters.isEmpty)
        }
        let sorted = usable.sorted { (samples[$0].count, $0) < (samples[$1].count, $1) }
        var bs = [[Int]]()
        var i = 0
        while i < sorted.count {
            bs.append(Array(sorted[i..<min(i + batchSize, sorted.count)]))
            i += batchSize
        }
        batches = bs
        self.batchSize = batchSize
        maxSteps = (usable.map { samples[$0].count - 1 }.max() ?? 1)
        maxTextLength = max(1, usable.map { samples[$0].characters.count }.max() ?? 1)
    }

    /// The order in which epoch `epoch` visits the batches.
    public func order(epoch: Int, seed: UInt64) -> [Int] {
        var rng = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        var idx = Array(batches.indices)
        for i in stride(from: idx.count - 1, to: 0, by: -1) {
            let j = Int(rng.next() % UInt64(i + 1))
            idx.swapAt(i, j)
        }
        return idx
    }

    /// Copies one batch into a workspace: padded inputs, targets and mask, texts, and the active step count.
    /// Returns the number of unmasked steps.
    @discardableResult
    @_specialize(exported: true, where T == Float)
    public static func fill<T: QuillScalar>(_ ws: HandwritingWorkspace<T>, samples: [PreparedSample],
                                            indices: [Int]) -> Int {
        let B = ws.batch
        let steps = min(ws.steps, indices.map { samples[$0].count - 1 }.max() ?? 1)
        ws.activeSteps = max(steps, 1)
        ws.inputs.zero(); ws.targets.zero(); ws.mask.zero()
        var points = 0
        for (b, k) in indices.enumerated() where b < B {
            let s = samples[k]
            let L = min(s.count - 1, steps)
            for t in 0..<L {
                let inp = ws.inputs.ptr + (t * B + b) * 3, tgt = ws.targets.ptr + (t * B + b) * 3
                inp[0] = T(s.dx[t]); inp[1] = T(s.dy[t]); inp[2] = T(s.eos[t])
                tgt[0] = T(s.dx[t + 1]); tgt[1] = T(s.dy[t + 1]); tgt[2] = T(s.eos[t + 1])
                ws.mask[t * B + b] = 1
            }
            points += L
            ws.window?.setText(row: b, s.characters)
        }
        for b in indices.count..<B { ws.window?.setText(row: b, []) }
        ws.sequenceCount = min(indices.count, B)
        ws.resetState()
        return points
    }
}
