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
        "Prescott": ["synthesis": "43be45a3be8a77b830a66fb5c29e0395db1d36444d337c86210d77ad57cd5ddd", "prediction": "7aa00906b23fff6cfd53e2cd411866f4e768bbdff4097ee0d58b64767fc9ab6e"],
        "Haswell": ["synthesis": "685483e2dabe0ca74b2b61482666ae83b7a745ce061da35aae30ef31cb7dfb6d", "prediction": "8141a213070b1063903c32a3283a3daf295848dfeb132dea0f84b0feb9a497f7"],
        "SkylakeX": ["synthesis": "2e67287e0368af8bea19ecea7b61041d6e4771adf46228527daa6654c0effbb8", "prediction": "cf17b47357afceaf00f7cb98b323501bdc046404f3e471d7c5bc0c99d36b41ee"],
        "Prescott+avx512": ["synthesis": "95c4f650d2f3b00eafecec732429b2619e6a217e1974042d21285c38f6cc6584", "prediction": "7aa00906b23fff6cfd53e2cd411866f4e768bbdff4097ee0d58b64767fc9ab6e"],
        "Haswell+avx512": ["synthesis": "3f2f3c5147fb5b0d5d17a7684d14e2b2b1ce948e60e56720278e64ceb5903dc3", "prediction": "8141a213070b1063903c32a3283a3daf295848dfeb132dea0f84b0feb9a497f7"],
        "SkylakeX+avx512": ["synthesis": "9921f0a4d344462f6b398bd2a58e7fe2ac30bdd296c5665aaafeec92ba49dfbb", "prediction": "cf17b47357afceaf00f7cb98b323501bdc046404f3e471d7c5bc0c99d36b41ee"],
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
