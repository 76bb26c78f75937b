import Foundation
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import XCTest

/// `HandwritingModel.forwardState`, which a prime's rows are fed with (their mixture outputs are never read), moves
/// the state exactly as `forward` does: the steps after it give the same outputs bit for bit, so a primed line samples
/// the same bytes for a seed.
final class ForwardStateTests: XCTestCase {
    func testForwardStateMovesTheStateAsForwardDoes() throws {
        var rng = SeededGenerator(seed: 5)
        let alphabet = try Alphabet(storedSymbols: ["\u{FFFD}", " ", "a", "b", "c", "e", "h", "l", "o", "t"])
        let model = HandwritingModel<Float>(config: HandwritingConfig(kind: .synthesis, layers: 3, hidden: 16,
                                                                       mixture: MixtureDensity(components: 3),
                                                                       alphabetSize: alphabet.count), rng: &rng)
        let text = alphabet.encode("the cat hole")
        func workspace() -> HandwritingWorkspace<Float> {
            let ws = model.makeWorkspace(steps: 1, batch: 2, maxTextLength: text.count)
            for row in 0..<2 { ws.window!.setText(row: row, text) }  // Invariant: a synthesis model's workspace has a window.
            ws.resetState()
            ws.activeSteps = 1
            return ws
        }
        let full = workspace(), state = workspace()
        var inputs = SeededGenerator(seed: 9)
        func step(_ ws: HandwritingWorkspace<Float>, _ row: [Float], headless: Bool) {
            for i in 0..<row.count { ws.inputs[i] = row[i] }
            if headless { model.forwardState(ws) } else { model.forward(ws) }
            ws.stack.carryState()
        }
        let W = model.mixture.outputSize
        // 40 prime-like steps (head skipped on one side), then 10 steps with the head on both.
        for t in 0..<50 {
            let row: [Float] = (0..<2).flatMap { _ in
                [Float(inputs.normal()), Float(inputs.normal()), inputs.uniform() < 0.2 ? 1 : 0]
            }
            step(full, row, headless: false)
            step(state, row, headless: t < 40)
            if t >= 40 {
                let a = (0..<2 * W).map { full.y[$0].bitPattern }, b = (0..<2 * W).map { state.y[$0].bitPattern }
                XCTAssertEqual(a, b, "step \(t): the outputs after head-less steps differ")
            }
        }
    }
}
