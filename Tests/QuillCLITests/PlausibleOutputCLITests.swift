import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// Empty output paths, absurd checkpoints and invisible-only texts fail with one clear line.
final class PlausibleOutputCLITests: XCTestCase {
    /// `data import` names its output as every command that writes one file does (-o/--output); --out stays.
    func testDataImportTakesOutputAndOut() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let jsonl = dir.path("in.jsonl")
        try #"{"id":"a","origin":[0,0],"points":[[0,0,0],[1,1,1],[3,2,1]],"text":"a"}"#.write(toFile: jsonl, atomically: true, encoding: .utf8)
        for (i, flag) in ["-o", "--output", "--out"].enumerated() {
            XCTAssertEqual(errorText(["data", "import", "iam-jsonl", jsonl, flag, dir.path("\(i).qds")]), "no error", flag)
        }
        let first = try Data(contentsOf: URL(fileURLWithPath: dir.path("0.qds")))
        for i in 1...2 { XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir.path("\(i).qds"))), first) }
    }

    func testEmptyOutputPathsAreRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let jsonl = dir.path("in.jsonl")
        try #"{"id":"a","origin":[0,0],"points":[[0,0,0],[1,1,1]],"text":"a"}"#.write(toFile: jsonl, atomically: true, encoding: .utf8)
        let model = dir.path("m.safetensors")
        FileManager.default.createFile(atPath: model, contents: Data("x".utf8))
        let cases: [([String], String)] = [
            (["data", "import", "iam-jsonl", jsonl, "--out", ""], "--output is empty; give a file path"),
            (["data", "import", "iam-jsonl", jsonl, "-o", ""], "--output is empty; give a file path"),
            (["data", "show", jsonl, "--index", "0", "-o", ""], "--output is empty; give a file path"),
            (["plot", "loss", dir.url.path, "-o", ""], "--output is empty; give a file path"),
            (["sample", "--model", model, "-o", ""], "--output is empty; give a file path"),
            (["plot", "window", "hello", "--model", model, "-o", ""], "--output is empty; give a file path"),
            (["plot", "density", "--model", model, "-o", ""], "--output is empty; give a file path"),
            (["write", "hello", "-o", ""], "--output is empty; give a file path"),
        ]
        for (args, expected) in cases {
            let text = errorText(args)
            XCTAssertTrue(text.contains(expected), "\(args): \(text)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted(), ["in.jsonl", "m.safetensors"])
    }

    /// A char checkpoint whose every weight is 3.4e38 is refused by `char sample` and `char eval`, where it used to
    /// print newlines and "-nan nats/char" with exit 0.
    func testHugeWeightCheckpointIsRefusedByCharCommands() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 1)
        let vocab = Alphabet(text: "ab \n")
        let model = CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 4, vocabularySize: vocab.count), rng: &rng)
        for p in model.parameters where p.trainable {
            for i in 0..<p.value.count { p.value[i] = 3.4e38 }
        }
        let path = dir.path("huge.safetensors")
        try CharCheckpoint.save(model, alphabet: vocab, to: path)
        let data = dir.path("t.txt")
        try String(repeating: "ab ba\n", count: 30).write(toFile: data, atomically: true, encoding: .utf8)
        for args in [["char", "sample", "--model", path, "--temperature", "1e-60", "--length", "30"],
                     ["char", "eval", "--model", path, "--data", data]] {
            let text = errorText(args)
            XCTAssertTrue(text.contains("corrupt or truncated checkpoint") && text.contains("beyond the plausible"), text)
            XCTAssertFalse(text.contains("\n"))
        }
    }

    func testInvisibleOnlyTextSaysSo() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let text = errorText(["write", "\u{200B}\u{200D}\u{FEFF}", "-o", dir.path("x.png")])
        XCTAssertTrue(text.contains("the text is empty once its invisible characters"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("x.png")))
    }
}
