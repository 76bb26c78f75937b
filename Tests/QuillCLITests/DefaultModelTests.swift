import ArgumentParser
import Foundation
import QuillModels
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// The default `--model`: `$QUILL_MODEL_DIR/<kind>`, else `PREFIX/share/quill/models/<kind>` beside an installed
/// `PREFIX/bin/quill`, else the source tree's `models/<kind>`.
final class DefaultModelTests: XCTestCase {
    func directory(_ kind: HandwritingKind, env: [String: String] = [:], exe: String? = "/opt/q/bin/quill",
                   existing: Set<String>) -> String {
        DefaultModel.directory(kind, environment: env, executable: exe, sourceRoot: "/src/quill",
                               fileExists: { existing.contains($0) })
    }

    func testEnvironmentVariableWinsEvenWhenTheFolderIsMissing() {
        let all: Set = ["/opt/q/share/quill/models/synthesis", "/src/quill/models/synthesis"]
        XCTAssertEqual(directory(.synthesis, env: ["QUILL_MODEL_DIR": "/m"], existing: all), "/m/synthesis")
        XCTAssertEqual(directory(.prediction, env: ["QUILL_MODEL_DIR": "/m/"], existing: []), "/m/prediction")
        // The older form: QUILL_MODEL_DIR is one model's own folder.
        XCTAssertEqual(directory(.synthesis, env: ["QUILL_MODEL_DIR": "/m"], existing: ["/m/model.safetensors"]), "/m")
        XCTAssertEqual(directory(.synthesis, env: ["QUILL_MODEL_DIR": "/m"], existing: ["/m/model.safetensors", "/m/synthesis"]),
                       "/m/synthesis")
        // An empty variable counts as unset.
        XCTAssertEqual(directory(.synthesis, env: ["QUILL_MODEL_DIR": ""], existing: all),
                       "/opt/q/share/quill/models/synthesis")
    }

    func testInstalledModelsBesideTheBinaryComeBeforeTheSourceTree() {
        XCTAssertEqual(directory(.prediction, existing: ["/opt/q/share/quill/models/prediction", "/src/quill/models/prediction"]),
                       "/opt/q/share/quill/models/prediction")
        XCTAssertEqual(directory(.synthesis, exe: "/bin/quill", existing: ["/share/quill/models/synthesis"]),
                       "/share/quill/models/synthesis")
    }

    func testSourceTreeWhenNothingIsInstalled() {
        XCTAssertEqual(directory(.synthesis, existing: ["/src/quill/models/synthesis"]), "/src/quill/models/synthesis")
        // A binary in .build/debug is not in a bin folder: the source tree, whether or not it exists.
        XCTAssertEqual(directory(.synthesis, exe: "/src/quill/.build/debug/quill", existing: []), "/src/quill/models/synthesis")
        XCTAssertEqual(directory(.synthesis, exe: nil, existing: []), "/src/quill/models/synthesis")
        // Nothing anywhere, binary installed: the install location, so the error names where the model belongs.
        XCTAssertEqual(directory(.prediction, existing: []), "/opt/q/share/quill/models/prediction")
    }

    /// In this test process (not installed, no QUILL_MODEL_DIR unless the caller set one) the defaults are the
    /// repository's committed models.
    func testThisCheckoutFindsItsOwnModels() throws {
        try XCTSkipIf(ProcessInfo.processInfo.environment["QUILL_MODEL_DIR"] != nil, "QUILL_MODEL_DIR is set")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        XCTAssertEqual(DefaultModel.synthesis, root.appendingPathComponent("models/synthesis").path)
        XCTAssertEqual(DefaultModel.prediction, root.appendingPathComponent("models/prediction").path)
    }

    /// The commands that sample a model take its default, and say so in their help.
    func testCommandsSayWhereTheirDefaultModelIs() {
        let commands: [(ParsableCommand.Type, HandwritingKind)] = [
            (WriteCommand.self, .synthesis), (PlotWindowCommand.self, .synthesis), (StyleAdd.self, .synthesis),
            (EvalCommand.self, .synthesis), (SampleCommand.self, .prediction), (PlotDensityCommand.self, .prediction),
        ]
        for (command, kind) in commands {
            let help = Quill.helpMessage(for: command, columns: 1000)
            XCTAssertTrue(help.contains("$QUILL_MODEL_DIR/\(kind.rawValue)"), "\(command): \(help)")
        }
    }

    /// Without --model, the prediction commands sample the bundled prediction model; with QUILL_MODEL_DIR naming a
    /// folder without models, every command says where it looked and what to do.
    func testCommandsRunOnTheDefaultModelOrSayWhereTheyLooked() throws {
        let tmp = TempDir(); defer { tmp.cleanup() }
        if FileManager.default.fileExists(atPath: DefaultModel.prediction + "/model.safetensors") {
            XCTAssertEqual(errorText(["sample", "-o", tmp.path("s.png"), "--length", "20"]), "no error")
        }
        let saved = ProcessInfo.processInfo.environment["QUILL_MODEL_DIR"]
        setenv("QUILL_MODEL_DIR", tmp.path("empty"), 1)
        defer { if let saved { setenv("QUILL_MODEL_DIR", saved, 1) } else { unsetenv("QUILL_MODEL_DIR") } }
        let commands: [([String], HandwritingKind)] = [
            (["write", "hi", "-o", tmp.path("w.png")], .synthesis), (["sample", "-o", tmp.path("s.png")], .prediction),
            (["plot", "window", "hi", "-o", tmp.path("p.png")], .synthesis),
            (["plot", "density", "-o", tmp.path("d.png")], .prediction),
            (["style", "add", "x", "--text", "hi"], .synthesis), (["eval", "--data", tmp.path("d.qds")], .synthesis),
        ]
        for (args, kind) in commands {
            XCTAssertEqual(errorText(args),
                           "quill: error: no --model given and no \(kind.rawValue) model in \(tmp.path("empty"))/\(kind.rawValue) "
                           + "(from QUILL_MODEL_DIR=\(tmp.path("empty"))); give --model DIR, or set QUILL_MODEL_DIR to a "
                           + "folder holding \(kind.rawValue)/model.safetensors", args.joined(separator: " "))
        }
    }
}
