import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillOptim
import QuillTestSupport
import XCTest
@testable import QuillModels

/// Tiny char, prediction and synthesis runs with fixed seeds, fresh and resumed, fingerprinted by SHA-256: the
/// expected digests were computed before the trainers became tasks of one `TrainingRun`, so any change to the
/// checkpoints' tensors or metadata, or to the metrics lines, shows here.
///
/// What is hashed: model.safetensors and last.safetensors (every tensor's name, shape and value bits, every metadata
/// entry) and metrics.jsonl, with the three things that vary between two identical runs taken out: the run
/// directory's path (in quill.train-options), the elapsed seconds (quill.trainer, `elapsed_s`) and the rate.
final class TrainingRunHashTests: XCTestCase {
    /// Digests recorded before the training loops became one `TrainingRun` (the char runs' again when the char
    /// model's defaults became a 128-wide embedding and forget-gate bias 0, issue 13, and when their validation lines
    /// gained the next-step error, issue 15; the 4-wide-embedding GRU's and the prediction run's again when inputs at
    /// most 8 wide went through the thin products, issue 14; the LSTM's again when layer 1 took its embedding rows from
    /// the projected table, `TokenRows`, issue 14), by OpenBLAS kernel family: a BLAS
    /// product's rounding depends on its kernels, so the bytes of a run are fixed per kernel family, not across
    /// machines. `make test` selects SkylakeX on AVX-512 CPUs unless OPENBLAS_CORETYPE is preset; a plain `swift test`
    /// on this project's CI machines gets Prescott. On a kernel family with no entry, only the determinism of the runs
    /// (the same options twice give the same bytes) is checked, and the digests are printed for recording.
    static let expected: [String: [String: String]] = [
        "Prescott": [
            "char-lstm": "478f94adddb42dac3f4f17a567d9ef82e282af99968e42db20f652b8561beb1c",
            "char-gru-resumed": "19b251936c443806e304e596343728d743b7924785b48dcdda79ae223db3fd2b",
            "char-no-validation": "d87da1238db9b46ad15b79da6dc5547a93c63a8a16fd1754b772f5f255edc743",
            "prediction": "d8af0fed457595c96ba08ce3b4432947bdf7a76c9cc88a97c28c8dfc0c42510f",
            "synthesis-resumed": "41e55e81fd9cfaa745a3262f619a2a980c8dc3ea5f9a8c44fcf14c2e591e2c86",
        ],
        "SkylakeX": [
            "char-lstm": "77dbc76f991b3e7f1c86cb08cd6b08f255252703c59e8635703f30e9e85e11e1",
            "char-gru-resumed": "37d9cc73e84869a9a034d9b98def2ef3dadcfea7f88fba60ca6c65c3094aa348",
            "char-no-validation": "fa96acc9c6de9c7df99e51e665749748afa167323ecf0b5054364c734c37e4a9",
            "prediction": "20af4cec0c9a5c85926bddccaf080b5dcbf35459ecfbebad0ea2628226e5471c",
            "synthesis-resumed": "21c8c2e3303488a431a6680019aed00a966a70992aef5d152b820b8ddfe4f918",
        ],
    ]

    func testRunsKeepTheirBytes() throws {
        let first = try runAll()
        let second = try runAll()
        XCTAssertEqual(first, second, "the same options and seeds gave different bytes")
        let core = BLASInfo.coreName
        guard let recorded = Self.expected[core] else {
            print("TrainingRunHashTests: no digests recorded for OpenBLAS \(core) kernels; these runs gave \(first.sorted { $0.key < $1.key })")
            return
        }
        for (name, hash) in first.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(hash, recorded[name], "run \(name) on \(core) kernels: its checkpoints or metrics changed")
        }
    }

    func runAll() throws -> [String: String] {
        let dir = TempDir(); defer { dir.cleanup() }
        let text = dir.path("tiny.txt")
        try String(repeating: "the cat sat on the mat. a dog ran to the log.\n", count: 40)
            .write(toFile: text, atomically: true, encoding: .utf8)
        let strokes = dir.path("tiny.qds")
        try PreparedFormat.write(TinyHandwriting.dataset(), to: strokes)
        var got: [String: String] = [:]

        // Two layers of LSTM, value clipping, a decaying rate, a last validation off the cadence.
        var a = CharTrainOptions(dataPaths: [text], outDir: dir.path("char-lstm"),
                                 model: CharModelConfig(layers: 2, hidden: 16, vocabularySize: 1))
        a.batch = 4; a.seq = 8; a.steps = 7; a.evalEvery = 3; a.logEvery = 2; a.sampleLength = 5; a.seed = 3
        a.lrSchedule.factor = 0.9; a.lrSchedule.every = 2; a.clipValue = 1
        try TrainingRun(options: a, resume: false).run()
        got["char-lstm"] = try Self.digest(a.outDir, root: dir.url.path)

        // A GRU with an embedding and dropout, stopped at step 4 and resumed to step 9.
        var b = CharTrainOptions(dataPaths: [text], outDir: dir.path("char-gru-resumed"),
                                 model: CharModelConfig(cell: .gru, layers: 2, hidden: 12, embedding: 4, dropout: 0.1,
                                                        vocabularySize: 1))
        b.batch = 3; b.seq = 10; b.steps = 4; b.evalEvery = 3; b.logEvery = 1; b.sampleLength = 0; b.seed = 11
        try TrainingRun(options: b, resume: false).run()
        var b2 = try CharTrainOptions.saved(outDir: b.outDir)
        b2.steps = 9
        try TrainingRun(options: b2, resume: true).run()
        got["char-gru-resumed"] = try Self.digest(b.outDir, root: dir.url.path)

        // No validation split: every checkpoint is "best".
        var c = CharTrainOptions(dataPaths: [text], outDir: dir.path("char-no-validation"),
                                 model: CharModelConfig(cell: .rnn, layers: 1, hidden: 8, skipConnections: true,
                                                        vocabularySize: 1))
        c.batch = 2; c.seq = 6; c.steps = 5; c.evalEvery = 2; c.valFraction = 0; c.sampleLength = 3
        c.optimizer = OptimizerConfig(kind: .rmsprop, learningRate: 1e-3); c.lrSchedule = LearningRateSchedule(initial: 1e-3)
        try TrainingRun(options: c, resume: false).run()
        got["char-no-validation"] = try Self.digest(c.outDir, root: dir.url.path)

        // Prediction with a norm clip and a validation subset.
        var p = HandwritingTrainOptions(dataPath: strokes, outDir: dir.path("prediction"), model: HandwritingConfig(
            kind: .prediction, layers: 2, hidden: 6, mixture: MixtureDensity(components: 2)))
        p.batch = 2; p.steps = 5; p.evalEvery = 2; p.valSamples = 1; p.logEvery = 2; p.clipNorm = 1; p.seed = 5
        try TrainingRun(options: p, resume: false).run()
        got["prediction"] = try Self.digest(p.outDir, root: dir.url.path)

        // Synthesis with peepholes, stopped at step 4 and resumed to step 7.
        var s = HandwritingTrainOptions(dataPath: strokes, outDir: dir.path("synthesis-resumed"), model: HandwritingConfig(
            kind: .synthesis, layers: 2, hidden: 6, mixture: MixtureDensity(components: 2), windowComponents: 2,
            peepholes: true))
        s.batch = 2; s.steps = 4; s.evalEvery = 3; s.valSamples = 0; s.logEvery = 1; s.seed = 7
        s.optimizer = OptimizerConfig(kind: .gravesRMSProp, learningRate: 1e-4)
        s.lrSchedule = LearningRateSchedule(initial: 1e-4)
        try TrainingRun(options: s, resume: false).run()
        var s2 = try HandwritingTrainOptions.saved(outDir: s.outDir)
        s2.steps = 7
        try TrainingRun(options: s2, resume: true).run()
        got["synthesis-resumed"] = try Self.digest(s.outDir, root: dir.url.path)

        return got
    }

    /// SHA-256 of a run directory's files, with the path `root` (replaced by "DIR"), elapsed times and rates taken out.
    static func digest(_ outDir: String, root: String) throws -> String {
        var bytes = [UInt8]()
        func add(_ s: String) { bytes += Array(s.utf8); bytes.append(0) }
        for name in ["model.safetensors", "last.safetensors"] {
            let file = try SafeTensors.read((outDir as NSString).appendingPathComponent(name))
            add(name)
            // The losses since the last metrics line and the data checksum joined the checkpoints after these
            // digests were recorded (TrainingRunTests and BadCheckpointTests check them).
            for (key, value) in file.metadata.sorted(by: { $0.key < $1.key }) where key != RunFiles.logWindowKey && key != SafeTensors.checksumKey && key != RunFiles.histogramEveryKey {
                var v = value.replacingOccurrences(of: root.replacingOccurrences(of: "/", with: "\\/"), with: "DIR")
                    .replacingOccurrences(of: root, with: "DIR")
                v = v.replacingOccurrences(of: #""elapsed":[-+0-9.eE]+"#, with: #""elapsed":0"#,
                                           options: .regularExpression)
                // A handwriting run's data fingerprint gained a hash of the samples after these digests were
                // recorded (its counts stay in the digest; HandwritingResumeDataTests checks the hash).
                v = v.replacingOccurrences(of: #"([0-9]+:[0-9]+:[0-9]+):fnv1a64:[0-9a-f]+"#, with: "$1",
                                           options: .regularExpression)
                add(key); add(v)
            }
            for (key, entry) in file.tensors.sorted(by: { $0.key < $1.key }) {
                add(key); add(entry.shape.map { String($0) }.joined(separator: ","))
            }
            // The data section as written: every tensor's bytes, in the file's order.
            let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: (outDir as NSString).appendingPathComponent(name))))
            let headerLength = raw.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
            bytes += raw[(8 + headerLength)...]
        }
        let metrics = try String(contentsOfFile: (outDir as NSString).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        for line in metrics.split(separator: "\n") {
            var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            object["elapsed_s"] = nil; object["rate"] = nil
            add(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        }
        return SHA256.hex(bytes)
    }
}

/// SHA-256 (FIPS 180-4), enough for test fingerprints.
enum SHA256 {
    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func hex(_ message: [UInt8]) -> String {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var m = message
        let bitLength = UInt64(message.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        var w = [UInt32](repeating: 0, count: 64)
        for chunk in stride(from: 0, to: m.count, by: 64) {
            for i in 0..<16 {
                w[i] = UInt32(m[chunk + 4 * i]) << 24 | UInt32(m[chunk + 4 * i + 1]) << 16
                    | UInt32(m[chunk + 4 * i + 2]) << 8 | UInt32(m[chunk + 4 * i + 3])
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, x) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ x }
        }
        return h.map { String(format: "%08x", $0) }.joined()
    }

}

final class SHA256Tests: XCTestCase {
    func testKnownDigests() {
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
