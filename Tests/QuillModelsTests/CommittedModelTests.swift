import Foundation
import QuillNumerics
import XCTest
@testable import QuillModels

/// The committed models keep working: they load, and a seed gives the same strokes as when these digests were
/// recorded (issue 13 item 9). Digests are of the sampled offsets' Float bits, by OpenBLAS kernel family and
/// whether Quill's AVX-512 kernels run (a product's rounding depends on its kernels; see TrainingRunHashTests); on
/// kernels with none recorded, two samplings with one seed must still agree.
final class CommittedModelTests: XCTestCase {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models")

    /// Digests by the OpenBLAS kernel family, with "+avx512" where Quill's own AVX-512 kernels run (the soft window's
    /// vector maths rounds differently from the portable path; `QUILL_KERNELS=0` turns them off).
    static let expected: [String: [String: String]] = [
        "Prescott": ["synthesis": "2b18e40710e4c4bdb535a9649be0d6cae93cc9f38dc4bfa5ec202d9a129f8db6", "prediction": "7aa00906b23fff6cfd53e2cd411866f4e768bbdff4097ee0d58b64767fc9ab6e"],
        "Haswell": ["synthesis": "6062fe78397cc6a2d4ca8b04112804998f0876977a1241a14570285a7fb48e78", "prediction": "8141a213070b1063903c32a3283a3daf295848dfeb132dea0f84b0feb9a497f7"],
        "SkylakeX": ["synthesis": "88f53d5af3f4196311de9a5d1d02d1340a5061413ef3ba68a2b4d5c97befbd6b", "prediction": "cf17b47357afceaf00f7cb98b323501bdc046404f3e471d7c5bc0c99d36b41ee"],
        "Prescott+avx512": ["synthesis": "395cf306ae69d9af1a90437c59d0e87d007c6dc9f972a9822d9410d1f98a9289", "prediction": "7aa00906b23fff6cfd53e2cd411866f4e768bbdff4097ee0d58b64767fc9ab6e"],
        "Haswell+avx512": ["synthesis": "c0eff61af3487499201df37832e0c470bcbdfeb3ee7a83f0f8a09998a316595f", "prediction": "8141a213070b1063903c32a3283a3daf295848dfeb132dea0f84b0feb9a497f7"],
        "SkylakeX+avx512": ["synthesis": "d3456c8a93d5435d71e09ca1ad18a77b5f005d0611218fb9085c293849413ee4", "prediction": "cf17b47357afceaf00f7cb98b323501bdc046404f3e471d7c5bc0c99d36b41ee"],
    ]

    /// The key of `expected` for this process: OpenBLAS's kernel family, and whether Quill's AVX-512 kernels run.
    static var kernels: String { BLASInfo.coreName + (QuillGEMM.available ? "+avx512" : "") }

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
        let core = Self.kernels
        guard let recorded = Self.expected[core] else {
            print("CommittedModelTests: no digests recorded for OpenBLAS \(core) kernels; got \(got.sorted { $0.key < $1.key })")
            return
        }
        for (name, hash) in got.sorted(by: { $0.key < $1.key }) {
            guard let expected = recorded[name] else {
                // Recorded on a machine that runs these kernels.
                print("CommittedModelTests: no digest recorded for models/\(name) on OpenBLAS \(core) kernels; got \(hash)")
                continue
            }
            XCTAssertEqual(hash, expected, "models/\(name) on \(core) kernels: a seed no longer gives the strokes it gave")
        }
    }
}
