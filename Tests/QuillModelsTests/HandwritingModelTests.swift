import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// A tiny stroke dataset the tests make themselves: 'a' is a small loop, 'b' a vertical bar, each one stroke of
/// ten points, written left to right.
enum TinyHandwriting {
    static func rows(for text: [Int32]) -> (dx: [Float], dy: [Float], eos: [UInt8]) {
        var dx: [Float] = [0], dy: [Float] = [0], eos: [UInt8] = [0]
        for (i, c) in text.enumerated() {
            for k in 0..<10 {
                if k == 0 && i > 0 { dx.append(1.5); dy.append(0); eos.append(0); continue }
                if c == 1 {
                    let a = Float(k) / 9 * 2 * .pi
                    dx.append(0.3 * cos(a)); dy.append(0.3 * sin(a))
                } else {
                    dx.append(0.02); dy.append(k < 5 ? -0.4 : 0.4)
                }
                eos.append(k == 9 ? 1 : 0)
            }
        }
        return (dx, dy, eos)
    }

    static func dataset() -> PreparedDataset {
        let texts: [[Int32]] = [[1, 2], [2, 1], [1, 1, 2], [2, 2, 1], [1, 2, 1], [2, 1, 2], [1, 1], [2, 2]]
        var samples = [PreparedSample]()
        for (i, t) in texts.enumerated() {
            let r = rows(for: t)
            samples.append(PreparedSample(id: "tiny-\(i)", writer: nil, text: String(t.map { $0 == 1 ? "a" : "b" }),
                                          characters: t, split: i < 6 ? .train : .validation, originX: 0, originY: 0,
                                          dx: r.dx, dy: r.dy, eos: r.eos))
        }
        let header = PreparedHeader(format: .iamJSONL, options: PreprocessOptions(),
                                    stats: OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1),
                                    measuredStats: OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1),
                                    alphabet: Alphabet(policy: .frequency(minCount: 1), symbols: ["\u{FFFD}", "a", "b"]),
                                    splitUsed: "source")
        return PreparedDataset(header: header, samples: samples)
    }

    /// Trains a synthesis network of `config` on the dataset, in `dir/run`; returns the prepared file's path.
    @discardableResult
    static func train(in dir: TempDir, _ config: HandwritingConfig,
                      _ configure: (inout HandwritingTrainOptions) -> Void) throws -> String {
        let data = dir.path("tiny.qds")
        try PreparedFormat.write(dataset(), to: data)
        var o = HandwritingTrainOptions(dataPath: data, outDir: dir.path("run"), model: config)
        configure(&o)
        try TrainingRun(options: o, resume: false).run()
        return data
    }
}

final class HandwritingModelTests: XCTestCase {
    /// The whole synthesis network — layer 1 in step mode with the window fed back, layers 2–3 in sequence mode,
    /// skip connections, the mixture output, padding masks — against finite differences.
    func checkWholeModel(_ kind: HandwritingKind, peepholes: Bool = false) {
        var rng = SeededGenerator(seed: 17)
        let config = HandwritingConfig(kind: kind, layers: 3, hidden: 3,
                                       mixture: MixtureDensity(components: 2, sigmaFloor: 1e-3, rhoMax: 0.99),
                                       windowComponents: 2, kappaScale: 0.3, alphabetSize: 4, peepholes: peepholes)
        let model = HandwritingModel<Double>(config: config, rng: &rng)
        for l in model.stack.layers { if let p = l.peephole { for i in 0..<p.count { p.value[i] = rng.uniform() - 0.5 } } }
        let T = 5, B = 2
        let ws = model.makeWorkspace(steps: T, batch: B, maxTextLength: 3)
        for i in 0..<(T * B * 3) { ws.inputs[i] = rng.normal(); ws.targets[i] = rng.normal() }
        for i in 0..<(T * B) { ws.targets[3 * i + 2] = Double(i % 3 == 0 ? 1 : 0) }
        for i in 0..<(T * B) { ws.mask[i] = (i % B == 1 && i / B >= 3) ? 0 : 1 }   // row 1 is shorter
        ws.window?.setText(row: 0, [1, 3, 2])
        ws.window?.setText(row: 1, [2, 2])
        ws.sequenceCount = B
        func loss() -> Double {
            ws.resetState()
            return model.evaluate(ws).total / Double(B)
        }
        ws.resetState()
        model.parameters.zeroGradients()
        _ = model.trainStep(ws, outputClip: nil)
        for p in model.parameters { GradientCheck.check(p, loss: loss) }
    }

    func testSynthesisGradients() { checkWholeModel(.synthesis) }
    func testPredictionGradients() { checkWholeModel(.prediction) }
    func testSynthesisWithPeepholesGradients() { checkWholeModel(.synthesis, peepholes: true) }

    /// Configurations saved before peepholes existed still load, as plain LSTMs; peephole weights round-trip.
    func testPeepholeConfigAndCheckpoint() throws {
        let old = #"{"kind":"prediction","layers":2,"hidden":4,"mixture":{"components":2,"sigmaFloor":0.0001,"rhoMax":0.9999},"windowComponents":10,"kappaScale":0.04,"alphabetSize":0}"#
        let config = try JSONDecoder().decode(HandwritingConfig.self, from: Data(old.utf8))
        XCTAssertFalse(config.peepholes)
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 3)
        let model = HandwritingModel<Float>(config: HandwritingConfig(kind: .prediction, layers: 2, hidden: 4,
                                                                       mixture: MixtureDensity(components: 2),
                                                                       peepholes: true), rng: &rng)
        for l in model.stack.layers { for i in 0..<l.peephole!.count { l.peephole!.value[i] = Float(i) / 10 } }
        let path = dir.path("p.safetensors")
        try HandwritingCheckpoint.save(model, alphabet: try Alphabet(storedSymbols: ["\u{FFFD}"]), stats: OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1), to: path)
        let loaded = try HandwritingCheckpoint.load(path, expecting: .prediction)
        XCTAssertTrue(loaded.model.config.peepholes)
        XCTAssertEqual(loaded.model.stack.layers[1].peephole?.value.array, model.stack.layers[1].peephole?.value.array)
    }

    func testCheckpointRoundTripAndWrongKind() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 1)
        let model = HandwritingModel<Float>(config: HandwritingConfig(kind: .synthesis, layers: 2, hidden: 8,
                                                                       mixture: MixtureDensity(components: 3),
                                                                       alphabetSize: 3), rng: &rng)
        let stats = OffsetStatistics(meanDx: 1, meanDy: 2, stdDx: 3, stdDy: 4)
        let path = dir.path("m.safetensors")
        try HandwritingCheckpoint.save(model, alphabet: try Alphabet(storedSymbols: ["\u{FFFD}", "a", "b"]), stats: stats, to: path)
        let loaded = try HandwritingCheckpoint.load(path, expecting: .synthesis)
        XCTAssertEqual(loaded.stats, stats)
        XCTAssertEqual(loaded.alphabet.symbols, ["\u{FFFD}", "a", "b"])
        for (a, b) in zip(model.parameters, loaded.model.parameters) { XCTAssertEqual(a.value.array, b.value.array, a.name) }
        XCTAssertThrowsError(try HandwritingCheckpoint.load(path, expecting: .prediction)) { e in
            XCTAssertTrue("\(e)".contains("handwriting-synthesis model, but the command needs a handwriting-prediction"))
        }
        let charPath = dir.path("char.safetensors")
        try CharCheckpoint.save(CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 2, vocabularySize: 2), rng: &rng),
                                alphabet: Alphabet(text: "ab"), to: charPath)
        XCTAssertThrowsError(try HandwritingCheckpoint.load(charPath, expecting: .synthesis)) { e in
            XCTAssertTrue("\(e)".contains("char-lm model"))
        }
        // Identical sampling from the saved and the loaded model.
        let s1 = HandwritingSampler(model: model, alphabet: loaded.alphabet, stats: stats)
        let s2 = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: stats)
        let a = s1.write(["ab"], options: WriteOptions(bias: 0.5, stepsPerCharacter: 10), seed: 4)[0]
        let b = s2.write(["ab"], options: WriteOptions(bias: 0.5, stepsPerCharacter: 10), seed: 4)[0]
        XCTAssertEqual(a.dx, b.dx)
        XCTAssertEqual(a.eos, b.eos)
    }

    /// A tiny synthesis model overfits a tiny dataset, its window walks through the text in order, and sampling
    /// stops by Graves's rule.
    func testTinySynthesisOverfitsAndAligns() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try TinyHandwriting.train(in: dir, HandwritingConfig(
            kind: .synthesis, layers: 2, hidden: 24, mixture: MixtureDensity(components: 3), windowComponents: 2,
            kappaScale: 0.1)) { o in
            o.batch = 6; o.steps = 300; o.evalEvery = 100
            o.optimizer = .init(kind: .adam, learningRate: 1e-2); o.lrSchedule = .init(initial: 1e-2)
        }
        let metrics = try String(contentsOfFile: dir.path("run/metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let train = metrics.filter { $0["kind"] as? String == "train" }.compactMap { $0["loss"] as? Double }
        XCTAssertLessThan(train.last!, train.first! - 2.0, "training loss fell from \(train.first!) to \(train.last!)")

        let loaded = try HandwritingCheckpoint.load(dir.path("run/last.safetensors"), expecting: .synthesis)
        // Teacher-forced pass over a training sample: argmax φ moves through the characters in order.
        let ds = TinyHandwriting.dataset()
        let sample = ds.samples[2]   // "aab"
        let ws = loaded.model.makeWorkspace(steps: sample.count - 1, batch: 1, maxTextLength: 3)
        StrokeBatches.fill(ws, samples: ds.samples, indices: [2])
        loaded.model.forward(ws)
        var argmax = [Int]()
        for t in 0..<(sample.count - 1) {
            let phi = ws.window!.phi.ptr + t * 4
            argmax.append((0..<3).max { phi[$0] < phi[$1] }!)
        }
        XCTAssertEqual(argmax.first, 0)
        XCTAssertEqual(argmax.last, 2)
        XCTAssertEqual(argmax, argmax.sorted(), "φ's peak moves monotonically: \(argmax)")

        let sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
        let g = sampler.write(["ab", "bba"], options: WriteOptions(bias: 2, stepsPerCharacter: 30, record: true), seed: 3)
        XCTAssertTrue(g[0].finished && g[1].finished, "both lines end by the stopping rule")
        XCTAssertLessThan(g[0].dx.count, 60)
        XCTAssertEqual(g[0].phi.first?.count, 2)
    }

    func testTextPolicyHelpers() throws {
        var rng = SeededGenerator(seed: 1)
        let model = HandwritingModel<Float>(config: HandwritingConfig(kind: .synthesis, layers: 1, hidden: 4,
                                                                       mixture: MixtureDensity(components: 2),
                                                                       alphabetSize: 3), rng: &rng)
        let sampler = HandwritingSampler(model: model, alphabet: try Alphabet(storedSymbols: ["\u{FFFD}", "a", "b"]),
                                         stats: OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1))
        XCTAssertEqual(sampler.alphabet.unknownCharacters(in: "abcab☃"), ["c", "☃"])
        XCTAssertEqual(sampler.encode("abz"), [1, 2, 0])
    }
}
