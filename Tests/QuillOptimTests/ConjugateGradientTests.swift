import QuillNumerics
import XCTest
@testable import QuillOptim

/// Hessian-free optimisation's conjugate gradient (Martens 2010 §4): it solves A x = b for a positive-definite A, q
/// falls at every iteration, the kept iterates follow ⌈1.3^j⌉, and Martens's progress rule stops it early.
final class ConjugateGradientTests: XCTestCase {
    /// A = MᵀM + δI (n × n), b, and A's products.
    func problem(n: Int, seed: UInt64, shift: Double = 0.1) -> (a: [[Double]], b: [Double], apply: ([Double]) -> [Double]) {
        var rng = SeededGenerator(seed: seed)
        let m = (0..<n).map { _ in (0..<n).map { _ in rng.uniform() - 0.5 } }
        var a = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { a[i][j] += m[k][i] * m[k][j] } }; a[i][i] += shift }
        let b = (0..<n).map { _ in rng.uniform() - 0.5 }
        let matrix = a
        return (a, b, { x in matrix.map { row in zip(row, x).reduce(0.0) { $0 + $1.0 * $1.1 } } })
    }

    func testSolvesAPositiveDefiniteSystem() {
        let (a, b, apply) = problem(n: 12, seed: 1)
        let r = ConjugateGradient.minimize(apply: apply, b: b, maxIterations: 200, tolerance: 0)
        for i in 0..<12 {
            XCTAssertEqual(zip(a[i], r.x).reduce(0.0) { $0 + $1.0 * $1.1 }, b[i], accuracy: 1e-8)
        }
        // Exact arithmetic ends by n iterations; in floating point it ends within a few more, on a zero residual or
        // at the cap, never by the progress rule with ε = 0.
        XCTAssertTrue(["converged", "iterations"].contains(r.reason), r.reason)
        XCTAssertEqual(r.iterates.last?.x, r.x)
    }

    func testObjectiveFallsAndIteratesAreKeptGeometrically() {
        let (_, b, apply) = problem(n: 40, seed: 2, shift: 0.01)
        let r = ConjugateGradient.minimize(apply: apply, b: b, maxIterations: 30, tolerance: 0)
        XCTAssertEqual(r.reason, "iterations")
        XCTAssertEqual(r.products, 30)
        XCTAssertEqual(r.iterates.map(\.iteration), [1, 2, 3, 4, 5, 7, 9, 11, 14, 18, 24, 30])
        for (u, v) in zip(r.iterates, r.iterates.dropFirst()) { XCTAssertLessThan(v.q, u.q) }
        XCTAssertLessThan(r.q, 0)
    }

    /// A warm start is used as given (one extra product), and Martens's rule stops a slowly converging run early.
    func testWarmStartAndProgressRule() {
        let (_, b, apply) = problem(n: 60, seed: 3, shift: 1e-4)
        let cold = ConjugateGradient.minimize(apply: apply, b: b, maxIterations: 300, tolerance: 5e-4)
        XCTAssertEqual(cold.reason, "progress")
        XCTAssertGreaterThan(cold.iterates.last?.iteration ?? 0, 10)
        XCTAssertLessThan(cold.iterates.last?.iteration ?? 0, 300)
        let warm = ConjugateGradient.minimize(apply: apply, b: b, x0: cold.x.map { 0.95 * $0 }, maxIterations: 5, tolerance: 0)
        XCTAssertEqual(warm.products, 6)
        XCTAssertLessThan(warm.q, cold.q * 0.9, "a start near the solution begins near its q")
        // A zero start is the cold start; a vector with no positive curvature stops at once.
        XCTAssertEqual(ConjugateGradient.minimize(apply: apply, b: b, x0: [Double](repeating: 0, count: 60), maxIterations: 3,
                                                  tolerance: 0).products, 3)
        let flat = ConjugateGradient.minimize(apply: { $0.map { _ in 0 } }, b: b, maxIterations: 5)
        XCTAssertEqual(flat.reason, "curvature")
        XCTAssertEqual(flat.iterates.map(\.iteration), [0])
        XCTAssertEqual(flat.x, [Double](repeating: 0, count: 60))
    }
}
