import Foundation
import QuillData
import QuillNN
import QuillNumerics
import XCTest
@testable import QuillModels

/// The inspection path of issue 16 (`quill char typo`, `quill char saturation`): activations as the plain forward pass
/// computes them, the typo distance, the saturation fractions and the refusals.
final class CharInspectionTests: XCTestCase {
    func model(_ cell: CellKind = .lstm, layers: Int = 2) -> (CharModel<Float>, Alphabet) {
        let alphabet = Alphabet(text: "abcdefgh ")
        var rng = SeededGenerator(seed: 4)
        return (CharModel<Float>(config: CharModelConfig(cell: cell, layers: layers, hidden: 6, vocabularySize: alphabet.count),
                                 rng: &rng), alphabet)
    }

    let text = String(repeating: "abc def gha bed ", count: 12)

    func testTracedStatesAreThoseOfOnePlainForwardPass() {
        let (m, alphabet) = model()
        let tokens = alphabet.encode(text)
        // One forward pass over the whole text, batch 1.
        let ws = m.makeWorkspace(steps: tokens.count, batch: 1)
        ws.stack.resetState()
        var rng = SeededGenerator(seed: 0)
        m.forward(tokens, ws, dropout: 0, rng: &rng)
        var checked = 0
        // Traced in chunks of 7 steps with the state carried: the same h, c and gates at every step.
        CharInspection.trace(m, rows: [tokens], chunk: 7) { t, step in
            let lws = ws.stack.layers[step.layer]
            let h = Array(step.h(0)), expected = Array(UnsafeBufferPointer(start: lws.hStep(t + 1), count: 6))
            for (a, b) in zip(h, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            let c = Array(step.c(0)!), ce = Array(UnsafeBufferPointer(start: lws.c!.ptr + (t + 1) * 6, count: 6))
            for (a, b) in zip(c, ce) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            let g = Array(step.gates(0)), ge = Array(UnsafeBufferPointer(start: lws.pre.ptr + t * 24, count: 24))
            for (a, b) in zip(g, ge) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            checked += 1
        }
        XCTAssertEqual(checked, 2 * tokens.count)
    }

    func testTheTypoDistanceIsZeroBeforeTheTypoAndNotAfter() throws {
        for cell in [CellKind.lstm, .gru, .rnn] {
            let (m, alphabet) = model(cell)
            let d = try CharInspection.typoDistances(m, alphabet: alphabet, text: text, position: 40, replacement: "h")
            XCTAssertEqual(d.count, 2)
            for layer in d {
                XCTAssertEqual(Array(layer[..<40]), [Double](repeating: 0, count: 40), "\(cell)")
                XCTAssertTrue(layer[40...].prefix(3).allSatisfy { $0 > 0 }, "\(cell): \(layer[40...].prefix(3))")
            }
        }
        let (m, alphabet) = model()
        XCTAssertThrowsError(try CharInspection.typoDistances(m, alphabet: alphabet, text: text, position: text.count,
                                                              replacement: "h")) {
            XCTAssertTrue("\($0)".contains("outside the text"), "\($0)")
        }
        XCTAssertThrowsError(try CharInspection.typoDistances(m, alphabet: alphabet, text: text, position: 0, replacement: "a")) {
            XCTAssertTrue("\($0)".contains("already at position 0"), "\($0)")
        }
        XCTAssertThrowsError(try CharInspection.typoDistances(m, alphabet: alphabet, text: "ab☃", position: 0, replacement: "c")) {
            XCTAssertTrue("\($0)".contains("'☃'"), "\($0)")
        }
    }

    func testSaturationFractionsCountTheGatesBeyondTheThresholds() throws {
        let (m, alphabet) = model(.lstm, layers: 1)
        // Force the forget gate open (bias +20) and the output gate shut (bias −20): every step saturates them.
        let b = m.stack.layers[0].bias.value
        for j in 0..<6 { b[6 + j] = 20; b[18 + j] = -20 }
        let s = try CharInspection.saturation(m, alphabet: alphabet, text: text)
        XCTAssertEqual(s.map(\.gate), ["input", "forget", "output"])
        XCTAssertEqual(s[1].right, [Double](repeating: 1, count: 6))
        XCTAssertEqual(s[1].left, [Double](repeating: 0, count: 6))
        XCTAssertEqual(s[2].left, [Double](repeating: 1, count: 6))
        for e in s { for (l, r) in zip(e.left, e.right) { XCTAssertTrue(l >= 0 && r >= 0 && l + r <= 1) } }
        XCTAssertEqual(try CharInspection.saturation(model(.gru).0, alphabet: alphabet, text: text).map(\.gate),
                       ["reset", "update", "reset", "update"])
        XCTAssertThrowsError(try CharInspection.saturation(model(.rnn).0, alphabet: alphabet, text: text)) {
            XCTAssertTrue("\($0)".contains("has no gates"), "\($0)")
        }
    }
}
