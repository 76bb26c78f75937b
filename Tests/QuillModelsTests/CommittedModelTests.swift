import Foundation
import QuillNumerics
import XCTest
@testable import QuillModels

/// The committed models keep working: they load, and a seed gives the same strokes as when these digests were
/// recorded (issue 13 item 9). Digests are of the sampled offsets' Float bits, by OpenBLAS kernel family (a
/// product's rounding depends on its kernels; see TrainingRunHashTests); on a family with none recorded, two
/// samplings with one seed must still agree.
final class CommittedModelTests: XCTestCase {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models")

    static let expected: [String: [String: String]] = [
        "Prescott": ["synthesis": "58aa620d33145d57d3f61b5fcb274e047df31d2a62b5e73cd91179dcfb9a2c6f", "prediction": "7aa00906b23fff6cfd53e2cd411866f4e768bbdff4097ee0d58b64767fc9ab6e"],
        "SkylakeX": ["synthesis": "a431e12cb0f75198c622a941a907c0dda7f9680f5b8af76f44962f00d38e88b6", "prediction": "cf17b47357afceaf00f7cb98b323501bdc046404f3e471d7c5bc0c99d36b41ee"],
    ]

    func digest(_ lines: [GeneratedLine]) -> String {
        var bytes = [UInt8]()
        for g in lines {
            for row in g.inputs {
                for v in [row.dx, row.dy, row.eos] { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
            }
            bytes.append(0xFF)
        }
        return SHA256.hex(bytes)
    }

    func sampleSynthesis() throws -> String {
        let file = Self.models.appendingPathComponent("synthesis/model.safetensors").path
        let loaded = try HandwritingCheckpoint.load(file, expecting: .synthesis)
        let sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
        return digest(sampler.write(["hello from quill", "a second line"], options: WriteOptions(bias: 1), seed: 7))
    }

    func samplePrediction() throws -> String {
        let file = Self.models.appendingPathComponent("prediction/model.safetensors").path
        let loaded = try HandwritingCheckpoint.load(file, expecting: .prediction)
        let sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
        var rng = SeededGenerator(seed: 5)
        let (line, _) = sampler.sample(steps: 200, bias: 0.5, rng: &rng)
        return digest([line])
    }

    func testCommittedModelsSampleTheSameStrokes() throws {
        guard FileManager.default.fileExists(atPath: Self.models.appendingPathComponent("synthesis/model.safetensors").path) else {
            throw XCTSkip("no committed models in \(Self.models.path)")
        }
        let got = ["synthesis": try sampleSynthesis(), "prediction": try samplePrediction()]
        XCTAssertEqual(got, ["synthesis": try sampleSynthesis(), "prediction": try samplePrediction()],
                       "one seed gave two different samples")
        let core = BLASInfo.coreName
        guard let recorded = Self.expected[core] else {
            print("CommittedModelTests: no digests recorded for OpenBLAS \(core) kernels; got \(got.sorted { $0.key < $1.key })")
            return
        }
        for (name, hash) in got.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(hash, recorded[name], "models/\(name) on \(core) kernels: a seed no longer gives the strokes it gave")
        }
    }
}
