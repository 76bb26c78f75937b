import QuillNumerics
import XCTest
@testable import QuillOptim

/// `HessianFree.step` on small functions with known curvature: it solves a quadratic in one step, keeps λ in its
/// range however the steps go, and restarts CG when its warm start is useless.
final class HessianFreeStepTests: XCTestCase {
    func param(_ w: [Double]) -> Parameter<Double> { Parameter<Double>("w", Tensor([w.count], w)) }

    /// L(θ) = ½ Σ a_i θ_i²: G = diag(a) exactly, so with little damping one step lands near the minimum.
    func testQuadratic() {
        let p = param([1, -2, 0.5]), a = [1.0, 4.0, 0.25]
        var config = OptimizerConfig(kind: .hf, learningRate: 1)
        config.damping = 1e-6
        let hf = HessianFree<Double>(config: config)
        func loss() -> Double { (0..<3).reduce(0.0) { $0 + 0.5 * a[$1] * p.value[$1] * p.value[$1] } }
        for i in 0..<3 { p.grad[i] = a[i] * p.value[i] }
        let r = hf.step([p], loss0: loss(), gaussNewton: { d, _ in for i in 0..<3 { p.grad[i] = a[i] * d[0][i] } }, loss: loss)
        XCTAssertLessThan(loss(), 1e-6)
        XCTAssertEqual(r.stepLength, 1)
        XCTAssertEqual(r.rho, 1, accuracy: 1e-3)
        XCTAssertLessThan(hf.lambda, 1e-6, "a good step shrinks λ")
    }

    /// A curvature that is far too small makes every step disappoint (ρ < 1/4): λ grows by 3/2 a step but stops at
    /// the top of its range; a zero gradient leaves it where it is.
    func testLambdaStaysInItsRange() {
        let p = param([1])
        let hf = HessianFree<Double>(config: OptimizerConfig(kind: .hf, learningRate: 1))
        func loss() -> Double { pow(p.value[0], 4) + p.value[0] * p.value[0] }
        for _ in 0..<400 {
            let x = p.value[0]
            p.grad[0] = 4 * x * x * x + 2 * x
            _ = hf.step([p], loss0: loss(), gaussNewton: { d, _ in p.grad[0] = 1e-9 * d[0][0] }, loss: loss)
            XCTAssertTrue(HessianFree<Double>.lambdaRange.contains(hf.lambda), "\(hf.lambda)")
            XCTAssertTrue(p.value[0].isFinite)
        }
        let before = hf.lambda
        p.grad[0] = 0
        let r = hf.step([p], loss0: loss(), gaussNewton: { d, _ in p.grad[0] = d[0][0] }, loss: loss)
        XCTAssertTrue(r.rho.isNaN)
        XCTAssertEqual(hf.lambda, before)
        XCTAssertEqual(r.stepLength, 0)
    }

    /// A previous step that makes the warm start useless (huge) is dropped: CG starts from zero and the step helps.
    func testUselessWarmStartIsDropped() {
        let p = param([1])
        let hf = HessianFree<Double>(config: OptimizerConfig(kind: .hf, learningRate: 1))
        func loss() -> Double { 0.5 * p.value[0] * p.value[0] }
        p.grad[0] = p.value[0]
        _ = hf.step([p], loss0: loss(), gaussNewton: { d, _ in p.grad[0] = d[0][0] }, loss: loss)
        for (name, t) in hf.stateTensors(for: [p]) where name.hasPrefix("hf.previous.") { t[0] = 1e300 }
        p.value[0] = 1
        p.grad[0] = 1
        let r = hf.step([p], loss0: loss(), gaussNewton: { d, _ in p.grad[0] = d[0][0] }, loss: loss)
        XCTAssertGreaterThan(r.stepLength, 0)
        XCTAssertLessThan(loss(), 0.5)
    }
}
