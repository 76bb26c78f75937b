import Foundation
import QuillNN
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

    /// Digests by the OpenBLAS kernel family, with "+avx512" where Quill's own AVX-512 kernels run and "+avx2" where
    /// their AVX2 twins do (the soft window's vector maths rounds differently from the portable path; `QUILL_KERNELS=0`
    /// turns them off).
    static let expected: [String: [String: String]] = [
        "Prescott": ["synthesis": "e7fc089005e3a8c7d3fc3290a41f97c6aaf0d4def9a511f482d62edf591c74e0", "prediction": "7aa00906b23fff6cfd53e2cd411866f4e768bbdff4097ee0d58b64767fc9ab6e"],
        "Haswell": ["synthesis": "0c7739b51839486bb6da778db654e50b9a928212a8eaa04abe08519cea3e417e", "prediction": "8141a213070b1063903c32a3283a3daf295848dfeb132dea0f84b0feb9a497f7"],
        "SkylakeX": ["synthesis": "7c44d1177f78803de49df9e62912d6d78e7ef44c4ea0311fe80af72e3e538185", "prediction": "cf17b47357afceaf00f7cb98b323501bdc046404f3e471d7c5bc0c99d36b41ee"],
        "Prescott+avx512": ["synthesis": "693db1fdd2177d25b3fd57606196a72810409328abbbcee1a75e16e364bc6f8b", "prediction": "7aa00906b23fff6cfd53e2cd411866f4e768bbdff4097ee0d58b64767fc9ab6e"],
        "Haswell+avx512": ["synthesis": "b4743a354917d3d8a7140ee8e63da2be75993f3ff2319b37f4f37a9cfe36a96d", "prediction": "8141a213070b1063903c32a3283a3daf295848dfeb132dea0f84b0feb9a497f7"],
        "SkylakeX+avx512": ["synthesis": "971f5be069a1399d732a49263fdb2f21a80c81d555b3e6edf38f0cba96cd16d6", "prediction": "cf17b47357afceaf00f7cb98b323501bdc046404f3e471d7c5bc0c99d36b41ee"],
        // AMD Zen 2 (AVX2, no AVX-512): OpenBLAS's Zen kernels give the Haswell bits, and the AVX2 window the
        // AVX-512 window's (the same fused multiply-adds, 8 lanes at a time).
        "Zen": ["synthesis": "0c7739b51839486bb6da778db654e50b9a928212a8eaa04abe08519cea3e417e", "prediction": "8141a213070b1063903c32a3283a3daf295848dfeb132dea0f84b0feb9a497f7"],
        "Zen+avx2": ["synthesis": "b4743a354917d3d8a7140ee8e63da2be75993f3ff2319b37f4f37a9cfe36a96d", "prediction": "8141a213070b1063903c32a3283a3daf295848dfeb132dea0f84b0feb9a497f7"],
        // An AVX-512 CPU capped at the AVX2 twins (QUILL_KERNELS=avx2; Intel Emerald Rapids, 2026-12-04): again the
        // AVX-512 window's bits, for each of OpenBLAS's kernel families.
        "Prescott+avx2": ["synthesis": "693db1fdd2177d25b3fd57606196a72810409328abbbcee1a75e16e364bc6f8b", "prediction": "7aa00906b23fff6cfd53e2cd411866f4e768bbdff4097ee0d58b64767fc9ab6e"],
        "Haswell+avx2": ["synthesis": "b4743a354917d3d8a7140ee8e63da2be75993f3ff2319b37f4f37a9cfe36a96d", "prediction": "8141a213070b1063903c32a3283a3daf295848dfeb132dea0f84b0feb9a497f7"],
        "SkylakeX+avx2": ["synthesis": "971f5be069a1399d732a49263fdb2f21a80c81d555b3e6edf38f0cba96cd16d6", "prediction": "cf17b47357afceaf00f7cb98b323501bdc046404f3e471d7c5bc0c99d36b41ee"],
    ]

    /// The key of `expected` for this process: OpenBLAS's kernel family, and whether Quill's AVX-512 kernels run
    /// ("+avx512") or their AVX2 twins ("+avx2": the window's 8-lane maths rounds differently again).
    static var kernels: String {
        BLASInfo.coreName + (FusedKernels.level == .avx512 ? "+avx512" : FusedKernels.windowAvailable ? "+avx2" : "")
    }

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
