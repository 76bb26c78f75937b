import ArgumentParser
import Foundation
import QuillModels
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// Commands parsed and run in-process, as `quill` would.
final class CLITests: XCTestCase {
    func parse(_ args: [String]) throws -> ParsableCommand { try Quill.parseCommand(args) }

    func testHelpListsEveryCommand() {
        let help = Quill.helpMessage()
        for sub in ["char", "data", "plot", "bench"] { XCTAssertTrue(help.contains(sub), sub) }
        let charHelp = Quill.helpMessage(for: CharTrain.self)
        for option in ["--cell", "--layers", "--hidden", "--dropout", "--batch", "--seq", "--lr", "--clip",
                       "--steps", "--minutes", "--seed", "--resume"] {
            XCTAssertTrue(charHelp.contains(option), option)
        }
        XCTAssertEqual(Quill.configuration.version, Quill.version)
    }

    func testNonsensicalHyperparametersAreRejectedBeforeWork() {
        let base = ["char", "train", "--data", "x.txt", "--out", "/tmp/quill-never-created", "--steps", "5"]
        for (extra, expected) in [(["--hidden", "0"], "--hidden"), (["--layers", "-1"], "--layers"),
                                  (["--dropout", "1.5"], "--dropout"), (["--lr=-0.1"], "--lr must be"),
                                  (["--batch", "0"], "--batch"), (["--clip", "-3"], "--clip"),
                                  (["--cell", "transformer"], "cell"),
                                  (["--cell", "gru", "--peepholes"], "--peepholes needs --cell lstm")] {
            let text = errorText(base + extra)
            XCTAssertTrue(text.contains(expected), "\(extra): \(text)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/quill-never-created"))
        XCTAssertTrue(errorText(["char", "train", "--data", "x.txt", "--out", "/tmp/q"]).contains("--steps"))
    }

    func testTrainSampleEvalEndToEnd() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("text.txt")
        try String(repeating: "to be or not to be, that is the question.\n", count: 30)
            .write(toFile: data, atomically: true, encoding: .utf8)
        let out = dir.path("run")
        var train = try parse(["char", "train", "--data", data, "--out", out, "--hidden", "16", "--layers", "1",
                               "--batch", "4", "--seq", "20", "--steps", "6", "--eval-every", "3"])
        try train.run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/metrics.jsonl"))
        var sample = try parse(["char", "sample", "--model", out, "--length", "10", "--seed", "3"])
        try sample.run()
        var eval = try parse(["char", "eval", "--model", out, "--data", data, "--part", "val"])
        try eval.run()
        var dynamic = try parse(["char", "eval", "--model", out, "--data", data, "--dynamic", "--lr", "0.1", "--window", "8"])
        try dynamic.run()
        XCTAssertTrue(errorText(["char", "eval", "--model", out, "--data", data, "--lr", "0.1"]).contains("give --dynamic too"))

        // Resume with another architecture is refused, naming the option.
        XCTAssertTrue(errorText(["char", "train", "--data", data, "--out", out, "--hidden", "32", "--steps", "9",
                                 "--resume"]).contains("--hidden 32 differs from the checkpoint's 16"))
        XCTAssertTrue(errorText(["char", "train", "--data", data, "--out", out, "--peepholes", "--steps", "9",
                                 "--resume"]).contains("--peepholes differs from the checkpoint"))
        // The run is fp32: bf16 on resume is refused, fp32 said again is fine.
        XCTAssertTrue(errorText(["char", "train", "--data", data, "--out", out, "--precision", "bf16", "--steps", "9",
                                 "--resume"]).contains("--precision bf16 differs from the checkpoint's fp32"))
        XCTAssertTrue(errorText(["char", "train", "--data", data, "--out", out, "--precision", "fp16", "--steps", "9"])
            .contains("fp16"))
        XCTAssertNil(try CharTrain.parse(["--data", data, "--out", out, "--precision", "fp32", "--steps", "9",
                                          "--resume"]).options().precision)
        // --force with data that fails its checks leaves the run as it was: nothing is removed before the new run
        // has its data and model.
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/last.safetensors"))
        try "".write(toFile: dir.path("empty.txt"), atomically: true, encoding: .utf8)
        for bad in [dir.path("missing.txt"), dir.path("empty.txt")] {
            XCTAssertNotEqual(errorText(["char", "train", "--data", bad, "--out", out, "--steps", "2", "--hidden", "8",
                                         "--force"]), "no error")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/last.safetensors")), before, bad)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/model.safetensors"), bad)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/metrics.jsonl"), bad)
        }
        XCTAssertTrue(errorText(["char", "train", "--data", data, "--out", out, "--steps", "2", "--hidden", "8",
                                 "--seq", "5000", "--force"]).contains("shorter than one batch"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/last.safetensors")), before)
        // A new run into the same directory is refused rather than overwriting it.
        XCTAssertTrue(errorText(["char", "train", "--data", data, "--out", out, "--steps", "2", "--hidden", "8"])
            .contains("already holds a trained model"))
        // Options that would have no effect are refused rather than ignored.
        XCTAssertTrue(errorText(["char", "sample", "--model", out, "--greedy", "--temperature", "0.5"]).contains("drop one"))
        XCTAssertTrue(errorText(["char", "sample", "--model", out, "--beam", "2", "--seed", "5"]).contains("--beam draws nothing"))
        XCTAssertTrue(errorText(["char", "train", "--data", data, "--out", dir.path("fb"), "--steps", "1", "--cell", "gru",
                                 "--forget-bias", "2"]).contains("--cell gru has no forget gate"))
        // Priming text outside the vocabulary names the characters.
        XCTAssertTrue(errorText(["char", "sample", "--model", out, "--prime", "Qx✓"]).contains("'Q', 'x', '✓'"))
        // Evaluating on text with unknown characters names them too.
        try "abc☃".write(toFile: dir.path("other.txt"), atomically: true, encoding: .utf8)
        XCTAssertTrue(errorText(["char", "eval", "--model", out, "--data", dir.path("other.txt")]).contains("'☃'"))
        // With good data --force replaces the run.
        XCTAssertEqual(errorText(["char", "train", "--data", data, "--out", out, "--steps", "2", "--hidden", "8",
                                  "--layers", "1", "--batch", "4", "--seq", "20", "--force"]), "no error")
        XCTAssertEqual(try CharTrainOptions.saved(outDir: out).model.hidden, 8)
    }

    /// Graves's peephole LSTM trains, saves its peephole weights, and samples from the checkpoint.
    func testPeepholeCharModel() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("text.txt")
        try String(repeating: "peepholes see the cell.\n", count: 30).write(toFile: data, atomically: true, encoding: .utf8)
        let out = dir.path("run")
        var train = try parse(["char", "train", "--data", data, "--out", out, "--hidden", "8", "--layers", "2",
                               "--peepholes", "--batch", "4", "--seq", "16", "--steps", "4", "--eval-every", "2"])
        try train.run()
        let loaded = try CharCheckpoint.load(out + "/model.safetensors")
        XCTAssertTrue(loaded.model.config.peepholes)
        XCTAssertTrue(loaded.model.parameters.contains { $0.name == "rnn.1.peep" })
        XCTAssertTrue(loaded.model.stack!.layers[0].peephole!.value.array.contains { $0 != 0 }, "peepholes were trained")
        var sample = try parse(["char", "sample", "--model", out, "--length", "10", "--seed", "3"])
        try sample.run()
    }

    func testMissingAndCorruptModels() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        XCTAssertTrue(errorText(["char", "sample", "--model", dir.path("none")]).contains("no such model file"))
        try Data("not a checkpoint at all".utf8).write(to: URL(fileURLWithPath: dir.path("bad.safetensors")))
        XCTAssertTrue(errorText(["char", "sample", "--model", dir.path("bad.safetensors")])
            .contains("not a Quill checkpoint"))
    }

    func testSampleOptionsAreChecked() {
        XCTAssertTrue(errorText(["char", "sample", "--model", "m", "--temperature", "0"]).contains("--temperature"))
        XCTAssertTrue(errorText(["char", "sample", "--model", "m", "--greedy", "--beam", "3"]).contains("--greedy"))
        XCTAssertTrue(errorText(["char", "sample", "--model", "m", "--length", "0"]).contains("--length"))
        // Beam search's memory and time grow with length × beams.
        XCTAssertTrue(errorText(["char", "sample", "--model", "m", "--beam", "256", "--length", "1000"])
            .contains("--length × --beam at most 200000"))
        XCTAssertTrue(errorText(["char", "sample", "--model", "m", "--beam", "1", "--length", "10001"]).contains("--beam"))
    }

    func testDataShowNeedsOneSelector() {
        XCTAssertTrue(errorText(["data", "show", "f.qds", "-o", "x.png"]).contains("exactly one"))
        XCTAssertTrue(errorText(["data", "show", "f.qds", "--index", "1", "-o", "x.gif"]).lowercased().contains("gif"))
    }
}
