import QuillNumerics
import XCTest
@testable import QuillOptim

/// Optimiser steps against values computed by hand.
final class OptimizerTests: XCTestCase {
    func param(_ w: [Double], _ g: [Double]) -> Parameter<Double> {
        let p = Parameter<Double>("w", Tensor([w.count], w))
        for (i, v) in g.enumerated() { p.grad[i] = v }
        return p
    }

    func testAdamFirstStepMovesByLearningRateTimesSign() {
        // Step 1: m̂ = g, v̂ = g², so Δ = −lr·g/(|g| + ε) ≈ −lr·sign(g).
        let p = param([1, -2], [0.5, -3])
        let opt = Adam<Double>(config: OptimizerConfig(kind: .adam, learningRate: 0.1))
        opt.update([p])
        XCTAssertEqual(p.value[0], 1 - 0.1 * 0.5 / (0.5 + 1e-8), accuracy: 1e-12)
        XCTAssertEqual(p.value[1], -2 + 0.1 * 3 / (3 + 1e-8), accuracy: 1e-12)
    }

    func testAdamSecondStep() {
        let p = param([0], [1])
        let opt = Adam<Double>(config: OptimizerConfig(kind: .adam, learningRate: 0.01, epsilon: 0))
        opt.update([p])
        p.grad[0] = 2
        opt.update([p])
        // m = 0.9·0.1 + 0.1·2 = 0.29 ; v = 0.999·0.001 + 0.001·4 = 0.004999
        let mHat = 0.29 / (1 - 0.81), vHat = 0.004999 / (1 - 0.998001)
        XCTAssertEqual(p.value[0], -0.01 - 0.01 * mHat / vHat.squareRoot(), accuracy: 1e-12)
    }

    func testGravesRMSPropMatchesEquations38To45() {
        let p = param([1], [2])
        let opt = GravesRMSProp<Double>(config: OptimizerConfig(kind: .gravesRMSProp, learningRate: 1e-4))
        opt.update([p])
        // n = 0.05·4 = 0.2 ; g = 0.05·2 = 0.1 ; Δ = −1e-4·2/√(0.2 − 0.01 + 1e-4)
        let d1 = -1e-4 * 2 / (0.2 - 0.01 + 1e-4).squareRoot()
        XCTAssertEqual(p.value[0], 1 + d1, accuracy: 1e-15)
        p.grad[0] = -1
        opt.update([p])
        let n2 = 0.95 * 0.2 + 0.05 * 1, g2 = 0.95 * 0.1 - 0.05
        let d2 = 0.9 * d1 + 1e-4 / (n2 - g2 * g2 + 1e-4).squareRoot()
        XCTAssertEqual(p.value[0], 1 + d1 + d2, accuracy: 1e-15)
    }

    func testRMSProp() {
        let p = param([1], [2])
        let opt = RMSProp<Double>(config: OptimizerConfig(kind: .rmsprop, learningRate: 0.1, epsilon: 0))
        opt.update([p])
        XCTAssertEqual(p.value[0], 1 - 0.1 * 2 / (0.01 * 4).squareRoot(), accuracy: 1e-12)
    }

    func testSGDWithMomentum() {
        let p = param([1], [2])
        let opt = SGD<Double>(config: OptimizerConfig(kind: .sgd, learningRate: 0.1, momentum: 0.5))
        opt.update([p])
        XCTAssertEqual(p.value[0], 0.8, accuracy: 1e-12)
        opt.update([p])  // v = 0.5·2 + 2 = 3
        XCTAssertEqual(p.value[0], 0.5, accuracy: 1e-12)
    }

    func testFrozenParametersAreNotUpdated() {
        let p = param([1], [2])
        p.trainable = false
        let opt = Adam<Double>(config: OptimizerConfig(kind: .adam, learningRate: 0.1))
        opt.update([p])
        XCTAssertEqual(p.value[0], 1)
    }

    func testClipByGlobalNorm() {
        let a = param([0, 0], [3, 0]), b = param([0], [4])
        let norm = GradientClipping.clipByGlobalNorm([a, b], maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-12)
        XCTAssertEqual(a.grad[0], 0.6, accuracy: 1e-12)
        XCTAssertEqual(b.grad[0], 0.8, accuracy: 1e-12)
        XCTAssertEqual(GradientClipping.globalNorm([a, b]), 1, accuracy: 1e-12)
    }

    func testClipByValue() {
        let a = param([0, 0, 0], [150, -150, 3])
        GradientClipping.clipByValue([a], limit: 100)
        XCTAssertEqual(a.grad.array, [100, -100, 3])
    }

    func testLearningRateSchedule() {
        let s = LearningRateSchedule(initial: 1, factor: 0.5, every: 10, start: 5)
        XCTAssertEqual(s.rate(at: 0), 1)
        XCTAssertEqual(s.rate(at: 14), 1)
        XCTAssertEqual(s.rate(at: 15), 0.5)
        XCTAssertEqual(s.rate(at: 35), 0.125)
    }

    func testConfigValidation() {
        XCTAssertNotNil(OptimizerConfig(kind: .adam, learningRate: -1).validate())
        XCTAssertNotNil(OptimizerConfig(kind: .adam, learningRate: 0.1, momentum: 1.5).validate())
        XCTAssertNil(OptimizerConfig(kind: .gravesRMSProp, learningRate: 1e-4).validate())
    }
}
