import Foundation
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// `quill char sweep` (issue 15 item 11): the grid, the budget, the table, and an interrupted sweep continued to the
/// same runs as an uninterrupted one.
final class CharSweepTests: XCTestCase {
    func plan(_ dir: TempDir, steps: Int = 8) throws -> CharSweep.Plan {
        let text = dir.path("t.txt")
        if !FileManager.default.fileExists(atPath: text) {
            try String(repeating: "to be or not to be, that is the question. ", count: 30)
                .write(toFile: text, atomically: true, encoding: .utf8)
        }
        var base = CharTrainOptions(dataPaths: [text], outDir: "", model: CharModelConfig(vocabularySize: 1))
        base.batch = 4; base.seq = 8; base.evalEvery = 4; base.sampleLength = 0
        return CharSweep.Plan(base: base, cells: [.lstm, .gru], layers: [1], hidden: [4, 8], steps: steps, minutes: nil)
    }

    func testTheGridAndItsProblems() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var p = try plan(dir)
        XCTAssertEqual(p.points.map(\.name), ["lstm-1x4", "lstm-1x8", "gru-1x4", "gru-1x8"])
        XCTAssertNil(p.problem)
        p.hidden = [4, 4]
        XCTAssertEqual(p.problem, "a cell, layer count or width is listed twice")
        p.hidden = [4]; p.steps = nil
        XCTAssertEqual(p.problem, "give the budget of each run: --steps, --minutes or both")
    }

    func testAnInterruptedSweepContinuesToTheSameRuns() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let straight = CharSweep(plan: try plan(dir), outDir: dir.path("straight"))
        let rows = try straight.run()
        XCTAssertEqual(rows.map(\.steps), [8, 8, 8, 8])
        XCTAssertEqual(rows.map(\.hidden), [4, 8, 4, 8])
        XCTAssertTrue(rows.allSatisfy { ($0.bestNatsPerChar ?? 0) > 0 && $0.parameters > 0 })
        XCTAssertEqual(rows[0].bestBitsPerChar!, rows[0].bestNatsPerChar! / log(2), accuracy: 1e-12)
        XCTAssertTrue(CharSweep.markdown(rows).contains("| gru | 1 | 8 |"))

        // The second run is stopped after 3 steps (Ctrl-C), which ends the sweep; the table holds what exists.
        let split = CharSweep(plan: try plan(dir), outDir: dir.path("split"))
        var started = 0
        let partial = try split.run(makeRun: { o, resume in
            started += 1
            let run = TrainingRun(options: o, resume: resume)
            var steps = 0
            if started == 2 { run.shouldStop = { steps += 1; return steps > 3 } }
            return run
        }, shouldStop: { started >= 2 })
        XCTAssertEqual(partial.map(\.steps), [8, 3])
        var events: [String] = []
        let resumed = try split.run(onEvent: { e in
            switch e {
            case let .alreadyDone(p, _, _): events.append("done \(p.name)")
            case let .starting(p, _, _, at): events.append("start \(p.name) \(at.map(String.init) ?? "new")")
            }
        })
        XCTAssertEqual(events, ["done lstm-1x4", "start lstm-1x8 3", "start gru-1x4 new", "start gru-1x8 new"])
        XCTAssertEqual(resumed, rows.map { var r = $0; r.minutes = resumed.first { $0.hidden == r.hidden && $0.cell == r.cell }!.minutes; return r })
        for p in split.plan.points {
            let a = try SafeTensors.read(straight.runDirectory(p) + "/last.safetensors").tensors
            let b = try SafeTensors.read(split.runDirectory(p) + "/last.safetensors").tensors
            for (k, v) in a { XCTAssertEqual(v.values, b[k]?.values, "\(p.name) \(k)") }
        }

        // Other options over the same directory are refused; a larger budget trains every run further.
        var other = try plan(dir)
        other.base.batch = 2
        XCTAssertThrowsError(try CharSweep(plan: other, outDir: dir.path("split")).run()) {
            XCTAssertTrue("\($0)".contains("holds a sweep with other options (base.batch: "), "\($0)")
        }
        let longer = try CharSweep(plan: try plan(dir, steps: 10), outDir: dir.path("split")).run()
        XCTAssertEqual(longer.map(\.steps), [10, 10, 10, 10])
        // Another text over the same directory is refused as such; missing text writes nothing.
        var otherText = try plan(dir, steps: 10)
        try "a different text, long enough to train on for a step or two. ".write(toFile: dir.path("u.txt"), atomically: true, encoding: .utf8)
        otherText.base.dataPaths = [dir.path("u.txt")]
        XCTAssertThrowsError(try CharSweep(plan: otherText, outDir: dir.path("split")).run()) {
            XCTAssertTrue("\($0)".contains("over another text (--data)"), "\($0)")
        }
        var missing = try plan(dir)
        missing.base.dataPaths = [dir.path("none.txt")]
        XCTAssertThrowsError(try CharSweep(plan: missing, outDir: dir.path("never")).run())
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("never")))
        try FileManager.default.createDirectory(atPath: dir.path("busy/x"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try CharSweep(plan: try plan(dir), outDir: dir.path("busy")).run()) {
            XCTAssertTrue("\($0)".contains("not empty and holds no sweep"), "\($0)")
        }
    }
}
