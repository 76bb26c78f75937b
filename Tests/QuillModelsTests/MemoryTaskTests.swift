import QuillModels
import QuillNN
import QuillIO
import QuillNumerics
import QuillTestSupport
import XCTest

/// The memory tasks' generators produce what they claim, seeded; a small LSTM learns short palindromes.
final class MemoryTaskTests: XCTestCase {
    func testPalindromesArePalindromesOfDigits() {
        var rng = SeededGenerator(seed: 3)
        for length in 2...13 {
            for _ in 0..<50 {
                let d = MemoryTaskData.palindrome(length: length, rng: &rng)
                XCTAssertEqual(d.count, length)
                XCTAssertEqual(d, Array(d.reversed()))
                XCTAssertTrue(d.allSatisfy { (0...9).contains($0) }, "\(d)")
            }
        }
        // Every digit turns up at the first place: the target is not a constant.
        var firsts = Set<Int>()
        for _ in 0..<500 { firsts.insert(MemoryTaskData.palindrome(length: 5, rng: &rng)[0]) }
        XCTAssertEqual(firsts, Set(0...9))
    }

    func testCopyExamplesHoldSymbolsMarkerAndBlanks() {
        var rng = SeededGenerator(seed: 4)
        for length in 2...12 {
            for _ in 0..<30 {
                let e = MemoryTaskData.copy(length: length, rng: &rng)
                XCTAssertEqual(e.input.count, 2 * length + 1)
                XCTAssertEqual(Array(e.input[0..<length]), e.symbols)
                XCTAssertTrue(e.symbols.allSatisfy { (1...8).contains($0) })
                XCTAssertEqual(e.input[length], MemoryTask.copyMarker)
                XCTAssertTrue(e.input[(length + 1)...].allSatisfy { $0 == 0 })
            }
        }
    }

    func testAddingExamplesMarkOneStepPerHalf() {
        var rng = SeededGenerator(seed: 5)
        for length in 2...20 {
            for _ in 0..<30 {
                let e = MemoryTaskData.adding(length: length, rng: &rng)
                XCTAssertEqual(e.values.count, length)
                XCTAssertTrue(e.values.allSatisfy { $0 >= 0 && $0 < 1 })
                let marked = e.markers.indices.filter { e.markers[$0] == 1 }
                XCTAssertEqual(marked.count, 2)
                XCTAssertEqual(e.markers.filter { $0 != 0 && $0 != 1 }.count, 0)
                XCTAssertLessThan(marked[0], length / 2 == 0 ? 1 : length / 2)
                XCTAssertGreaterThanOrEqual(marked[1], length / 2)
                XCTAssertEqual(e.sum, e.values[marked[0]] + e.values[marked[1]], accuracy: 1e-12)
            }
        }
    }

    /// The encoded batches say the same as the examples: one-hot digits with the answer where the task puts it.
    func testBatchesEncodeTheExamples() {
        for task in MemoryTask.allCases {
            for length in [2, 3, 7] {
                var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
                let batch = MemoryTaskData.batch(task, length: length, batch: 6, rng: &a)
                let again = MemoryTaskData.batch(task, length: length, batch: 6, rng: &b)
                XCTAssertEqual(batch.inputs, again.inputs, "seeded")
                let S = task.steps(length: length), I = task.inputWidth, B = 6
                XCTAssertEqual(batch.inputs.count, S * B * I)
                for r in 0..<B {
                    let step = { (t: Int) in Array(batch.inputs[((t * B + r) * I)..<((t * B + r + 1) * I)]) }
                    switch task {
                    case .palindrome:
                        // The answer, the last digit, is the first one read.
                        XCTAssertEqual(step(0).firstIndex(of: 1), Int(batch.classes[r]))
                        for t in 0..<S { XCTAssertEqual(step(t).reduce(0, +), 1) }
                    case .copy:
                        for k in 0..<length { XCTAssertEqual(step(k).firstIndex(of: 1), Int(batch.classes[k * B + r])) }
                        XCTAssertEqual(step(length).firstIndex(of: 1), MemoryTask.copyMarker)
                    case .adding:
                        var sum: Float = 0
                        for t in 0..<S where step(t)[1] == 1 { sum += step(t)[0] }
                        XCTAssertEqual(sum, batch.values[r], accuracy: 1e-6)
                    }
                }
            }
        }
    }

    /// A 1×32 LSTM learns palindromes of length 5 to 99% held-out accuracy within 600 steps of 64 sequences
    /// (RMSProp at 10⁻², note 002's optimiser).
    func testSmallLSTMLearnsShortPalindromes() throws {
        var o = MemoryTaskOptions(task: .palindrome)
        o.cell = .lstm; o.length = 5; o.layers = 1; o.hidden = 32; o.batch = 64; o.steps = 600
        o.optimizer.learningRate = 1e-2
        o.evalEvery = 100; o.evalSequences = 500; o.seed = 1
        let points = try MemoryTaskTraining.train(o)
        XCTAssertEqual(points.map(\.step), [100, 200, 300, 400, 500, 600])
        XCTAssertGreaterThanOrEqual(points.last?.score ?? 0, 0.99, "\(points)")
        // Seeded: the same options give the same numbers.
        o.steps = 100
        XCTAssertEqual(try MemoryTaskTraining.train(o), try MemoryTaskTraining.train(o))
    }

    /// A memory task trains as one `TrainingRun`: given a directory, it keeps the run's checkpoints and metrics, a
    /// run resumed from its last checkpoint scores and ends exactly as the straight run, and a directory holding a
    /// run is refused unless replaced.
    func testARunKeepsItsCheckpointsAndResumesExactly() throws {
        let dir = TempDir("memory-run"); defer { dir.cleanup() }
        var o = MemoryTaskOptions(task: .copy)
        o.cell = .gru; o.length = 3; o.hidden = 8; o.batch = 4; o.steps = 6; o.evalEvery = 2; o.evalSequences = 10
        o.outDir = dir.path("straight")
        let straight = try MemoryTaskTraining.train(o)
        XCTAssertEqual(straight.map(\.step), [2, 4, 6])
        for file in ["model.safetensors", "last.safetensors", "metrics.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path("straight/\(file)")), file)
        }
        let metrics = try String(contentsOfFile: dir.path("straight/metrics.jsonl"), encoding: .utf8)
        XCTAssertEqual(metrics.split(separator: "\n").filter { $0.contains("\"kind\":\"val\"") }.count, 3)
        XCTAssertTrue(metrics.contains("\"accuracy\":\(straight[2].score)"), metrics)

        o.outDir = dir.path("halves"); o.steps = 3
        XCTAssertEqual(try MemoryTaskTraining.train(o).map(\.step), [2, 3])
        o.steps = 6
        let rest = try MemoryTaskTraining.train(o, resume: true)
        XCTAssertEqual(rest.map(\.step), [4, 6])
        XCTAssertEqual(rest.map(\.score), straight.suffix(2).map(\.score))
        XCTAssertEqual(rest.last?.trainLoss, straight.last?.trainLoss)
        let a = try SafeTensors.read(dir.path("straight/last.safetensors"))
        let b = try SafeTensors.read(dir.path("halves/last.safetensors"))
        // Weights and optimiser state alike.
        XCTAssertEqual(a.tensors.keys.sorted(), b.tensors.keys.sorted())
        XCTAssertTrue(a.tensors.keys.contains("head.w"), "\(a.tensors.keys.sorted())")
        for (name, t) in a.tensors { XCTAssertEqual(t.values, b.tensors[name]?.values, name) }

        XCTAssertThrowsError(try MemoryTaskTraining.train(o)) { XCTAssertTrue("\($0)".contains("halves"), "\($0)") }
        XCTAssertEqual(try MemoryTaskTraining.train(o, replacing: true), straight)
        o.outDir = ""
        XCTAssertEqual(try MemoryTaskTraining.train(o), straight)
        XCTAssertThrowsError(try MemoryTaskTraining.train(o, resume: true)) {
            XCTAssertTrue("\($0)".contains("needs the directory"), "\($0)")
        }
    }

    func testBadOptionsAreRefused() {
        var o = MemoryTaskOptions(task: .copy)
        o.length = 1
        XCTAssertThrowsError(try MemoryTaskTraining.train(o)) {
            XCTAssertTrue("\($0)".contains("--length must be at least 2"), "\($0)")
        }
        o.length = 3; o.hidden = 0
        XCTAssertThrowsError(try MemoryTaskTraining.train(o)) { XCTAssertTrue("\($0)".contains("--hidden")) }
    }
}
