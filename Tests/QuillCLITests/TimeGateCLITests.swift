import Foundation
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import QuillRender
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// `quill char time-gate` (issue 16 item 7): the Phased LSTM's gate k_t drawn for a model's units or for a τ, s and
/// r_on given, and one clear line for each bad input.
final class TimeGateCLITests: XCTestCase {
    var dir = TempDir.unmade

    override func setUp() { dir = TempDir("quill-time-gate") }
    override func tearDown() { dir.cleanup() }

    func saveModel(_ cell: CellKind, _ name: String) throws -> String {
        let alphabet = Alphabet(text: "abc \n")
        var rng = SeededGenerator(seed: 3)
        let model = CharModel<Float>(config: CharModelConfig(cell: cell, layers: 2, hidden: 6, vocabularySize: alphabet.count),
                                     rng: &rng)
        let path = dir.path(name)
        try CharCheckpoint.save(model, alphabet: alphabet, to: path)
        return path
    }

    /// Note 002's figure 3: τ = 6, s = 3, r_on = 0.2 rises from t = 3, peaks at 3.6 and is shut again at 4.2.
    func testNoteFigureGate() throws {
        let c = CharInspection.timeGate(period: 6, shift: 3, openRatio: 0.2, length: 12)
        XCTAssertEqual(c.times.count, 12 * CharInspection.timeGateResolution + 1)
        XCTAssertEqual(c.stepK.count, 13)
        XCTAssertEqual(c.stepK[3], 0, accuracy: 1e-12)
        XCTAssertEqual(c.stepK[4], 2 - 2 * (1.0 / 6) / 0.2, accuracy: 1e-9)
        XCTAssertEqual(c.stepK[10], c.stepK[4], accuracy: 1e-9, "period 6")
        let peak = c.k.indices.max { c.k[$0] < c.k[$1] } ?? 0
        XCTAssertEqual(c.times[peak], 3.6, accuracy: 1e-9)
        XCTAssertEqual(c.k[peak], 1, accuracy: 1e-9)
        XCTAssertEqual(c.period, 6, accuracy: 1e-12)
        XCTAssertEqual(c.openRatio, 0.2, accuracy: 1e-12)
    }

    func testFiguresFromAModelAndFromParameters() throws {
        let model = try saveModel(.phasedLSTM, "phased.safetensors")
        XCTAssertEqual(errorText(["char", "time-gate", "--model", model, "--layer", "2", "--units", "1,5", "-o", dir.path("t.png")]),
                       "no error")
        XCTAssertGreaterThan(try RasterImage.readPNG(dir.path("t.png")).count(differingFrom: .white), 2000)
        XCTAssertEqual(errorText(["char", "time-gate", "--period", "6", "--shift", "3", "--r-on", "0.2", "-o", dir.path("f.svg")]),
                       "no error")
        // The curves are the model's own units.
        let loaded = try CharCheckpoint.load(model)
        let curves = try CharInspection.timeGates(loaded.model, layer: 1, units: [1, 5], length: 10)
        // Invariant: a Phased LSTM layer has its periods.
        let logPeriod = loaded.model.stack!.layers[1].periods!.value
        XCTAssertEqual(curves.map(\.unit), [1, 5])
        XCTAssertEqual(curves[1].period, Double.exp(Double(logPeriod[5])), accuracy: 1e-9)
    }

    func testBadInputGivesOneClearLine() throws {
        let out = ["-o", dir.path("x.png")]
        let lstm = try saveModel(.lstm, "lstm.safetensors"), phased = try saveModel(.phasedLSTM, "p.safetensors")
        XCTAssertTrue(errorText(["char", "time-gate", "--model", lstm] + out)
            .contains("the model's cell is lstm, which has no time gate; train one with --cell phased-lstm"))
        XCTAssertTrue(errorText(["char", "time-gate", "--model", phased, "--units", "6"] + out)
            .contains("--units: unit 6 doesn't exist: each layer has 6 units (0…5)"))
        XCTAssertTrue(errorText(["char", "time-gate", "--model", phased, "--units", "1,x"] + out).contains("'x'"))
        XCTAssertTrue(errorText(["char", "time-gate", "--model", phased, "--units", "-1"] + out).contains("negative"))
        XCTAssertTrue(errorText(["char", "time-gate", "--model", phased, "--layer", "3"] + out)
            .contains("--layer 3 doesn't exist: the model has 2 layers (1…2)"))
        XCTAssertTrue(errorText(["char", "time-gate"] + out).contains("give --model DIR, or a gate's --period and --r-on"))
        XCTAssertTrue(errorText(["char", "time-gate", "--period", "6"] + out).contains("--r-on"))
        XCTAssertTrue(errorText(["char", "time-gate", "--model", phased, "--r-on", "0.2"] + out).contains("drop one"))
        XCTAssertTrue(errorText(["char", "time-gate", "--units", "1", "--period", "3", "--r-on", "0.5"] + out)
            .contains("--layer and --units choose a --model's units"))
        XCTAssertTrue(errorText(["char", "time-gate", "--model", dir.path("none")] + out).contains("none"))
        XCTAssertTrue(errorText(["char", "time-gate", "--model", phased, "-o", phased]).contains("."))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("x.png")))
    }
}
