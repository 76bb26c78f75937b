import Foundation
import QuillData
@testable import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

final class CharModelTests: XCTestCase {
    /// The whole model (embedding, skip-connected stack with dropout, output, cross-entropy) against finite differences.
    func testWholeModelGradients() {
        var rng = SeededGenerator(seed: 3)
        let config = CharModelConfig(cell: .lstm, layers: 2, hidden: 5, embedding: 4, dropout: 0.2,
                                     skipConnections: true, vocabularySize: 7)
        let model = CharModel<Double>(config: config, rng: &rng)
        let ws = model.makeWorkspace(steps: 3, batch: 2)
        let inputs: [Int32] = [0, 3, 6, 2, 5, 1], targets: [Int32] = [3, 6, 2, 5, 1, 4]
        let maskRNG = SeededGenerator(seed: 77)
        func loss() -> Double {
            var r = maskRNG
            ws.resetState()
            model.forward(inputs, ws, dropout: 0.2, rng: &r)
            return SoftmaxCrossEntropy.loss(logits: ws.logits.ptr, targets: targets, rows: 6, classes: 7, dLogits: nil) / 6
        }
        var r = maskRNG
        ws.resetState()
        model.parameters.zeroGradients()
        _ = model.trainStep(inputs: inputs, targets: targets, ws, dropout: 0.2, rng: &r)
        for p in model.parameters where p.trainable { GradientCheck.check(p, loss: loss) }
    }

    /// The same with a window long enough (T·B ≥ 2V) for layer 1 to take its input from the token table
    /// (`TokenRows`): with and without skip connections, with a learned embedding and a one-hot input.
    func testWholeModelGradientsThroughTheTokenTable() {
        for (skip, embedding) in [(true, 4), (false, 4), (false, 0), (true, 0)] {
            var rng = SeededGenerator(seed: 5)
            let config = CharModelConfig(cell: .lstm, layers: 2, hidden: 5, embedding: embedding, dropout: 0.2,
                                         skipConnections: skip, vocabularySize: 5)
            let model = CharModel<Double>(config: config, rng: &rng)
            let ws = model.makeWorkspace(steps: 4, batch: 3)
            let inputs: [Int32] = [0, 3, 4, 2, 1, 1, 3, 0, 2, 4, 4, 1]
            let targets: [Int32] = [3, 4, 2, 1, 1, 3, 0, 2, 4, 4, 1, 0]
            let maskRNG = SeededGenerator(seed: 77)
            func loss() -> Double {
                var r = maskRNG
                ws.resetState()
                model.forward(inputs, ws, dropout: 0.2, rng: &r)
                return SoftmaxCrossEntropy.loss(logits: ws.logits.ptr, targets: targets, rows: 12, classes: 5,
                                                dLogits: nil) / 12
            }
            var r = maskRNG
            ws.resetState()
            model.parameters.zeroGradients()
            _ = model.trainStep(inputs: inputs, targets: targets, ws, dropout: 0.2, rng: &r)
            XCTAssertTrue(ws.stack?.firstLayerTookTokens ?? false, "skip \(skip), embedding \(embedding)")
            for p in model.parameters where p.trainable { GradientCheck.check(p, loss: loss) }
        }
    }

    func makeTinyText() -> String {
        String(repeating: "the cat sat on the mat. a dog ran to the log.\n", count: 40)
    }

    func options(_ dir: TempDir, data: String, steps: Int) -> CharTrainOptions {
        var o = CharTrainOptions(dataPaths: [data], outDir: dir.path("run"),
                                 model: CharModelConfig(cell: .lstm, layers: 2, hidden: 24, vocabularySize: 1))
        o.batch = 4; o.seq = 16; o.steps = steps; o.evalEvery = 5; o.sampleLength = 10; o.seed = 9
        o.model.dropout = 0.1
        return o
    }

    /// A run interrupted and resumed ends with exactly the weights of a straight run.
    func testResumeEqualsStraightRun() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.txt")
        try makeTinyText().write(toFile: data, atomically: true, encoding: .utf8)

        var straight = options(dir, data: data, steps: 12)
        straight.outDir = dir.path("straight")
        try TrainingRun(options: straight, resume: false).run()

        var first = options(dir, data: data, steps: 7)
        first.outDir = dir.path("split")
        try TrainingRun(options: first, resume: false).run()
        var second = try CharTrainOptions.saved(outDir: first.outDir)
        second.steps = 12
        try TrainingRun(options: second, resume: true).run()

        let a = try SafeTensors.read(dir.path("straight/last.safetensors"))
        let b = try SafeTensors.read(dir.path("split/last.safetensors"))
        XCTAssertEqual(Set(a.tensors.keys), Set(b.tensors.keys))
        for (name, e) in a.tensors { XCTAssertEqual(e, b.tensors[name], "tensor \(name) differs after resume") }
        // Elapsed time differs between runs; the rest of the trainer state must not.
        let stA = try JSONDecoder().decode(CharTrainerState.self, from: Data(a.metadata["quill.trainer"]!.utf8))
        let stB = try JSONDecoder().decode(CharTrainerState.self, from: Data(b.metadata["quill.trainer"]!.utf8))
        XCTAssertEqual(stA.step, 12); XCTAssertEqual(stA.step, stB.step)
        XCTAssertEqual(stA.position, stB.position); XCTAssertEqual(stA.rng, stB.rng)
    }

    /// Save, load, identical outputs.
    func testCheckpointRoundTrip() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 5)
        for cell in CellKind.allCases {
            let config = CharModelConfig(cell: cell, layers: 2, hidden: 6, embedding: cell == .gru ? 3 : 0,
                                         skipConnections: cell == .lstm, vocabularySize: 5,
                                         context: cell == .nnn ? 3 : nil, dilations: cell == .tcn ? [1, 2] : nil)
            XCTAssertNil(config.validate(), "\(cell)")
            let model = CharModel<Float>(config: config, rng: &rng)
            let vocab = Alphabet(text: "abcde")
            let path = dir.path("\(cell).safetensors")
            try CharCheckpoint.save(model, alphabet: vocab, to: path)
            let loaded = try CharCheckpoint.load(path)
            XCTAssertEqual(loaded.alphabet, vocab)
            XCTAssertEqual(loaded.model.config, config)
            let w1 = model.makeWorkspace(steps: 2, batch: 1), w2 = loaded.model.makeWorkspace(steps: 2, batch: 1)
            _ = model.evaluate(inputs: [1, 2], targets: [2, 3], w1)
            _ = loaded.model.evaluate(inputs: [1, 2], targets: [2, 3], w2)
            XCTAssertEqual(w1.logits.array, w2.logits.array, "\(cell)")
        }
    }

    func testCorruptAndTruncatedCheckpointsAreRejected() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 5)
        let model = CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 4, vocabularySize: 3), rng: &rng)
        let path = dir.path("m.safetensors")
        try CharCheckpoint.save(model, alphabet: Alphabet(text: "abc"), to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for cut in [0, 4, 12, bytes.count / 2, bytes.count - 1] {
            let p = dir.path("cut\(cut).safetensors")
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try CharCheckpoint.load(p)) { e in
                XCTAssertTrue("\(e)".contains(p), "error names the file: \(e)")
                XCTAssertTrue("\(e)".contains("corrupt or truncated"), "\(e)")
            }
        }
        var garbled = bytes
        garbled[10] = 0x7b; garbled[11] = 0x7b
        try garbled.write(to: URL(fileURLWithPath: dir.path("g.safetensors")))
        XCTAssertThrowsError(try CharCheckpoint.load(dir.path("g.safetensors")))
        XCTAssertThrowsError(try CharCheckpoint.load(dir.path("missing.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("no such model file"))
        }
    }

    func testSeededSamplingIsDeterministic() throws {
        var rng = SeededGenerator(seed: 1)
        let model = CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 8, vocabularySize: 4), rng: &rng)
        let sampler = CharSampler(model: model, alphabet: Alphabet(text: "ab c"))
        var r1 = SeededGenerator(seed: 42), r2 = SeededGenerator(seed: 42), r3 = SeededGenerator(seed: 43)
        let a = try sampler.sample(prime: "ab", length: 200, rng: &r1)
        let b = try sampler.sample(prime: "ab", length: 200, rng: &r2)
        let c = try sampler.sample(prime: "ab", length: 200, rng: &r3)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(a.unicodeScalars.count, 200)
        XCTAssertEqual(try sampler.beam(prime: "a", length: 20, width: 3), try sampler.beam(prime: "a", length: 20, width: 3))
    }

    func testPrimeWithUnknownCharactersNamesThem() throws {
        var rng = SeededGenerator(seed: 1)
        let model = CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 4, vocabularySize: 3), rng: &rng)
        let sampler = CharSampler(model: model, alphabet: Alphabet(text: "abc"))
        XCTAssertThrowsError(try sampler.sample(prime: "abz€", length: 3, rng: &rng)) { e in
            XCTAssertEqual("\(e)", "the priming text has characters the model's vocabulary lacks: 'z', '€'; remove them or train on text that has them")
        }
        // Invisible ones by code point, as every message shows them.
        XCTAssertThrowsError(try sampler.sample(prime: "a\tb\r\u{200B}", length: 3, rng: &rng)) { e in
            XCTAssertTrue("\(e)".contains("lacks: U+0009, U+000D, U+200B;"), "\(e)")
        }
    }

    /// A tiny text is overfitted to near-zero loss, and greedy sampling then reproduces it.
    func testOverfitsTinyText() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.txt")
        let text = "hello quill, write me a line.\n"
        try String(repeating: text, count: 12).write(toFile: data, atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [data], outDir: dir.path("run"),
                                 model: CharModelConfig(layers: 1, hidden: 48, vocabularySize: 1))
        o.batch = 2; o.seq = 30; o.steps = 250; o.valFraction = 0; o.evalEvery = 1000; o.sampleLength = 0
        o.optimizer = .init(kind: .adam, learningRate: 1e-2); o.lrSchedule = .init(initial: 1e-2)
        try TrainingRun(options: o, resume: false).run()
        let loaded = try CharCheckpoint.load(dir.path("run/model.safetensors"))
        let tokens = try loaded.alphabet.tokens(String(repeating: text, count: 12), source: "text")
        let eval = CharEvaluation.evaluate(loaded.model, tokens: tokens, batch: 1)
        // Evaluation's memory is checked first: windows of 100,000 characters in 128 streams of a 10.8 MB text do
        // not fit 24 GiB (that run was killed for memory); the defaults do.
        let budget = MemoryBudget.from(physical: 24 << 30, addressSpace: nil, data: nil)
        let big = CharModelConfig(cell: .lstm, layers: 2, hidden: 64, vocabularySize: 65)
        XCTAssertThrowsError(try budget.check(CharEvaluation.memoryEstimate(big, characters: 10_800_000, batch: 128, steps: 100_000))) {
            XCTAssertTrue("\($0)".contains("char eval needs about") && "\($0)".contains("--window"), "\($0)")
        }
        XCTAssertNoThrow(try budget.check(CharEvaluation.memoryEstimate(big, characters: 10_800_000)))
        XCTAssertLessThan(eval.natsPerChar, 0.05)
        var rng = SeededGenerator(seed: 0)
        let s = try CharSampler(model: loaded.model, alphabet: loaded.alphabet)
            .sample(prime: "hello", length: 25, greedy: true, rng: &rng)
        XCTAssertEqual(s, " quill, write me a line.\n")
    }

    // MARK: - Bad input

    func trainError(_ o: CharTrainOptions, resume: Bool = false) -> String {
        do { try TrainingRun(options: o, resume: resume).run(); return "no error" } catch { return "\(error)" }
    }

    func testBadDataFiles() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = CharModelConfig(layers: 1, hidden: 4, vocabularySize: 1)
        func opts(_ p: String) -> CharTrainOptions {
            var o = CharTrainOptions(dataPaths: [p], outDir: dir.path("out-\(UUID().uuidString)"), model: model)
            o.steps = 1; o.batch = 2; o.seq = 4
            return o
        }
        XCTAssertTrue(trainError(opts(dir.path("nope.txt"))).contains("nope.txt: no such file"))
        FileManager.default.createFile(atPath: dir.path("empty.txt"), contents: Data())
        XCTAssertTrue(trainError(opts(dir.path("empty.txt"))).contains("empty.txt: the file is empty"))
        FileManager.default.createFile(atPath: dir.path("latin1.txt"), contents: Data([0x61, 0x62, 0xE9, 0x20, 0x63]))
        XCTAssertTrue(trainError(opts(dir.path("latin1.txt"))).contains("latin1.txt: not valid UTF-8 (first bad byte at offset 2)"))
        // All NUL (valid UTF-8, not text), and ASCII in UTF-16 without a byte-order mark (valid UTF-8 too).
        FileManager.default.createFile(atPath: dir.path("zeros.txt"), contents: Data(count: 4096))
        XCTAssertTrue(trainError(opts(dir.path("zeros.txt"))).contains(
            "zeros.txt: 4096 NUL bytes (U+0000, the first at offset 0), which text does not hold; a binary file?"))
        FileManager.default.createFile(atPath: dir.path("utf16.txt"),
                                       contents: Data("the quick brown fox".utf8.flatMap { [$0, 0] }))
        XCTAssertTrue(trainError(opts(dir.path("utf16.txt"))).contains("it looks like UTF-16"))
        // Cyrillic in UTF-16 without a mark: valid UTF-8 with no NUL (letters and U+0004), and not half control
        // characters either; it trained on that before.
        FileManager.default.createFile(atPath: dir.path("cyrillic16.txt"),
                                       contents: String(repeating: "приветмир", count: 20).data(using: .utf16LittleEndian)!)
        XCTAssertTrue(trainError(opts(dir.path("cyrillic16.txt"))).contains(
            "cyrillic16.txt: not UTF-8 text; it looks like UTF-16LE without a byte-order mark"),
                      trainError(opts(dir.path("cyrillic16.txt"))))
        // Overlong forms, surrogates and code points above U+10FFFF are named at their own offset, not the file's end.
        for (name, bad) in [("c0af", [0xC0, 0xAF]), ("e08080", [0xE0, 0x80, 0x80]), ("eda080", [0xED, 0xA0, 0x80]),
                            ("f4908080", [0xF4, 0x90, 0x80, 0x80]), ("f5", [0xF5, 0x80])] as [(String, [UInt8])] {
            let bytes = Array("plain words here ".utf8) + bad + Array(" and more plain words after it".utf8)
            FileManager.default.createFile(atPath: dir.path("\(name).txt"), contents: Data(bytes))
            XCTAssertTrue(trainError(opts(dir.path("\(name).txt"))).contains("not valid UTF-8 (first bad byte at offset 17)"),
                          trainError(opts(dir.path("\(name).txt"))))
        }
        // A byte-order mark and nothing else is empty; text that is mostly control characters is not text.
        FileManager.default.createFile(atPath: dir.path("bom.txt"), contents: Data([0xEF, 0xBB, 0xBF]))
        XCTAssertTrue(trainError(opts(dir.path("bom.txt"))).contains("bom.txt: the file is empty"))
        FileManager.default.createFile(atPath: dir.path("ctrl.txt"),
                                       contents: Data((0..<400).map { UInt8([1, 2, 3, 0x7F, 0x41][$0 % 5]) }))
        XCTAssertTrue(trainError(opts(dir.path("ctrl.txt"))).contains(
            "ctrl.txt: 320 of its 400 characters are control characters (U+0001 first), not text"),
                      trainError(opts(dir.path("ctrl.txt"))))
        try "short text".write(toFile: dir.path("short.txt"), atomically: true, encoding: .utf8)
        XCTAssertTrue(trainError(opts(dir.path("short.txt"))).contains("shorter than one batch"))
    }

    func testNonsensicalOptionsAreRejectedBeforeWork() {
        let base = CharTrainOptions(dataPaths: ["x"], outDir: "/tmp/none",
                                    model: CharModelConfig(layers: 2, hidden: 8, vocabularySize: 1))
        var o = base; o.steps = 10
        XCTAssertNil(o.validate())
        var bad = o; bad.model.layers = 0; XCTAssertNotNil(bad.validate())
        bad = o; bad.model.dropout = 1; XCTAssertNotNil(bad.validate())
        bad = o; bad.batch = 0; XCTAssertNotNil(bad.validate())
        bad = o; bad.optimizer.learningRate = -1; XCTAssertNotNil(bad.validate())
        bad = o; bad.steps = nil; XCTAssertNotNil(bad.validate())
        bad = o; bad.clipNorm = -2; XCTAssertNotNil(bad.validate())
        bad = o; bad.valFraction = 0.9; XCTAssertNotNil(bad.validate())
        bad = o; bad.model.hidden = 16384; bad.batch = 10000; bad.seq = 1000; XCTAssertNotNil(bad.validate())
    }

    func testExistingRunIsNotOverwritten() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.txt")
        try makeTinyText().write(toFile: data, atomically: true, encoding: .utf8)
        let o = options(dir, data: data, steps: 2)
        try TrainingRun(options: o, resume: false).run()
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.path("run/model.safetensors")))
        XCTAssertTrue(trainError(o).contains("already holds a trained model"))
        XCTAssertEqual(before, try Data(contentsOf: URL(fileURLWithPath: dir.path("run/model.safetensors"))))
    }

    func testResumeWithChangedDataIsRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.txt")
        try makeTinyText().write(toFile: data, atomically: true, encoding: .utf8)
        try TrainingRun(options: options(dir, data: data, steps: 2), resume: false).run()
        try (makeTinyText() + "more").write(toFile: data, atomically: true, encoding: .utf8)
        var o = try CharTrainOptions.saved(outDir: dir.path("run"))
        o.steps = 4
        XCTAssertTrue(trainError(o, resume: true).contains("differ from those"))
    }

    /// A NaN stops training with a clear error and leaves the last good checkpoint intact.
    func testNaNStopsTrainingAndKeepsCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.txt")
        try makeTinyText().write(toFile: data, atomically: true, encoding: .utf8)
        try TrainingRun(options: options(dir, data: data, steps: 5), resume: false).run()
        let lastPath = dir.path("run/last.safetensors")
        let before = try Data(contentsOf: URL(fileURLWithPath: lastPath))
        // An absurd learning rate drives the weights to infinity.
        var o = try CharTrainOptions.saved(outDir: dir.path("run"))
        o.steps = 40
        o.optimizer.learningRate = 1e38; o.lrSchedule.initial = 1e38; o.clipNorm = nil
        let message = trainError(o, resume: true)
        XCTAssertTrue(message.contains("became NaN or infinite"), message)
        XCTAssertTrue(message.contains("last good checkpoint"), message)
        let after = try Data(contentsOf: URL(fileURLWithPath: lastPath))
        XCTAssertEqual(before, after)
        XCTAssertNoThrow(try CharCheckpoint.load(lastPath))
    }
}
