import Foundation
import QuillNumerics
import QuillOptim
import QuillTestSupport
import XCTest
@testable import QuillModels

/// Weight noise and adaptive weight noise (issue 15 item 7): the complexity loss's gradients against finite
/// differences, the reparameterised σ gradient, the noise's statistics, and a run with noise resumed exactly.
final class WeightNoiseTests: XCTestCase {
    func parameters() -> [Parameter<Float>] {
        var rng = SeededGenerator(seed: 5)
        let a = Parameter<Float>("a", Tensor<Float>([3, 4])), b = Parameter<Float>("b", Tensor<Float>([5]))
        for p in [a, b] { for i in 0..<p.count { p.value[i] = Float(rng.normal() * 0.5) } }
        return [a, b, Parameter<Float>("frozen", Tensor<Float>([2]), trainable: false)]
    }

    func testComplexityGradientsMatchFiniteDifferences() {
        let params = parameters()
        let noise = WeightNoise(.adaptive(0.2), parameters: params)
        XCTAssertEqual(noise.means.map(\.name), ["a", "b"], "untrained tensors get no noise")
        var rng = SeededGenerator(seed: 1)
        for s in noise.logSigmas { for i in 0..<s.count { s.value[i] = Float(log(0.05 + 0.3 * rng.uniform())) } }
        noise.perturb(rng: &rng)
        params.zeroGradients()  // no data gradient: restore adds the complexity's alone
        noise.logSigmas.zeroGradients()
        let lc = noise.restore(complexityScale: 1)
        XCTAssertEqual(lc, noise.complexity(), accuracy: 1e-9)
        XCTAssertGreaterThan(lc, 0)
        let h: Float = 1e-3
        for (tensors, what) in [(noise.means, "μ"), (noise.logSigmas, "s")] {
            for t in tensors {
                for i in 0..<t.count {
                    let v = t.value[i]
                    t.value[i] = v + h; let up = noise.complexity()
                    t.value[i] = v - h; let down = noise.complexity()
                    t.value[i] = v
                    let numeric = (up - down) / (2 * Double(h))
                    XCTAssertEqual(Double(t.grad[i]), numeric, accuracy: 2e-3 * max(1, abs(numeric)), "\(what) \(t.name)[\(i)]")
                }
            }
        }
    }

    func testTheSigmaGradientIsTheReparameterisedDataGradient() {
        // L(w) = Σ c_i w_i² / 2 at w = μ + e^s ε: ∂L/∂s_i = c_i w_i ε_i e^{s_i}.
        let params = parameters()
        let noise = WeightNoise(.adaptive(0.3), parameters: params)
        var rng = SeededGenerator(seed: 2)
        let mu = noise.means.map(\.value.array)
        noise.perturb(rng: &rng)
        let noisy = noise.means.map(\.value.array)
        let c: [Float] = (0..<17).map { Float($0 % 5 + 1) }
        var k = 0
        for p in noise.means { for i in 0..<p.count { p.grad[i] = c[k] * p.value[i]; k += 1 } }
        noise.logSigmas.zeroGradients()
        noise.restore(complexityScale: 0)
        XCTAssertEqual(noise.means.map(\.value.array), mu, "μ is back after the step")
        k = 0
        for (j, p) in noise.means.enumerated() {
            for i in 0..<p.count {
                let sigma = exp(Double(noise.logSigmas[j].value[i]))
                let eps = (Double(noisy[j][i]) - Double(mu[j][i])) / sigma
                let h = 1e-4, s = log(sigma)
                func loss(_ s: Double) -> Double { let w = Double(mu[j][i]) + exp(s) * eps; return Double(c[k]) * w * w / 2 }
                let numeric = (loss(s + h) - loss(s - h)) / (2 * h)
                XCTAssertEqual(Double(noise.logSigmas[j].grad[i]), numeric, accuracy: 1e-3 * max(1, abs(numeric)))
                k += 1
            }
        }
    }

    func testFixedNoiseHasItsSigmaAndLeavesTheWeightsAsTheyWere() {
        let w = Parameter<Float>("w", Tensor<Float>([100, 100]))
        let noise = WeightNoise(.fixed(0.075), parameters: [w])
        XCTAssertTrue(noise.logSigmas.isEmpty)
        var rng = SeededGenerator(seed: 3)
        noise.perturb(rng: &rng)
        let v = (0..<w.count).map { Double(w.value[$0]) }
        let sd = (v.map { $0 * $0 }.reduce(0, +) / Double(v.count)).squareRoot()
        XCTAssertEqual(sd, 0.075, accuracy: 0.002)
        XCTAssertEqual(noise.restore(complexityScale: 1), 0)
        XCTAssertEqual(w.value.array, [Float](repeating: 0, count: 10_000))
    }

    func options(_ dir: TempDir, _ out: String, steps: Int, noise: WeightNoiseOption?) throws -> CharTrainOptions {
        let text = dir.path("t.txt")
        if !FileManager.default.fileExists(atPath: text) {
            try String(repeating: "the cat sat on the mat; the dog ran. ", count: 30).write(toFile: text, atomically: true, encoding: .utf8)
        }
        var o = CharTrainOptions(dataPaths: [text], outDir: dir.path(out), model: CharModelConfig(layers: 1, hidden: 8, vocabularySize: 1))
        o.batch = 4; o.seq = 8; o.steps = steps; o.evalEvery = 3; o.logEvery = 3; o.sampleLength = 0; o.weightNoise = noise
        return o
    }

    func lines(_ dir: String) throws -> [[String: Any]] {
        try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func testAnAdaptiveRunReportsTheMDLLossAndResumesExactly() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let adaptive = WeightNoiseOption(sigma: 0.05, adaptive: true)
        try TrainingRun(options: try options(dir, "straight", steps: 20, noise: adaptive), resume: false).run()
        try TrainingRun(options: try options(dir, "split", steps: 9, noise: adaptive), resume: false).run()
        var rest = try CharTrainOptions.saved(outDir: dir.path("split"))
        XCTAssertEqual(rest.weightNoise, adaptive)
        rest.steps = 20
        try TrainingRun(options: rest, resume: true).run()
        let a = try SafeTensors.read(dir.path("straight/last.safetensors")).tensors
        let b = try SafeTensors.read(dir.path("split/last.safetensors")).tensors
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertTrue(a.keys.contains("noise.rnn.0.wx") && a.keys.contains("adam.m.noise.rnn.0.wx"), "\(a.keys.sorted())")
        for (k, v) in a { XCTAssertEqual(v.values, b[k]?.values, k) }
        let train = try lines(dir.path("straight")).filter { $0["kind"] as? String == "train" }
        let last = try XCTUnwrap(train.last)
        let loss = try XCTUnwrap(last["loss"] as? Double), lc = try XCTUnwrap(last["complexity"] as? Double)
        XCTAssertGreaterThan(lc, 0)
        XCTAssertEqual(try XCTUnwrap(last["mdl"] as? Double), loss + lc, accuracy: 1e-9)
        XCTAssertEqual(last["mdl_unit"] as? String, "nats/char")
        // The best model holds the means only.
        XCTAssertFalse(try SafeTensors.read(dir.path("straight/model.safetensors")).tensors.keys.contains { $0.hasPrefix("noise.") })
    }

    func testFixedNoiseChangesTrainingAndIsSaved() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try TrainingRun(options: try options(dir, "plain", steps: 6, noise: nil), resume: false).run()
        try TrainingRun(options: try options(dir, "noisy", steps: 6, noise: WeightNoiseOption(sigma: 0.075)), resume: false).run()
        XCTAssertEqual(try CharTrainOptions.saved(outDir: dir.path("noisy")).weightNoise, WeightNoiseOption(sigma: 0.075))
        XCTAssertNil(try CharTrainOptions.saved(outDir: dir.path("plain")).weightNoise)
        let plain = try SafeTensors.read(dir.path("plain/last.safetensors")).tensors["rnn.0.wx"]?.values
        let noisy = try SafeTensors.read(dir.path("noisy/last.safetensors")).tensors["rnn.0.wx"]?.values
        XCTAssertNotEqual(plain, noisy)
        XCTAssertEqual(try lines(dir.path("noisy")).first { $0["kind"] as? String == "train" }?["weight_noise_sigma"] as? Double, 0.075)
        var bad = try options(dir, "bad", steps: 1, noise: WeightNoiseOption(sigma: 2))
        bad.outDir = dir.path("bad")
        XCTAssertEqual(bad.validate(), "--weight-noise must be more than 0 and at most 1, got 2.0")
    }
}
