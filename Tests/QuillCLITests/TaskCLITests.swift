import Foundation
import QuillData
import QuillModels
import QuillNumerics
import QuillRender
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// `quill task` and `quill char gradient-flow` end to end on tiny networks, and one clear line for each bad input.
final class TaskCLITests: XCTestCase {
    var dir = TempDir.unmade

    override func setUp() { dir = TempDir("quill-task") }
    override func tearDown() { dir.cleanup() }

    let tiny = ["--steps", "4", "--hidden", "4", "--batch", "3", "--eval-every", "2", "--eval-sequences", "5"]

    func testFigures() throws {
        XCTAssertEqual(errorText(["task", "palindrome", "--cell", "rnn,lstm", "--length", "3", "-o", dir.path("p.png")] + tiny), "no error")
        XCTAssertGreaterThan(try RasterImage.readPNG(dir.path("p.png")).count(differingFrom: .white), 2000)
        XCTAssertEqual(errorText(["task", "copy", "--cell", "gru", "--lengths", "2,3", "-o", dir.path("c.svg")] + tiny), "no error")
        XCTAssertEqual(errorText(["task", "adding", "--cell", "rnn-relu", "--lengths", "2,4", "-o", dir.path("a.pdf")] + tiny), "no error")
        XCTAssertEqual(errorText(["char", "gradient-flow", "--cell", "rnn,lstm,gru", "--length", "6", "--hidden", "4",
                                  "--batch", "2", "-o", dir.path("g.png")]), "no error")
        XCTAssertGreaterThan(try RasterImage.readPNG(dir.path("g.png")).count(differingFrom: .white), 2000)
        // A trained (here: saved) model, reading windows of a text.
        let alphabet = Alphabet(text: "abc \n")
        var rng = SeededGenerator(seed: 5)
        let model = CharModel<Float>(config: CharModelConfig(cell: .gru, layers: 2, hidden: 5, vocabularySize: alphabet.count), rng: &rng)
        try CharCheckpoint.save(model, alphabet: alphabet, to: dir.path("m.safetensors"))
        try String(repeating: "abc cab\n", count: 5).write(toFile: dir.path("t.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(errorText(["char", "gradient-flow", "--model", dir.path("m.safetensors"), "--text", dir.path("t.txt"),
                                  "--length", "8", "-o", dir.path("gm.svg")]), "no error")
        XCTAssertTrue(errorText(["char", "gradient-flow", "--model", dir.path("m.safetensors"), "--text", dir.path("t.txt"),
                                 "--length", "50", "-o", dir.path("gm2.svg")]).contains("needs at least 51"))
    }

    /// --out keeps each (cell, length) run as a run directory; a second sweep into it is refused without --force.
    func testOutKeepsEveryRun() throws {
        let sweep = ["task", "adding", "--cell", "rnn,lstm", "--lengths", "2,3", "--out", dir.path("runs")] + tiny
        XCTAssertEqual(errorText(sweep), "no error")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path("runs")).sorted(),
                       ["lstm-T2", "lstm-T3", "rnn-T2", "rnn-T3"])
        for file in ["model.safetensors", "last.safetensors", "metrics.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path("runs/lstm-T3/\(file)")), file)
        }
        XCTAssertTrue(try String(contentsOfFile: dir.path("runs/rnn-T2/metrics.jsonl"), encoding: .utf8).contains("\"mse\""))
        XCTAssertTrue(errorText(sweep).contains("rnn-T2"))
        XCTAssertEqual(errorText(sweep + ["--force"]), "no error")
        XCTAssertTrue(errorText(["task", "adding", "--length", "3", "--force"] + tiny).contains("--force replaces runs in --out"))
        // Every run's folder is checked before the first run trains: here the second cell's.
        try FileManager.default.createDirectory(atPath: dir.path("more/lstm-T3"), withIntermediateDirectories: true)
        try Data("{}\n".utf8).write(to: URL(fileURLWithPath: dir.path("more/lstm-T3/metrics.jsonl")))
        XCTAssertTrue(errorText(["task", "adding", "--cell", "rnn,lstm", "--length", "3", "--out", dir.path("more")] + tiny)
            .contains("lstm-T3 already holds a run (metrics.jsonl); give --force"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("more/rnn-T3")))
        XCTAssertEqual(try String(contentsOfFile: dir.path("more/lstm-T3/metrics.jsonl"), encoding: .utf8), "{}\n")
        // A figure path the run could not write at the end is refused before it starts.
        try FileManager.default.createDirectory(atPath: dir.path("fig.png"), withIntermediateDirectories: true)
        XCTAssertTrue(errorText(["task", "adding", "--length", "4", "--out", dir.path("new"), "-o", dir.path("fig.png")] + tiny)
            .contains("is a directory"))
        XCTAssertTrue(errorText(["task", "adding", "--length", "4", "--out", dir.path("x.png"), "-o", dir.path("x.png")] + tiny)
            .contains("is also the directory of the runs"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("new")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("x.png")))
    }

    /// Ctrl-C stops a task's run after its step, checkpointed, and the sweep with it, with a line that says so (it
    /// used to kill the process mid-line, and run on where SIGINT was ignored).
    func testCtrlCStopsTheSweepWithANote() throws {
        let process = Process()
        process.executableURL = BadInputSuiteTests.quill
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: process.executableURL!.path), "no quill binary")
        process.arguments = ["task", "copy", "--cell", "lstm,gru", "--length", "3", "--steps", "10000000", "--hidden", "4",
                             "--batch", "3", "--eval-every", "1000000", "--eval-sequences", "5", "--out", dir.path("runs")]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Once the first run has begun (its directory exists), interrupt it.
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: dir.path("runs/lstm-T3/metrics.jsonl")) && Date() < deadline { usleep(20_000) }
        usleep(300_000)
        process.interrupt()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        _ = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit, e)
        XCTAssertEqual(process.terminationStatus, 0, e)
        XCTAssertTrue(e.contains("interrupted during lstm T=3"), e)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path("runs/lstm-T3/last.safetensors")), e)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("runs/gru-T3")), "the sweep stops with the run")
    }

    func testBadInputGivesOneClearLine() {
        let out = ["-o", dir.path("x.png")]
        XCTAssertTrue(errorText(["task", "palindrome", "--length", "1"] + out)
            .hasPrefix("quill: error: --length must be at least 2 (a task needs a step to read and one to score), got 1"))
        XCTAssertTrue(errorText(["task", "palindrome", "--lengths", "5,1"] + out).contains("--lengths must be at least 2"))
        XCTAssertTrue(errorText(["task", "sorting", "--length", "5"] + out).contains("sorting"))
        XCTAssertTrue(errorText(["task", "copy", "--cell", "lstn", "--length", "5"] + out).contains("'lstn'"))
        XCTAssertTrue(errorText(["task", "copy"] + out).contains("give --length T or --lengths"))
        XCTAssertTrue(errorText(["task", "copy", "--length", "3", "--lengths", "3"] + out).contains("one of them"))
        XCTAssertTrue(errorText(["task", "copy", "--length", "3", "-o", dir.path("x.gif")]).contains(".png"))
        try? Data("x".utf8).write(to: URL(fileURLWithPath: dir.path("afile")))
        XCTAssertTrue(errorText(["task", "copy", "--length", "3", "--out", dir.path("afile")] + out).contains("afile: is a file, not a directory"))
        XCTAssertTrue(errorText(["char", "gradient-flow", "--length", "1"] + out).contains("--length must be at least 2"))
        XCTAssertTrue(errorText(["char", "gradient-flow", "--cell", "lstm,tree"] + out).contains("'tree'"))
        // A network far beyond the machine's memory is refused before it is made (it was killed for memory).
        let huge = errorText(["char", "gradient-flow", "--cell", "lstm", "--hidden", "16384", "--layers", "32", "--length", "10"] + out)
        XCTAssertTrue(huge.hasPrefix("quill: error: char gradient-flow needs about") && huge.contains("lower --hidden"), huge)
        XCTAssertTrue(errorText(["char", "gradient-flow", "--text", dir.path("t.txt")] + out).contains("--text is read by --model"))
        XCTAssertTrue(errorText(["char", "gradient-flow", "--model", dir.path("none"), "--cell", "rnn"] + out).contains("--cell"))
        XCTAssertTrue(errorText(["task", "copy", "--cell", "lstm,gru,lstm", "--length", "3"] + out).contains("--cell names lstm twice"))
        XCTAssertTrue(errorText(["task", "copy", "--lengths", "3,4,3"] + out).contains("--lengths names 3 twice"))
        XCTAssertTrue(errorText(["char", "gradient-flow", "--cell", "rnn,rnn"] + out).contains("--cell names rnn twice"))
        try? FileManager.default.createDirectory(atPath: dir.path("g.png"), withIntermediateDirectories: true)
        XCTAssertTrue(errorText(["char", "gradient-flow", "--cell", "rnn", "-o", dir.path("g.png")]).contains("is a directory"))
        XCTAssertTrue(errorText(["task", "copy", "--length", "3", "--histogram-every", "2"] + out)
            .contains("give --out DIR or --tensorboard DIR"))
        XCTAssertTrue(errorText(["char", "gradient-flow", "--model", dir.path("none"), "--layers", "3"] + out)
            .contains("--layers and --hidden shape untrained models"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("x.png")))
    }

    /// What happens is decided before the run where it can be: a figure's missing directory (74) and a model too
    /// large for the memory (1, one line) stop it before any step; a run that diverges is a failed run (1), not a
    /// usage error.
    func testFailuresBeforeAndDuringTheRun() throws {
        var c = try Quill.parseCommand(["task", "palindrome", "--length", "3", "-o", dir.path("missing/x.png")] + tiny)
        XCTAssertThrowsError(try c.run()) { XCTAssertEqual(ExitStatus.of($0), .ioError, "\($0)") }
        var options = MemoryTaskOptions(task: .copy)
        options.hidden = 4096
        options.batch = 10_000
        let small = MemoryBudget(limits: [.init(bytes: 1 << 30, name: "test limit")])
        XCTAssertThrowsError(try MemoryTaskTraining.train(options, budget: small)) { error in
            XCTAssertTrue(error is MemoryBudgetError, "\(error)")
            XCTAssertEqual(ExitStatus.of(error), .failure)
            XCTAssertTrue("\(error)".contains("--hidden"), "\(error)")
        }
        let diverging = ["task", "copy", "--length", "5", "--lr", "1000", "--steps", "20", "--hidden", "8", "--batch", "4",
                         "--eval-every", "10", "--eval-sequences", "10", "--cell", "rnn-relu", "--out", dir.path("div")]
        var d = try Quill.parseCommand(diverging)
        XCTAssertThrowsError(try d.run()) { error in
            XCTAssertEqual(ExitStatus.of(error), .failure, "\(error)")
            XCTAssertTrue("\(error)".contains("NaN or infinite"), "\(error)")
        }
        // It diverged before its first checkpoint: no half run is left behind.
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("div/rnn-relu-T5")))
    }
}
