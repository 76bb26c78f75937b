import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

final class MixtureDensityTests: XCTestCase {
    /// ∂NLL/∂ŷ against finite differences, with masked rows and both end-of-stroke values.
    func testGradients() {
        var rng = SeededGenerator(seed: 21)
        let mdn = MixtureDensity(components: 3, sigmaFloor: 1e-3, rhoMax: 0.99)
        let N = 5
        let y = Tensor.random([N, mdn.outputSize], &rng, scale: 0.5)
        let targets = Tensor<Double>([N, 3])
        for n in 0..<N { targets[3 * n] = rng.normal(); targets[3 * n + 1] = rng.normal(); targets[3 * n + 2] = Double(n % 2) }
        let mask = Tensor<Double>([N], [1, 1, 0, 1, 1])
        let dy = Tensor<Double>([N, mdn.outputSize])
        _ = mdn.loss(y.ptr, targets: targets.ptr, mask: mask.ptr, rows: N, dy: dy.ptr)
        GradientCheck.check(name: "mdn.y", values: y.ptr, grads: dy.ptr, count: y.count, loss: {
            mdn.loss(y.ptr, targets: targets.ptr, mask: mask.ptr, rows: N, dy: nil).total
        }, maxChecks: 200)
        for j in 0..<mdn.outputSize { XCTAssertEqual(dy[2 * mdn.outputSize + j], 0, "masked row has no gradient") }
    }

    /// A large batch is cut over the kernel threads: each row's gradient and the totals (each row's terms summed in
    /// row order, masked rows skipped) keep the bits of one loop over the rows, which row-at-a-time calls give.
    func testThreadedRowsKeepTheBitsOfOneLoop() {
        var rng = SeededGenerator(seed: 5)
        let mdn = MixtureDensity(components: 20)
        let N = 1_301, W = mdn.outputSize
        let y = Tensor<Float>([N, W])
        for i in 0..<N * W { y[i] = Float(rng.normal()) }
        let targets = Tensor<Float>([N, 3]), mask = Tensor<Float>([N])
        for n in 0..<N {
            let x1 = Float(rng.normal()), x2 = Float(rng.normal())
            targets[3 * n] = x1
            targets[3 * n + 1] = x2
            targets[3 * n + 2] = n % 5 == 0 ? 1 : 0
            mask[n] = n % 97 == 3 ? 0 : 1
        }
        let dy = Tensor<Float>([N, W]), dyRow = Tensor<Float>([N, W])
        let whole = mdn.loss(y.ptr, targets: targets.ptr, mask: mask.ptr, rows: N, dy: dy.ptr, scale: 0.25)
        var offsets = 0.0, eos = 0.0
        for n in 0..<N {
            let r = mdn.loss(y.ptr + n * W, targets: targets.ptr + 3 * n, mask: mask.ptr + n, rows: 1,
                             dy: dyRow.ptr + n * W, scale: 0.25)
            if mask[n] != 0 { offsets += r.offsets; eos += r.endOfStroke }
        }
        XCTAssertEqual(whole.offsets.bitPattern, offsets.bitPattern)
        XCTAssertEqual(whole.endOfStroke.bitPattern, eos.bitPattern)
        XCTAssertEqual(whole.total.bitPattern, (offsets + eos).bitPattern)
        for i in 0..<N * W where dy[i].bitPattern != dyRow[i].bitPattern {
            return XCTFail("dy[\(i)] = \(dy[i]) threaded, \(dyRow[i]) row by row")
        }
    }

    /// With one component and known parameters the NLL is the closed-form bivariate normal.
    func testLossMatchesClosedForm() {
        let mdn = MixtureDensity(components: 1, sigmaFloor: 0, rhoMax: 0.999)
        let s1 = 0.7, s2 = 1.3, rho = 0.4
        let row: [Double] = [0.3, 0.0, 0.1, -0.2, Double.log(s1), Double.log(s2), Double.atanh(rho / 0.999)]
        let target: [Double] = [0.5, 0.4, 1]
        let l = mdn.loss(row, targets: target, mask: nil, rows: 1, dy: nil)
        let z1 = (0.5 - 0.1) / s1, z2 = (0.4 + 0.2) / s2
        let zz = z1 * z1 + z2 * z2 - 2 * rho * z1 * z2
        let density = Double.exp(-zz / (2 * (1 - rho * rho))) / (2 * Double.pi * s1 * s2 * (1 - rho * rho).squareRoot())
        XCTAssertEqual(l.offsets, -Double.log(density), accuracy: 1e-9)
        XCTAssertEqual(l.endOfStroke, -Double.log(1 / (1 + Double.exp(-0.3))), accuracy: 1e-12)
    }

    /// Unbiased draws have the mixture's moments.
    func testSamplingMatchesMoments() {
        let mdn = MixtureDensity(components: 2, sigmaFloor: 0, rhoMax: 0.999)
        // π = (0.25, 0.75), μ₁ = (1, −1), μ₂ = (0, 2), σ₁ = (0.5, 1), σ₂ = (1, 0.5), ρ = (0.5, −0.3), e = 0.2
        let rho1 = 0.5, rho2 = -0.3
        let row: [Double] = [Double.log(0.2 / 0.8), Double.log(1), Double.log(3), 1, -1, 0, 2,
                             Double.log(0.5), Double.log(1), Double.log(1), Double.log(0.5),
                             Double.atanh(rho1 / 0.999), Double.atanh(rho2 / 0.999)]
        var rng = SeededGenerator(seed: 8)
        let n = 200_000
        var sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0, eos = 0
        row.withUnsafeBufferPointer { p in
            for _ in 0..<n {
                let (x, y, e) = mdn.sample(p.baseAddress!, bias: 0, rng: &rng)
                sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y; eos += e ? 1 : 0
            }
        }
        let N = Double(n)
        let ex = 0.25 * 1 + 0.75 * -1, ey = 0.25 * 0 + 0.75 * 2
        let exx = 0.25 * (1 + 0.25) + 0.75 * (1 + 1)
        let eyy = 0.25 * (0 + 1) + 0.75 * (4 + 0.25)
        let exy = 0.25 * (1 * 0 + rho1 * 0.5 * 1) + 0.75 * (-1 * 2 + rho2 * 1 * 0.5)
        XCTAssertEqual(sx / N, ex, accuracy: 0.01)
        XCTAssertEqual(sy / N, ey, accuracy: 0.01)
        XCTAssertEqual(sxx / N, exx, accuracy: 0.02)
        XCTAssertEqual(syy / N, eyy, accuracy: 0.03)
        XCTAssertEqual(sxy / N, exy, accuracy: 0.02)
        XCTAssertEqual(Double(eos) / N, 0.2, accuracy: 0.005)
    }

    /// Bias sharpens: π = softmax(π̂(1+b)), σ = exp(σ̂ − b).
    func testBiasedParameters() {
        let mdn = MixtureDensity(components: 2, sigmaFloor: 0, rhoMax: 0.999)
        let row: [Double] = [0, 0, Double.log(2), 0, 0, 0, 0, 0, Double.log(2), 0, 0, 0, 0]
        let p0 = row.withUnsafeBufferPointer { mdn.parameters($0.baseAddress!, bias: 0) }
        let p1 = row.withUnsafeBufferPointer { mdn.parameters($0.baseAddress!, bias: 1) }
        XCTAssertEqual(p0.weights[1], 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(p1.weights[1], 4.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(p1.sigma1[1], 2 / Double.exp(1), accuracy: 1e-12)
    }
}
