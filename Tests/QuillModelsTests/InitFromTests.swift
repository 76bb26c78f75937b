import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillOptim
import QuillTestSupport
import XCTest
@testable import QuillModels

/// `--init-from DIR` (issue 15 item 8): a new run starts from another run's best weights, with new options; the
/// architecture must match, a char model's vocabulary too, while a synthesis network is carried to data with
/// another alphabet by symbol (issue 11); every checkpoint records the source and its step.
final class InitFromTests: XCTestCase {
    func charOptions(_ dir: TempDir, _ out: String, text: String = "text.txt", hidden: Int = 8) throws -> CharTrainOptions {
        let path = dir.path(text)
        if !FileManager.default.fileExists(atPath: path) {
            try String(repeating: "the cat sat on the mat. ", count: 40).write(toFile: path, atomically: true, encoding: .utf8)
        }
        var o = CharTrainOptions(dataPaths: [path], outDir: dir.path(out),
                                 model: CharModelConfig(layers: 1, hidden: hidden, vocabularySize: 1))
        o.batch = 4; o.seq = 8; o.steps = 4; o.evalEvery = 2; o.sampleLength = 0; o.seed = 3
        return o
    }

    func testARunStartsFromTheSourcesBestWeightsAndRecordsIt() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let source = try charOptions(dir, "source")
        try TrainingRun(options: source, resume: false).run()
        let best = try CharCheckpoint.load(dir.path("source/model.safetensors"))
        let bestStep = try XCTUnwrap(RunFiles.bestStep(best.file))

        // A learning rate too small to move any weight: the new run's model is the source's best model.
        var o = try charOptions(dir, "tuned")
        o.initFrom = InitSource(dir: source.outDir)
        o.optimizer = OptimizerConfig(kind: .sgd, learningRate: 1e-30)
        o.lrSchedule = LearningRateSchedule(initial: 1e-30)
        o.steps = 1
        try TrainingRun(options: o, resume: false).run()
        let tuned = try CharCheckpoint.load(dir.path("tuned/model.safetensors"))
        for (a, b) in zip(best.model.parameters, tuned.model.parameters) {
            XCTAssertEqual(a.name, b.name)
            XCTAssertEqual((0..<a.value.count).map { a.value[$0] }, (0..<b.value.count).map { b.value[$0] }, a.name)
        }
        let saved = try CharTrainOptions.saved(outDir: o.outDir)
        XCTAssertEqual(saved.initFrom, InitSource(dir: source.outDir, step: bestStep))
        XCTAssertTrue(tuned.file.metadata["quill.train-options"]?.contains("\"initFrom\"") == true)

        // A checkpoint file named directly serves as well: the source's last.safetensors (its step-4 weights).
        var fromFile = o
        fromFile.initFrom = InitSource(dir: dir.path("source/last.safetensors"))
        fromFile.outDir = dir.path("from-file")
        try TrainingRun(options: fromFile, resume: false).run()
        let last = try CharCheckpoint.load(dir.path("source/last.safetensors"))
        let started = try CharCheckpoint.load(dir.path("from-file/model.safetensors"))
        XCTAssertEqual(last.model.parameters.map(\.value.array), started.model.parameters.map(\.value.array))

        // The same run without --init-from starts elsewhere (from the seed).
        var fresh = o
        fresh.initFrom = nil
        fresh.outDir = dir.path("fresh")
        try TrainingRun(options: fresh, resume: false).run()
        let scratch = try CharCheckpoint.load(dir.path("fresh/model.safetensors"))
        XCTAssertNotEqual((0..<scratch.model.parameters[0].value.count).map { scratch.model.parameters[0].value[$0] },
                          (0..<best.model.parameters[0].value.count).map { best.model.parameters[0].value[$0] })
        // Runs without the option keep options without the field (their checkpoints read as before).
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(fresh), as: UTF8.self).contains("initFrom"))
    }

    func testAnotherArchitectureVocabularyOrKindIsRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let source = try charOptions(dir, "source")
        try TrainingRun(options: source, resume: false).run()

        var wider = try charOptions(dir, "wider", hidden: 12)
        wider.initFrom = InitSource(dir: source.outDir)
        XCTAssertThrowsError(try TrainingRun(options: wider, resume: false).run()) {
            XCTAssertTrue("\($0)".contains("has --hidden 8 where this run has 12"), "\($0)")
        }
        var otherText = try charOptions(dir, "other", text: "other.txt")
        try "xyz qrs ".write(toFile: dir.path("other.txt"), atomically: true, encoding: .utf8)
        otherText.initFrom = InitSource(dir: source.outDir)
        XCTAssertThrowsError(try TrainingRun(options: otherText, resume: false).run()) {
            XCTAssertTrue("\($0)".contains("another vocabulary") && "\($0)".contains("which the model lacks"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("wider/last.safetensors")), "a refused run writes nothing")
        var nowhere = try charOptions(dir, "nowhere")
        nowhere.initFrom = InitSource(dir: dir.path("no-such-run"))
        XCTAssertThrowsError(try TrainingRun(options: nowhere, resume: false).run()) {
            guard case .missingInput(let m)? = $0 as? TrainingError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("no-such-run: no such file or directory"), m)
        }
        // A directory without a best model.
        try FileManager.default.createDirectory(atPath: dir.path("empty-run"), withIntermediateDirectories: true)
        nowhere.initFrom = InitSource(dir: dir.path("empty-run"))
        XCTAssertThrowsError(try TrainingRun(options: nowhere, resume: false).run()) {
            guard case .missingInput(let m)? = $0 as? TrainingError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("no model.safetensors there"), m)
        }

        // A handwriting run cannot start from a char model, nor a prediction network from a synthesis network.
        let data = dir.path("tiny.qds")
        try PreparedFormat.write(TinyHandwriting.dataset(), to: data)
        func handwriting(_ out: String, _ kind: HandwritingKind) -> HandwritingTrainOptions {
            var h = HandwritingTrainOptions(dataPath: data, outDir: dir.path(out), model: HandwritingConfig(
                kind: kind, layers: 1, hidden: 4, mixture: MixtureDensity(components: 2), windowComponents: 2))
            h.batch = 2; h.steps = 2; h.evalEvery = 100; h.valSamples = 0
            return h
        }
        var fromChar = handwriting("h1", .synthesis)
        fromChar.initFrom = InitSource(dir: source.outDir)
        XCTAssertThrowsError(try TrainingRun(options: fromChar, resume: false).run()) {
            // A usage error that names the option, like a prediction source's (not a corrupt-checkpoint error).
            guard case .invalidOption(let m)? = $0 as? TrainingError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.hasPrefix("--init-from:") && m.contains("char"), m)
        }
        try TrainingRun(options: handwriting("synth", .synthesis), resume: false).run()
        var prediction = handwriting("pred", .prediction)
        prediction.initFrom = InitSource(dir: dir.path("synth"))
        XCTAssertThrowsError(try TrainingRun(options: prediction, resume: false).run()) {
            XCTAssertTrue("\($0)".contains("synthesis network"), "\($0)")
        }
        var again = handwriting("synth2", .synthesis)
        again.initFrom = InitSource(dir: dir.path("synth"))
        XCTAssertNoThrow(try TrainingRun(options: again, resume: false).run())
    }

    func testAlphabetTransferMapsBySymbolAndStartsNewSymbolsFromTheUnknownOne() throws {
        let old = Alphabet(policy: .frequency(minCount: 1), symbols: ["a", "b", "q"])   // ? a b q
        let new = Alphabet(policy: .frequency(minCount: 1), symbols: ["Z", "a", "b", "&"])  // ? Z a b &
        let t = try AlphabetTransfer(from: old, to: new)
        XCTAssertEqual(t.sources, [0, 0, 1, 2, 0])
        XCTAssertEqual(t.added, ["Z", "&"])
        XCTAssertEqual(t.dropped, ["q"])
        XCTAssertEqual(t.summary, "--init-from: alphabet mapped by symbol: 5 symbols; 2 new (Z &) start from the "
                       + "unknown symbol's weights; 1 dropped (q)")
        // Blanks and control characters are named, not printed raw.
        let blank = try AlphabetTransfer(from: Alphabet(policy: .frequency(minCount: 1), symbols: ["a", "\t"]),
                                         to: Alphabet(policy: .frequency(minCount: 1), symbols: ["a", " "]))
        XCTAssertEqual(blank.summary, "--init-from: alphabet mapped by symbol: 3 symbols; 1 new (space) starts from the "
                       + "unknown symbol's weights; 1 dropped (U+0009)")
        // Without an unknown symbol there is nothing to start a new symbol from.
        let strict = Alphabet(characters: ["a", "b"])
        XCTAssertThrowsError(try AlphabetTransfer(from: strict, to: new))

        // Rows: two shared rows (x, h below), then the window's, by symbol; columns untouched.
        let source = Parameter<Float>("lstm.1.wx", Tensor([2 + 4, 3]))
        for i in 0..<source.count { source.value[i] = Float(i) }
        let target = Parameter<Float>("lstm.1.wx", Tensor([2 + 5, 3]))
        let bias = Parameter<Float>("lstm.1.b", Tensor([3])), targetBias = Parameter<Float>("lstm.1.b", Tensor([3]))
        bias.value[1] = 7
        try t.copy(from: [source, bias], into: [target, targetBias], oldSize: 4, path: "m")
        let rows = (0..<7).map { r in (0..<3).map { target.value[r * 3 + $0] } }
        let sourceRows = (0..<6).map { r in (0..<3).map { source.value[r * 3 + $0] } }
        XCTAssertEqual(rows, [sourceRows[0], sourceRows[1], sourceRows[2], sourceRows[2], sourceRows[3], sourceRows[4],
                              sourceRows[2]])
        XCTAssertEqual(targetBias.value.array, [0, 7, 0])
        // Shapes that do not correspond (another hidden size) are refused, naming the tensor.
        let other = Parameter<Float>("lstm.1.wx", Tensor([3 + 5, 3]))
        XCTAssertThrowsError(try t.copy(from: [source], into: [other], oldSize: 4, path: "m")) {
            XCTAssertTrue("\($0)".contains("lstm.1.wx [6, 3] where this run has lstm.1.wx [8, 3]"), "\($0)")
        }
        // Alphabets of one size, the symbols in another order: the rows still move with their symbols.
        let swapped = try AlphabetTransfer(from: old, to: Alphabet(policy: .frequency(minCount: 1), symbols: ["b", "a", "q"]))
        XCTAssertEqual(swapped.sources, [0, 2, 1, 3])
        let same = Parameter<Float>("lstm.1.wx", Tensor([2 + 4, 3]))
        try swapped.copy(from: [source], into: [same], oldSize: 4, path: "m")
        XCTAssertEqual((0..<6).map { r in (0..<3).map { same.value[r * 3 + $0] } },
                       [sourceRows[0], sourceRows[1], sourceRows[2], sourceRows[4], sourceRows[3], sourceRows[5]])
        // Tensors are matched by name: a layer more or less is named as such, not blamed on the tensor in its place.
        let extra = Parameter<Float>("lstm.2.b", Tensor([3]))
        XCTAssertThrowsError(try t.copy(from: [source, bias], into: [target, targetBias, extra], oldSize: 4, path: "m")) {
            XCTAssertTrue("\($0)".contains("(it has no lstm.2.b where this run has lstm.2.b [3])"), "\($0)")
        }
        XCTAssertThrowsError(try t.copy(from: [source, bias, extra], into: [target, targetBias], oldSize: 4, path: "m")) {
            XCTAssertTrue("\($0)".contains("(it has lstm.2.b [3] where this run has none)"), "\($0)")
        }
    }

    func testASynthesisNetworkStartsFromARunWithAnotherAlphabet() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let config = HandwritingConfig(kind: .synthesis, layers: 2, hidden: 4, mixture: MixtureDensity(components: 2),
                                       windowComponents: 2)
        try TinyHandwriting.train(in: dir, config) { $0.steps = 2; $0.evalEvery = 1 }
        let source = try HandwritingCheckpoint.load(dir.path("run/model.safetensors"))

        // The same lines, with an alphabet that adds Z before a and b: a → 2, b → 3.
        var data = TinyHandwriting.dataset()
        data.header.alphabet = Alphabet(policy: .frequency(minCount: 1), symbols: ["Z", "a", "b"])
        for i in data.samples.indices { data.samples[i].characters = data.samples[i].characters.map { $0 + 1 } }
        try PreparedFormat.write(data, to: dir.path("wider.qds"))
        var o = HandwritingTrainOptions(dataPath: dir.path("wider.qds"), outDir: dir.path("tuned"), model: config)
        o.batch = 2; o.steps = 1; o.evalEvery = 100; o.valSamples = 0
        o.optimizer = OptimizerConfig(kind: .sgd, learningRate: 1e-30)
        o.lrSchedule = LearningRateSchedule(initial: 1e-30)
        o.initFrom = InitSource(dir: dir.path("run"))
        var notes = [String]()
        try TrainingRun(options: o, resume: false, onEvent: { if case let .note(n) = $0 { notes.append(n) } }).run()
        XCTAssertEqual(notes, ["--init-from: alphabet mapped by symbol: 4 symbols; 1 new (Z) starts from the unknown symbol's weights"])
        let tuned = try HandwritingCheckpoint.load(dir.path("tuned/model.safetensors"))
        XCTAssertEqual(tuned.alphabet.symbols, ["\u{FFFD}", "Z", "a", "b"])
        XCTAssertEqual(tuned.model.config.alphabetSize, 4)
        for (s, t) in zip(source.model.parameters, tuned.model.parameters) {
            guard s.shape != t.shape else { XCTAssertEqual(s.value.array, t.value.array, s.name); continue }
            XCTAssertTrue(s.name.hasSuffix(".wx"), s.name)
            let columns = s.shape[1], shared = s.shape[0] - 3
            func row(_ p: Parameter<Float>, _ r: Int) -> [Float] { (0..<columns).map { p.value[r * columns + $0] } }
            for r in 0..<shared { XCTAssertEqual(row(t, r), row(s, r)) }
            // ? Z a b from ? ? a b
            for (r, from) in [0, 0, 1, 2].enumerated() { XCTAssertEqual(row(t, shared + r), row(s, shared + from), "\(s.name) row \(r)") }
        }
        let saved = try HandwritingTrainOptions.saved(outDir: o.outDir)
        XCTAssertEqual(saved.initFrom?.alphabetChange, notes.first)
    }
}
