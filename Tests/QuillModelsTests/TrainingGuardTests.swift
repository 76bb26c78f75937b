import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// Memory estimates against limits, the divergence rule, metrics after a resume, and handwriting resumes.
final class TrainingGuardTests: XCTestCase {
    // MARK: - Memory budget

    func testBudgetFromFakeLimits() throws {
        let gib: UInt64 = 1 << 30
        let b = MemoryBudget.from(physical: 24 * gib, addressSpace: 4 * gib, addressSpaceInUse: gib, data: nil,
                                  cgroupMax: ["max\n", "9223372036854771712\n", "\(8 * gib)\n"])
        XCTAssertEqual(b.limits.count, 3, "unlimited cgroup values are not limits: \(b.limits)")
        XCTAssertEqual(b.tightest, .init(bytes: 3 * gib, name: "address-space limit (ulimit -v)"))
        XCTAssertNil(MemoryBudget.from(physical: nil, addressSpace: nil, data: nil).tightest)
        XCTAssertEqual(MemoryBudget.from(physical: 24 * gib, addressSpace: nil, data: 2 * gib, dataInUse: 3 * gib,
                                         cgroupMax: ["\(16 * gib)"]).tightest?.bytes, 0)

        let config = CharModelConfig(layers: 2, hidden: 16384, vocabularySize: 65)
        let e = MemoryEstimate.charTraining(config, batch: 50, seq: 50, optimizer: .adam, characters: 20_000)
        // 2 layers of 16384 LSTM units hold about 3.2e9 weights: 13 GB each for weights, gradients, m and v.
        XCTAssertGreaterThan(e.bytes, 50e9)
        XCTAssertThrowsError(try b.check(e)) { error in
            let m = "\(error)"
            XCTAssertTrue(m.hasPrefix("char train needs about "), m)
            XCTAssertTrue(m.contains("GiB") && m.contains("address-space limit") && m.contains("lower --hidden"), m)
            XCTAssertFalse(m.contains("\n"))
        }
        let small = MemoryEstimate.charTraining(CharModelConfig(layers: 2, hidden: 512, vocabularySize: 65), batch: 50,
                                                seq: 50, optimizer: .adam, characters: 1_000_000)
        XCTAssertLessThan(small.bytes, 500e6)
        XCTAssertNoThrow(try b.check(small))
        XCTAssertNoThrow(try MemoryBudget.current().check(small))

        let hw = MemoryEstimate.handwritingTraining(HandwritingConfig(kind: .synthesis, alphabetSize: 80), batch: 32,
                                                    steps: 2000, maxTextLength: 60, optimizer: .gravesRMSProp)
        XCTAssertGreaterThan(hw.bytes, 1e9)
        XCTAssertLessThan(hw.bytes, 8e9)
    }

    /// The parameter shapes computed from a config are exactly the model's.
    func testParameterShapesMatchModels() {
        var rng = SeededGenerator(seed: 1)
        for cell in CellKind.allCases {
            for skip in [false, true] {
                let c = CharModelConfig(cell: cell, layers: 2, hidden: 5, embedding: skip ? 3 : 0, skipConnections: skip,
                                        vocabularySize: 7, peepholes: cell == .lstm,
                                        dilations: cell == .tcn ? [1, 3] : nil)
                let m = CharModel<Float>(config: c, rng: &rng)
                XCTAssertEqual(c.parameterShapes.map(\.name), m.parameters.map(\.name))
                XCTAssertEqual(c.parameterShapes.map(\.shape), m.parameters.map(\.shape))
                XCTAssertEqual(c.parameterShapes.map(\.trainable), m.parameters.map(\.trainable))
            }
        }
        for kind in [HandwritingKind.prediction, .synthesis] {
            let c = HandwritingConfig(kind: kind, layers: 2, hidden: 4, mixture: .init(components: 2), windowComponents: 3,
                                      alphabetSize: kind == .synthesis ? 5 : 0, peepholes: true)
            let m = HandwritingModel<Float>(config: c, rng: &rng)
            XCTAssertEqual(c.parameterShapes.map(\.name), m.parameters.map(\.name))
            XCTAssertEqual(c.parameterShapes.map(\.shape), m.parameters.map(\.shape))
        }
    }

    func tinyText(_ count: Int = 40) -> String {
        String(repeating: "the cat sat on the mat. a dog ran to the log.\n", count: count)
    }

    func testTrainerRefusesWhatDoesNotFit() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.txt")
        try tinyText().write(toFile: data, atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [data], outDir: dir.path("run"),
                                 model: CharModelConfig(layers: 2, hidden: 256, vocabularySize: 1))
        o.batch = 4; o.seq = 8; o.steps = 1
        let trainer = TrainingRun(options: o, resume: false)
        trainer.budget = MemoryBudget(limits: [.init(bytes: 1 << 20, name: "test limit")])
        XCTAssertThrowsError(try trainer.run()) { e in
            XCTAssertTrue(e is MemoryBudgetError, "\(e)")
            XCTAssertTrue("\(e)".contains("test limit"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("run")), "nothing written")

        let hdata = dir.path("tiny.qds")
        try PreparedFormat.write(TinyHandwriting.dataset(), to: hdata)
        var h = HandwritingTrainOptions(dataPath: hdata, outDir: dir.path("hrun"),
                                        model: HandwritingConfig(kind: .synthesis, layers: 1, hidden: 64))
        h.steps = 1
        let ht = TrainingRun(options: h, resume: false)
        ht.budget = MemoryBudget(limits: [.init(bytes: 1 << 20, name: "test limit")])
        XCTAssertThrowsError(try ht.run()) { e in XCTAssertTrue("\(e)".hasPrefix("train synthesis needs about"), "\(e)") }
    }

    /// `char train --hidden 16384` from the built binary: under `ulimit -v 4000000` one `quill: error:` line with the
    /// estimate; without a limit no abort in the allocator on a machine of ordinary size.
    func testHugeHiddenIsRefusedByTheBinary() throws {
        var root = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
            root.deleteLastPathComponent()
            if root.path == "/" { throw XCTSkip("package root not found") }
        }
        let quill = root.appendingPathComponent(".build/debug/quill").path
        guard FileManager.default.isExecutableFile(atPath: quill) else {
            throw XCTSkip("\(quill) not built; run `swift build` first")
        }
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.txt")
        try tinyText().write(toFile: data, atomically: true, encoding: .utf8)
        func run(_ shell: String) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", shell]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        func command(_ out: String) -> String {
            "exec '\(quill)' char train --data '\(data)' --out '\(dir.path(out))' --hidden 16384 --steps 1"
        }
        let (status, stderr) = try run("ulimit -v 4000000; " + command("run"))
        XCTAssertNotEqual(status, 0)
        let lines = stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, stderr)
        XCTAssertTrue(stderr.hasPrefix("quill: error: char train needs about "), stderr)
        XCTAssertTrue(stderr.contains("GiB") && stderr.contains("ulimit -v"), stderr)

        let (status2, stderr2) = try run(command("run2"))
        XCTAssertFalse(stderr2.contains("failed to allocate"), stderr2)
        if status2 != 0 { XCTAssertTrue(stderr2.hasPrefix("quill: error: "), stderr2) }
    }

    // MARK: - Divergence

    func testDivergenceRuleIgnoresNormalRunsAndCatchesExplosions() {
        // A normal char run: from ln 65 down to 1.3, with noise and a bump.
        var rng = SeededGenerator(seed: 4)
        var rule = DivergenceRule.char(vocabularySize: 65, charactersPerStep: 2500)
        for s in 0..<5000 {
            let base = 1.3 + (log(65.0) - 1.3) * exp(-Double(s) / 300) + (s > 3000 && s < 3050 ? 0.3 : 0)
            XCTAssertNil(rule.observe(base + 0.1 * (rng.uniform() - 0.5)), "step \(s)")
        }
        XCTAssertNotNil(rule.observe(50), "a single step far above the ceiling (3 ln 65 ≈ 12.5)")
        // A slow rise to double the best is caught by the windowed rule.
        rule = DivergenceRule.char(vocabularySize: 65, charactersPerStep: 2500)
        var fired: Int?
        for s in 0..<400 where fired == nil {
            let loss = s < 200 ? 1.5 : 1.5 + Double(s - 200) * 0.02
            if rule.observe(loss) != nil { fired = s }
        }
        XCTAssertNotNil(fired)
        XCTAssertGreaterThan(fired ?? 0, 250)

        // Handwriting: losses per point go negative; normal noise never fires, an explosion does.
        var hw = DivergenceRule.handwriting()
        for s in 0..<3000 {
            let base = -0.8 + 3.5 * exp(-Double(s) / 400)
            XCTAssertNil(hw.observe(base + 1.0 * (rng.uniform() - 0.5)), "step \(s)")
        }
        var fired2 = false
        for _ in 0..<20 where !fired2 { fired2 = hw.observe(1e4) != nil }
        XCTAssertTrue(fired2)
        // A session starting from a good model (after resume) that blows up at once.
        hw = DivergenceRule.handwriting()
        XCTAssertNil(hw.observe(-0.5))
        XCTAssertNotNil(hw.observe(1e3))
    }

    /// The issue's example: `char train --lr 1e3 --clip 0` on 20 kB of text stops within 100 steps, leaving the
    /// checkpoints of the last good step byte for byte.
    func testDivergenceStopsAndKeepsCheckpoints() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("shakespeare.txt")
        let verse = """
        FIRST CITIZEN:
        Before we proceed any further, hear me speak.
        ALL:
        Speak, speak.
        FIRST CITIZEN:
        You are all resolved rather to die than to famish?

        """
        var text = ""
        while text.utf8.count < 20_000 { text += verse }
        try text.write(toFile: data, atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [data], outDir: dir.path("run"),
                                 model: CharModelConfig(layers: 1, hidden: 32, vocabularySize: 1))
        o.batch = 8; o.seq = 32; o.steps = 5; o.evalEvery = 5; o.sampleLength = 0
        try TrainingRun(options: o, resume: false).run()
        let last = dir.path("run/last.safetensors"), best = dir.path("run/model.safetensors")
        let lastBefore = try Data(contentsOf: URL(fileURLWithPath: last))
        let bestBefore = try Data(contentsOf: URL(fileURLWithPath: best))

        var d = try CharTrainOptions.saved(outDir: o.outDir)
        d.steps = 500; d.evalEvery = 1
        d.optimizer.learningRate = 1e3; d.lrSchedule.initial = 1e3; d.clipNorm = nil
        XCTAssertThrowsError(try TrainingRun(options: d, resume: true).run()) { e in
            guard case let TrainingError.diverged(step, _, _, checkpoint)? = e as? TrainingError else {
                return XCTFail("expected divergence, got \(e)")
            }
            XCTAssertLessThanOrEqual(step, 105)
            XCTAssertEqual(checkpoint, 5)
            XCTAssertTrue("\(e)".contains("(step 5) is intact"), "\(e)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: last)), lastBefore)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: best)), bestBefore)

        // A run that diverges before its first checkpoint says that nothing was saved.
        var fresh = o
        fresh.outDir = dir.path("fresh"); fresh.steps = 500; fresh.evalEvery = 400; fresh.clipNorm = nil
        fresh.optimizer.learningRate = 1e3; fresh.lrSchedule.initial = 1e3
        XCTAssertThrowsError(try TrainingRun(options: fresh, resume: false).run()) { e in
            XCTAssertTrue("\(e)".contains("no checkpoint was written"), "\(e)")
            XCTAssertFalse("\(e)".contains("is intact"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("fresh/last.safetensors")))
    }

    // MARK: - Metrics after a resume

    func metricSteps(_ path: String) throws -> [(String, Int)] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (o["kind"] as! String, o["step"] as! Int)
        }
    }

    /// A run killed after its checkpoint logged steps that the resumed run logs again: they appear once.
    func testResumeDropsMetricsAfterTheCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.txt")
        try tinyText().write(toFile: data, atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [data], outDir: dir.path("run"),
                                 model: CharModelConfig(layers: 1, hidden: 8, vocabularySize: 1))
        o.batch = 4; o.seq = 8; o.steps = 5; o.evalEvery = 5; o.logEvery = 1; o.sampleLength = 0
        try TrainingRun(options: o, resume: false).run()
        let last = dir.path("run/last.safetensors")
        let atFive = try Data(contentsOf: URL(fileURLWithPath: last))
        var r = try CharTrainOptions.saved(outDir: o.outDir)
        r.steps = 8
        try TrainingRun(options: r, resume: true).run()
        // The "kill": the checkpoint of step 8 never happened, and a line was cut short.
        try atFive.write(to: URL(fileURLWithPath: last))
        let metrics = dir.path("run/metrics.jsonl")
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: metrics))
        // A line that is no JSON object (an editor's slip) is dropped too: plots could not read the log past it.
        h.seekToEndOfFile(); h.write(Data("garbage{\n".utf8)); h.write(Data(#"{"kind":"train","st"#.utf8)); try h.close()
        r.steps = 10
        try TrainingRun(options: r, resume: true).run()
        let steps = try metricSteps(metrics)
        XCTAssertEqual(steps.filter { $0.0 == "train" }.map(\.1), Array(1...10))
        XCTAssertEqual(steps.filter { $0.0 == "val" }.map(\.1), [5, 10])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path("run")).filter { $0.hasPrefix(".") }, [])
    }

    // MARK: - Handwriting resume

    /// A handwriting run interrupted and resumed ends with exactly the bytes of a straight run's weights.
    func testHandwritingResumeEqualsStraightRun() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.qds")
        try PreparedFormat.write(TinyHandwriting.dataset(), to: data)
        func options(_ out: String, steps: Int) -> HandwritingTrainOptions {
            var o = HandwritingTrainOptions(dataPath: data, outDir: dir.path(out), model: HandwritingConfig(
                kind: .synthesis, layers: 2, hidden: 6, mixture: MixtureDensity(components: 2), windowComponents: 2))
            o.batch = 2; o.steps = steps; o.evalEvery = 3; o.valSamples = 0; o.seed = 7
            return o
        }
        try TrainingRun(options: options("straight", steps: 8), resume: false).run()
        try TrainingRun(options: options("split", steps: 4), resume: false).run()
        var second = try HandwritingTrainOptions.saved(outDir: dir.path("split"))
        second.steps = 8
        try TrainingRun(options: second, resume: true).run()

        XCTAssertEqual(try assertSameResumePoint(dir.path("straight"), dir.path("split")).step, 8)
    }
}
