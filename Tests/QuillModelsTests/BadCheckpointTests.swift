import Foundation
import QuillData
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// Checkpoints, trainer state, vocabularies and style files with untrusted sizes: every one is refused with a
/// one-line error naming the file, before anything is allocated from it.
final class BadCheckpointTests: XCTestCase {
    /// A safetensors file from a raw header and data bytes.
    func rawFile(_ dir: TempDir, _ name: String, header: String, data: Data = Data(), length: UInt64? = nil) -> String {
        var out = Data()
        var n = (length ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(Data(header.utf8))
        out.append(data)
        let p = dir.path(name)
        FileManager.default.createFile(atPath: p, contents: out)
        return p
    }

    func assertCorrupt(_ path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors.read(path), file: file, line: line) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains(path) && m.contains("corrupt or truncated"), m, file: file, line: line)
            XCTAssertTrue(m.contains(expected), "\(m) should contain \(expected)", file: file, line: line)
            XCTAssertFalse(m.contains("\n"), file: file, line: line)
        }
    }

    /// A checkpoint records its data's checksum: a flipped weight byte is a corrupt file, not another model; files
    /// without the key (written before, or by other tools) load unchecked.
    func testAFlippedDataByteIsCorrupt() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("w.safetensors")
        try SafeTensors.write([("w", SafeTensors.Entry(shape: [4], values: [1, 2, 3, 4]))], metadata: [:], to: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(try SafeTensors.read(path).tensors["w"]?.values, [1, 2, 3, 4])
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensors.read(path)) { e in
            XCTAssertTrue("\(e)".contains("does not match the checksum"), "\(e)")
        }
        // The same flip in a file without the key (as written before 2026-12-05) loads: nothing to check it by.
        let headerLength = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var header = try XCTUnwrap(JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        header["__metadata__"] = nil
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var old = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { old.append(contentsOf: $0) }
        old.append(json)
        old.append(bytes.subdata(in: (8 + headerLength)..<bytes.count))
        try old.write(to: URL(fileURLWithPath: path))
        XCTAssertNotEqual(try SafeTensors.read(path).tensors["w"]?.values, [1, 2, 3, 4])
    }

    /// A metadata string with U+FEFF inside (a char model's vocabulary written before it was escaped) reads back
    /// whole: Foundation's parser alone drops it.
    func testByteOrderMarkInMetadataReadsBack() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("bom.safetensors")
        try SafeTensors.write([("e", SafeTensors.Entry(shape: [1], values: [1]))],
                              metadata: ["quill.vocabulary": "[\"a\",\"\u{FEFF}\"]"], to: path)
        XCTAssertEqual(try SafeTensors.read(path).metadata["quill.vocabulary"], "[\"a\",\"\u{FEFF}\"]")
    }

    func testSafeTensorsHeaderArithmeticIsChecked() {
        let dir = TempDir(); defer { dir.cleanup() }
        let eight = Data(repeating: 0, count: 8)
        func t(_ entries: String) -> String { "{\(entries)}" }
        let cases: [(String, String, Data)] = [
            // The issue's example: the element count × 4 wraps.
            (#""a":{"dtype":"F32","shape":[4611686018427387905],"data_offsets":[0,4]}"#, "larger than the file", eight),
            (#""a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}"#, "larger than the file", eight),
            (#""a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}"#, "not a whole number", eight),
            (#""a":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}"#, "not a whole number", eight),
            (#""a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}"#, "not a whole number", eight),
            (#""a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}"#, "negative dimension", eight),
            (#""a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}"#, "rank 9", eight),
            (#""a":{"dtype":"F32","shape":[1],"data_offsets":[0.5,4.5]}"#, "not whole numbers", eight),
            (#""a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}"#, "do not hold", eight),
            (#""a":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775807,4]}"#, "not whole numbers", eight),
            (#""a":{"dtype":"F32","shape":[1],"data_offsets":[9000000000000000000,4]}"#, "do not hold", eight),
            (#""a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}"#, "outside the file's 8 data bytes", eight),
            (#""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}"#,
             "overlap", eight),
            (#""a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}"#, "dtype I64", eight),
            // Bytes no tensor holds: a hole, or something after the last tensor.
            (#""a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}"#, "data bytes 0…3 belong to no tensor", eight),
            (#""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#, "4 bytes after the last tensor", eight),
            ("", "8 bytes after the last tensor", eight),
            (#""a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}"#, "malformed", eight),
        ]
        for (i, (entries, expected, data)) in cases.enumerated() {
            assertCorrupt(rawFile(dir, "c\(i).safetensors", header: t(entries), data: data), expected)
        }
        // Header lengths that do not fit the file.
        assertCorrupt(rawFile(dir, "long.safetensors", header: "{}", length: 1 << 63), "does not fit")
        assertCorrupt(rawFile(dir, "long2.safetensors", header: "{}", length: 3), "does not fit")
        // Another kind of file (a text, metrics, an n-gram model) is named as such, not as a damaged checkpoint.
        let text = dir.path("text.txt")
        FileManager.default.createFile(atPath: text, contents: Data(#"{"elapsed_s":1.5,"kind":"train"}"#.utf8))
        XCTAssertThrowsError(try SafeTensors.read(text)) { e in
            XCTAssertTrue("\(e)".hasPrefix("\(text): not a Quill checkpoint"), "\(e)")
        }
        // Empty tensors are fine, anywhere; so is a well-formed file.
        let ok = rawFile(dir, "ok.safetensors", header: t(#""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]}"#),
                         data: Data([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]))
        XCTAssertEqual(try SafeTensors.read(ok).tensors["a"]?.values, [1, 2])
        XCTAssertEqual(try SafeTensors.read(ok).tensors["e"]?.shape, [0, 3])
    }

    func testEmptyTensorRoundTrip() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try SafeTensors.write([("e", SafeTensors.Entry(shape: [0], values: [])),
                               ("x", SafeTensors.Entry(shape: [1], values: [3]))], metadata: [:], to: dir.path("e.safetensors"))
        let f = try SafeTensors.read(dir.path("e.safetensors"))
        XCTAssertEqual(f.tensors["e"]?.values, [])
        XCTAssertEqual(f.tensors["x"]?.values, [3])
    }

    /// Rewrites a checkpoint with changed metadata (and optionally changed tensors).
    func rewrite(_ path: String, to out: String, _ change: (inout [String: String], inout [String: SafeTensors.Entry]) -> Void) throws {
        let f = try SafeTensors.read(path)
        var meta = f.metadata, tensors = f.tensors
        change(&meta, &tensors)
        try SafeTensors.write(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: meta, to: out)
    }

    /// A config that claims a 34 GB model is compared with the tensors before anything is built.
    func testConfigIsComparedWithTensorsBeforeBuilding() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 1)
        let model = CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 4, vocabularySize: 3), rng: &rng)
        let path = dir.path("m.safetensors")
        try CharCheckpoint.save(model, alphabet: Alphabet(text: "abc"), to: path)
        let big = dir.path("big.safetensors")
        try rewrite(path, to: big) { meta, _ in
            meta["quill.config"] = #"{"cell":"lstm","dropout":0,"embedding":0,"hidden":8192,"layers":16,"peepholes":false,"skipConnections":false,"vocabularySize":3}"#
        }
        XCTAssertThrowsError(try CharCheckpoint.load(big)) { e in
            XCTAssertTrue("\(e)".contains("quill.config implies"), "\(e)")
        }
        // A Phased LSTM relabelled as an LSTM: its LSTM tensors fit, but its time gates would be dropped unread.
        let phased = CharModel<Float>(config: CharModelConfig(cell: .phasedLSTM, layers: 1, hidden: 4, vocabularySize: 3),
                                      rng: &rng)
        try CharCheckpoint.save(phased, alphabet: Alphabet(text: "abc"), to: dir.path("phased.safetensors"))
        try rewrite(dir.path("phased.safetensors"), to: dir.path("relabelled.safetensors")) { meta, _ in
            meta["quill.config"] = meta["quill.config"]!.replacingOccurrences(of: #""cell":"phased-lstm""#, with: #""cell":"lstm""#)
        }
        XCTAssertNoThrow(try CharCheckpoint.load(dir.path("phased.safetensors")))
        XCTAssertThrowsError(try CharCheckpoint.load(dir.path("relabelled.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("tensor 'rnn.0.period' is not part of the network quill.config describes"), "\(e)")
        }
        // A checkpoint whose tensors match a config too large for the limits is refused with the estimate.
        let tiny = MemoryBudget(limits: [.init(bytes: 1000, name: "test limit")])
        XCTAssertThrowsError(try CharCheckpoint.load(path, budget: tiny)) { e in
            XCTAssertTrue(e is MemoryBudgetError, "\(e)")
            XCTAssertTrue("\(e)".contains("MiB"), "\(e)")
        }

        // The same for a handwriting checkpoint.
        let hw = HandwritingModel<Float>(config: HandwritingConfig(kind: .prediction, layers: 1, hidden: 4,
                                                                   mixture: .init(components: 2)), rng: &rng)
        let hp = dir.path("h.safetensors")
        try HandwritingCheckpoint.save(hw, alphabet: try Alphabet(storedSymbols: []), stats: OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1), to: hp)
        try rewrite(hp, to: dir.path("hbig.safetensors")) { meta, _ in
            meta["quill.config"] = meta["quill.config"]!.replacingOccurrences(of: #""hidden":4"#, with: #""hidden":8192"#)
                .replacingOccurrences(of: #""layers":1"#, with: #""layers":16"#)
        }
        XCTAssertThrowsError(try HandwritingCheckpoint.load(dir.path("hbig.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("quill.config implies"), "\(e)")
        }
        try rewrite(hp, to: dir.path("hstats.safetensors")) { meta, _ in
            meta["quill.stats"] = #"{"meanDx":0,"meanDy":0,"stdDx":0,"stdDy":1}"#
        }
        XCTAssertThrowsError(try HandwritingCheckpoint.load(dir.path("hstats.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("not positive"), "\(e)")
        }
    }

    func testVocabularyJSON() {
        XCTAssertThrowsError(try Alphabet(json: #"["a","b","a"]"#, unknownSymbol: false, textPolicy: .strict),
                             "duplicates are refused")
        XCTAssertThrowsError(try Alphabet(json: #"["ab"]"#, unknownSymbol: false, textPolicy: .strict))
        // Two symbols equal as Strings (canonically equivalent) but not as scalars are two symbols.
        XCTAssertEqual(try Alphabet(json: #"["\u00c5","\u212b"]"#, unknownSymbol: false, textPolicy: .strict).count, 2)
        let v = Alphabet(characters: ["\"", "\\", "\n", "\u{2028}", "é", "/", "\u{7f}"])
        XCTAssertEqual(try Alphabet(json: v.symbolsJSON, unknownSymbol: false, textPolicy: .strict), v)
    }

    // MARK: - Trainer state

    func makeRun(_ dir: TempDir) throws -> CharTrainOptions {
        let data = dir.path("tiny.txt")
        try String(repeating: "the cat sat on the mat. a dog ran to the log.\n", count: 40)
            .write(toFile: data, atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [data], outDir: dir.path("run"),
                                 model: CharModelConfig(cell: .lstm, layers: 1, hidden: 8, vocabularySize: 1))
        o.batch = 4; o.seq = 8; o.steps = 3; o.evalEvery = 3; o.sampleLength = 0
        try TrainingRun(options: o, resume: false).run()
        return try CharTrainOptions.saved(outDir: o.outDir)
    }

    func testOutOfRangeTrainerStateIsRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var o = try makeRun(dir)
        o.steps = 6
        let last = dir.path("run/last.safetensors")
        let good = try Data(contentsOf: URL(fileURLWithPath: last))
        let state = try SafeTensors.read(last).metadata["quill.trainer"]!
        func withField(_ key: String, _ value: String) -> String {
            var obj = try! JSONSerialization.jsonObject(with: Data(state.utf8)) as! [String: Any]
            obj[key] = try! JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
            return String(decoding: try! JSONSerialization.data(withJSONObject: obj), as: UTF8.self)
        }
        let cases: [(String, String, String)] = [
            ("step", "-1", "step -1"),
            ("step", "9223372036854775807", "out of range"),
            ("position", "-8", "position -8"),
            ("position", "1000000", "past the end"),
            ("epoch", "-1", "epoch -1"),
            ("rng", #"["1","2","3"]"#, "four non-zero hex words"),
            ("rng", #"["zz","2","3","4"]"#, "four non-zero hex words"),
            ("rng", #"["0","0","0","0"]"#, "four non-zero hex words"),
            ("bestStep", "99", "best step 99"),
            ("elapsed", "-5", "elapsed time"),
            ("step", "1.5", "unreadable"),
        ]
        for (key, value, expected) in cases {
            try rewrite(dir.path("run/last.safetensors"), to: last) { meta, _ in meta["quill.trainer"] = withField(key, value) }
            XCTAssertThrowsError(try TrainingRun(options: o, resume: true).run(), "\(key)=\(value)") { e in
                XCTAssertTrue("\(e)".contains(expected) && "\(e)".contains("trainer state"), "\(key)=\(value): \(e)")
            }
            try good.write(to: URL(fileURLWithPath: last))
        }
        // The losses since the last metrics line (`RunFiles.logWindowKey`).
        let windows: [(String, String)] = [
            (#"{"loss": 1, "steps": -1, "units": 1, "sequences": 1}"#, "out of range"),
            (#"{"loss": 1, "steps": 99, "units": 1, "sequences": 1}"#, "out of range"),
            (#"{"loss": 1, "steps": 1, "units": -3, "sequences": 1}"#, "out of range"),
            (#"{"loss": 1e999, "steps": 1, "units": 1, "sequences": 1}"#, "is not a loss"),
            (#"{"loss": 1, "steps": 1}"#, "is not a loss"),
        ]
        for (value, expected) in windows {
            try rewrite(last, to: last) { meta, _ in meta[RunFiles.logWindowKey] = value }
            XCTAssertThrowsError(try TrainingRun(options: o, resume: true).run(), value) { e in
                XCTAssertTrue("\(e)".contains(expected) && "\(e)".contains(RunFiles.logWindowKey), "\(value): \(e)")
            }
            try good.write(to: URL(fileURLWithPath: last))
        }
        // Optimiser state: a negative mean square, or a wrong shape.
        try rewrite(last, to: last) { _, tensors in
            let key = tensors.keys.first { $0.hasPrefix("adam.v.") }!
            tensors[key]!.values[0] = -1
        }
        XCTAssertThrowsError(try TrainingRun(options: o, resume: true).run()) { e in
            XCTAssertTrue("\(e)".contains("negative mean square"), "\(e)")
        }
        try good.write(to: URL(fileURLWithPath: last))
        try rewrite(last, to: last) { _, tensors in tensors["state.rnn.0.h"]!.values[0] = .nan }
        XCTAssertThrowsError(try TrainingRun(options: o, resume: true).run()) { e in
            XCTAssertTrue("\(e)".contains("NaN or Inf"), "\(e)")
        }
        try good.write(to: URL(fileURLWithPath: last))
        XCTAssertNoThrow(try TrainingRun(options: o, resume: true).run())
    }

    // MARK: - Styles

    func testStyleFilesAreChecked() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let styles = HandwritingStyle.directory(model: dir.url.path)
        try FileManager.default.createDirectory(at: styles, withIntermediateDirectories: true)
        func style(_ rows: String) throws {
            try #"{"name":"s","text":"a","source":"test","rows":\#(rows)}"#
                .write(to: styles.appendingPathComponent("s.json"), atomically: true, encoding: .utf8)
        }
        let cases: [(String, String)] = [
            ("[]", "0 rows"),
            ("[[0,0,1],[1e30,0,0]]", "offset"),
            ("[[0,0,1],[1,2]]", "row 1 has 2 values"),
            ("[[0,0,1],[1,2,0.5]]", "eos 0.5"),
            (#"[[0,0,1],[1,"x",0]]"#, "not a style file"),
        ]
        for (rows, expected) in cases {
            try style(rows)
            XCTAssertThrowsError(try HandwritingStyle.load(name: "s", model: dir.url.path), rows) { e in
                XCTAssertTrue("\(e)".contains(expected), "\(rows): \(e)")
            }
        }
        try style("[[0,0,1],[1,2,0]]")
        XCTAssertEqual(try HandwritingStyle.load(name: "s", model: dir.url.path).prime.rows.count, 2)
        XCTAssertThrowsError(try HandwritingStyle.load(name: "../s", model: dir.url.path)) { e in
            XCTAssertTrue("\(e)".contains("not valid"), "\(e)")
        }
    }
}
