import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

/// A recurrent layer fed token rows (`TokenRows`: a char model's embedding or one-hot input) projects the table once
/// and gathers; going back it sums the pre-activation gradients by token. The same layer fed the gathered rows
/// themselves is the reference.
final class TokenRowsTests: XCTestCase {
    /// A layer and a twin with the same weights, both with random values.
    private func layers<S: QuillScalar>(_ kind: CellKind, _ type: S.Type, inputSize I: Int, hidden H: Int,
                                        peepholes: Bool = false)
        -> (RecurrentLayer<S>, RecurrentLayer<S>) {
        var rng = SeededGenerator(seed: 11)
        let a = RecurrentLayer<S>(kind: kind, inputSize: I, hiddenSize: H, name: "l", peepholes: peepholes, rng: &rng)
        let b = RecurrentLayer<S>(kind: kind, inputSize: I, hiddenSize: H, name: "l", peepholes: peepholes, rng: &rng)
        for (pa, pb) in zip(a.parameters, b.parameters) {
            for i in 0..<pa.count {
                if pa.trainable && pa.valueBounds == nil { pa.value[i] = S(rng.uniform() - 0.5) }
                pb.value[i] = pa.value[i]
            }
        }
        return (a, b)
    }

    private func table<S: QuillScalar>(_ type: S.Type, rows V: Int, width I: Int?, rng: inout SeededGenerator)
        -> Parameter<S> {
        Embedding<S>(vocabularySize: V, dimension: I, name: "embedding", rng: &rng).table
    }

    /// `count` tokens in 0..<V, in a buffer that outlives the `TokenRows` holding it (free it).
    private func randomTokens(_ count: Int, below V: Int, rng: inout SeededGenerator) -> UnsafeMutableBufferPointer<Int32> {
        let b = UnsafeMutableBufferPointer<Int32>.allocate(capacity: count)
        for i in 0..<count { b[i] = Int32(min(Int(rng.uniform() * Double(V)), V - 1)) }
        return b
    }

    private func worst<S: QuillScalar>(_ a: [S], _ b: [S]) -> Double {
        let scale = max(b.map { abs(Double($0)) }.max() ?? 0, 1)
        return (zip(a, b).map { abs(Double($0) - Double($1)) }.max() ?? 0) / scale
    }

    /// Every cell that takes token rows, with a learned table and a one-hot one, in Double: outputs, every weight
    /// gradient and the table's gradient agree with the row path to rounding.
    func testTokenRowsMatchGatheredRowsInDouble() {
        for kind in [CellKind.lstm, .gru, .rnn, .rnnRelu, .phasedLSTM] {
            for oneHot in [false, true] {
                let (T, B, V) = (5, 3, 6)
                let I = oneHot ? V : 4, H = 7
                var rng = SeededGenerator(seed: 3)
                let (tokenLayer, rowLayer) = layers(kind, Double.self, inputSize: I, hidden: H,
                                                   peepholes: kind == .lstm)
                let table = table(Double.self, rows: V, width: oneHot ? nil : I, rng: &rng)
                let tokens = randomTokens(T * B, below: V, rng: &rng)
                defer { tokens.deallocate() }
                let x = tokens.flatMap { Array(table.value.array[Int($0) * I..<(Int($0) + 1) * I]) }
                let dh = (0..<(T * B * H)).map { _ in rng.normal() }
                let wsT = RecurrentWorkspace(layer: tokenLayer, steps: T, batch: B)
                let wsR = RecurrentWorkspace(layer: rowLayer, steps: T, batch: B)
                let input = TokenRows(tokens: UnsafePointer(tokens.baseAddress!), table: table)
                XCTAssertTrue(tokenLayer.takesTokenRows(input, steps: T, batch: B), "\(kind)")
                tokenLayer.forward(input, wsT)
                rowLayer.forward(x, wsR)
                tokenLayer.parameters.zeroGradients()
                rowLayer.parameters.zeroGradients()
                table.grad.zero()
                tokenLayer.backward(input, wsT, dh: dh)
                var dx = [Double](repeating: 0, count: T * B * I)
                rowLayer.backward(x, wsR, dh: dh, dx: &dx)
                let label = "\(kind)\(oneHot ? " one-hot" : "")"
                XCTAssertLessThanOrEqual(worst(Array(UnsafeBufferPointer(start: wsT.outputs, count: T * B * H)),
                                               Array(UnsafeBufferPointer(start: wsR.outputs, count: T * B * H))),
                                         1e-12, "\(label) h")
                for (pt, pr) in zip(tokenLayer.parameters, rowLayer.parameters) {
                    XCTAssertLessThanOrEqual(worst(pt.grad.array, pr.grad.array), 1e-12, "\(label) \(pt.name)")
                }
                // The table's gradient: dx summed by token (a one-hot table is not trained and keeps zero).
                var dTable = [Double](repeating: 0, count: V * I)
                if !oneHot {
                    for (r, v) in tokens.enumerated() { for i in 0..<I { dTable[Int(v) * I + i] += dx[r * I + i] } }
                }
                XCTAssertLessThanOrEqual(worst(table.grad.array, dTable), 1e-12, "\(label) table gradient")
            }
        }
    }

    /// In Float with a batch the fused step kernels take, against the row path in Double.
    func testTokenRowsOnTheFusedPathMatchDouble() {
        let (T, B, V, I, H) = (9, 8, 11, 5, 16)
        var rng = SeededGenerator(seed: 8)
        let (f, _) = layers(.lstm, Float.self, inputSize: I, hidden: H)
        let (d, _) = layers(.lstm, Double.self, inputSize: I, hidden: H)
        for (pf, pd) in zip(f.parameters, d.parameters) { for i in 0..<pf.count { pd.value[i] = Double(pf.value[i]) } }
        let tableF = table(Float.self, rows: V, width: I, rng: &rng)
        let tokens = randomTokens(T * B, below: V, rng: &rng)
        defer { tokens.deallocate() }
        let x = tokens.flatMap { v in (0..<I).map { Double(tableF.value[Int(v) * I + $0]) } }
        let dh = (0..<(T * B * H)).map { _ in rng.normal() }
        let wsF = RecurrentWorkspace(layer: f, steps: T, batch: B), wsD = RecurrentWorkspace(layer: d, steps: T, batch: B)
        let input = TokenRows(tokens: UnsafePointer(tokens.baseAddress!), table: tableF)
        f.forward(input, wsF)
        d.forward(x, wsD)
        f.parameters.zeroGradients()
        d.parameters.zeroGradients()
        tableF.grad.zero()
        f.backward(input, wsF, dh: dh.map(Float.init))
        var dx = [Double](repeating: 0, count: T * B * I)
        d.backward(x, wsD, dh: dh, dx: &dx)
        XCTAssertLessThanOrEqual(worst(Array(UnsafeBufferPointer(start: wsF.outputs, count: T * B * H)).map(Double.init),
                                       Array(UnsafeBufferPointer(start: wsD.outputs, count: T * B * H))), 1e-5)
        for (pf, pd) in zip(f.parameters, d.parameters) {
            XCTAssertLessThanOrEqual(worst(pf.grad.array.map(Double.init), pd.grad.array), 1e-5, pf.name)
        }
        var dTable = [Double](repeating: 0, count: V * I)
        for (r, v) in tokens.enumerated() { for i in 0..<I { dTable[Int(v) * I + i] += dx[r * I + i] } }
        XCTAssertLessThanOrEqual(worst(tableF.grad.array.map(Double.init), dTable), 1e-5, "table gradient")
    }

    /// Where the table would not be cheaper or the same computation, the layer keeps the row path.
    func testTokenRowsAreRefusedWhereTheyDoNotApply() {
        var rng = SeededGenerator(seed: 1)
        let table = table(Float.self, rows: 10, width: 4, rng: &rng)
        let tokens = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 40)
        tokens.initialize(repeating: 0)
        defer { tokens.deallocate() }
        let input = TokenRows(tokens: UnsafePointer(tokens.baseAddress!), table: table)
        let lstm = RecurrentLayer<Float>(kind: .lstm, inputSize: 4, hiddenSize: 3, name: "l", rng: &rng)
        XCTAssertTrue(lstm.takesTokenRows(input, steps: 10, batch: 2))
        XCTAssertFalse(lstm.takesTokenRows(input, steps: 1, batch: 20), "a single step (sampling)")
        XCTAssertFalse(lstm.takesTokenRows(input, steps: 3, batch: 3), "a table with more than half as many rows")
        let mrnn = RecurrentLayer<Float>(kind: .mrnn, inputSize: 4, hiddenSize: 3, name: "l", factors: 2, rng: &rng)
        XCTAssertFalse(mrnn.takesTokenRows(input, steps: 10, batch: 2), "the MRNN")
        let normalized = RecurrentLayer<Float>(kind: .lstm, inputSize: 4, hiddenSize: 3, name: "l", layerNorm: true,
                                               rng: &rng)
        XCTAssertFalse(normalized.takesTokenRows(input, steps: 10, batch: 2), "a layer-normalised layer")
        let wide = RecurrentLayer<Float>(kind: .lstm, inputSize: 5, hiddenSize: 3, name: "l", rng: &rng)
        XCTAssertFalse(wide.takesTokenRows(input, steps: 10, batch: 2), "a table of another width")
    }
}
