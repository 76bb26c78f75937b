import Foundation
import XCTest
@testable import QuillCLI

/// The bad-input suite: hundreds of generated bad inputs (truncations, byte flips, huge, negative and non-finite numbers,
/// deep nesting, wrong kinds of file, wrong encodings, unwritable and identical output paths) run through the real
/// `quill` binary, each checked for what a user must get:
/// - a non-zero exit, not a crash (signal) or a hang (over 60 s);
/// - a first line on standard error, `quill: error: …` (for a usage error also ArgumentParser's, with the help to read
///   in parentheses and no usage lines), that names the file or option, with no Foundation error domain, Swift type
///   name or raw control character;
/// - no output written or half-written, no temporary file left, and the inputs unchanged.
final class BadInputSuiteTests: XCTestCase {
    /// One bad invocation.
    struct Case {
        var name: String
        var args: [String]
        /// The first error line must contain one of these (the file's or option's name).
        var names: [String]
        /// Paths that must be absent afterwards, or unchanged when they existed before.
        var outputs: [String] = []
        var stdin: Data?
    }

    struct Outcome {
        var problem: String?
    }

    static let quill: URL = {
        // The test bundle runs from the build products directory, beside the `quill` executable.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("quill")
    }()

    var root = ""
    var fixtures = Fixtures()

    struct Fixtures {
        var jsonl = "", qds = "", inkml = "", quickdraw = "", xmlDir = "", text = ""
        var synthesis = "", prediction = "", char = "", charRun = "", ngram = ""
    }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: BadInputSuiteTests.quill.path) else {
            throw XCTSkip("\(BadInputSuiteTests.quill.path) not built; run `swift build --build-tests` first")
        }
        root = NSTemporaryDirectory() + "quill-bad-input-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try makeFixtures()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    // MARK: - Fixtures (valid files the cases then break)

    func path(_ name: String) -> String { root + "/" + name }

    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let full = path(name)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: full))
        return full
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Data(text.utf8)) }

    /// Runs quill for set-up; it must succeed.
    func runOK(_ args: [String]) throws {
        let (status, err, _) = run(args, stdin: nil)
        guard status == 0 else { throw NSError(domain: "setup", code: 1, userInfo: [NSLocalizedDescriptionKey: "quill \(args.joined(separator: " ")) failed: \(err)"]) }
    }

    static func jsonlRecord(_ id: String, _ text: String, shift: Int) -> String {
        var points = [String]()
        for k in 0..<24 {
            let dx = (k * 7 + shift) % 11 - 3, dy = (k * 5 + shift) % 9 - 4
            points.append("[\(dx),\(dy),\(k % 6 == 5 ? 1 : 0)]")
        }
        points[points.count - 1] = "[2,1,1]"
        return #"{"id":"\#(id)","form":"a01-000u","line":1,"writer":"w1","split_graves":"\#(shift % 3 == 0 ? "valid" : "train")","text":"\#(text)","origin":[100,200],"points":[\#(points.joined(separator: ","))]}"#
    }

    func makeFixtures() throws {
        let texts = ["hi there", "the hive", "her tie", "it is here", "this hat", "heir shirt"]
        let lines = texts.enumerated().map { BadInputSuiteTests.jsonlRecord("l\($0.offset)", $0.element, shift: $0.offset) }
        fixtures.jsonl = try write("data/base.jsonl", lines.joined(separator: "\n") + "\n")
        fixtures.qds = path("data/base.qds")
        try runOK(["data", "import", "iam-jsonl", fixtures.jsonl, "--out", fixtures.qds, "--min-count", "1"])
        fixtures.inkml = try write("data/base.inkml", """
            <ink xmlns="http://www.w3.org/2003/InkML">
              <traceFormat><channel name="X" type="decimal"/><channel name="Y" type="decimal"/></traceFormat>
              <annotation type="truth">hi</annotation>
              <trace>10 0, 9 14, 8 28, 7 42, 9 30</trace>
              <trace>22 0, 23 14, 24 28, 26 20</trace>
            </ink>

            """)
        fixtures.quickdraw = try write("data/base.ndjson", """
            {"word":"cat","key_id":"1","drawing":[[[130,113,90],[72,40,60]],[[76,28,7],[136,128,128]]]}
            {"word":"cat","key_id":"2","drawing":[[[10,20,30,40],[5,6,7,8]]]}

            """)
        fixtures.xmlDir = path("data/iam")
        try write("data/iam/ascii/a01/a01-000/a01-000u.txt", "OCR:\n\nCSR:\n\nhi there\nthe hive\n")
        for n in 1...2 {
            var xml = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<WhiteboardCaptureSession>\n  <StrokeSet>\n"
            for s in 0..<3 {
                xml += "    <Stroke colour=\"black\" start_time=\"1\" end_time=\"2\">\n"
                for k in 0..<6 { xml += "      <Point x=\"\(1000 + 40 * s + 5 * k + n)\" y=\"\(2000 + (k * 13) % 30)\" time=\"\(100 + s)\"/>\n" }
                xml += "    </Stroke>\n"
            }
            try write("data/iam/lineStrokes/a01/a01-000/a01-000u-0\(n).xml", xml + "  </StrokeSet>\n</WhiteboardCaptureSession>\n")
        }
        var text = ""
        for k in 0..<120 { text += "to be or not to be, that is the question \(k % 7).\n" }
        fixtures.text = try write("data/text.txt", text)

        fixtures.synthesis = path("models/synthesis")
        try runOK(["train", "synthesis", "--data", fixtures.qds, "--out", fixtures.synthesis, "--layers", "1",
                   "--hidden", "4", "--mixtures", "2", "--window", "2", "--batch", "2", "--steps", "1"])
        fixtures.prediction = path("models/prediction")
        try runOK(["train", "prediction", "--data", fixtures.qds, "--out", fixtures.prediction, "--layers", "1",
                   "--hidden", "4", "--mixtures", "2", "--batch", "2", "--steps", "1"])
        fixtures.char = path("models/char")
        try runOK(["char", "train", "--data", fixtures.text, "--out", fixtures.char, "--hidden", "4", "--layers", "1",
                   "--batch", "2", "--seq", "8", "--steps", "2", "--eval-every", "1"])
        fixtures.charRun = fixtures.char
        fixtures.ngram = path("models/ngram")
        try runOK(["ngram", "train", "--data", fixtures.text, "--order", "3", "--out", fixtures.ngram])
    }

    // MARK: - Running

    func run(_ args: [String], stdin: Data?) -> (status: Int32?, stderr: String, seconds: Double) {
        let process = Process()
        process.executableURL = BadInputSuiteTests.quill
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        env["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = env
        let errPath = root + "/.stderr-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        guard let errHandle = FileHandle(forWritingAtPath: errPath) else { return (nil, "cannot capture stderr", 0) }
        process.standardError = errHandle
        process.standardOutput = FileHandle.nullDevice
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        let start = Date()
        do { try process.run() } catch { return (nil, "cannot start quill: \(error)", 0) }
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try? input.fileHandleForWriting.close()
        }
        if done.wait(timeout: .now() + 60) == .timedOut {
            process.terminate()
            _ = done.wait(timeout: .now() + 5)
            return (nil, "hang: no exit within 60 s", 60)
        }
        try? errHandle.close()
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "<stderr is not UTF-8>"
        if process.terminationReason == .uncaughtSignal {
            return (nil, "crash: signal \(process.terminationStatus); stderr: \(err.prefix(400))", 0)
        }
        return (process.terminationStatus, err, Date().timeIntervalSince(start))
    }

    static let unclear: [String] = ["Error Domain=", "NSCocoaErrorDomain", "NSPOSIXErrorDomain", "NSXMLParserErrorDomain",
                                    "DecodingError", "Swift.", "Foundation.", "Fatal error", "(null)"]

    /// Runs one case and says what was wrong with the outcome, if anything.
    func check(_ c: Case) -> String? {
        var before = [String: Data?]()
        for p in c.outputs { before[p] = FileManager.default.contents(atPath: p) }
        let (status, err, _) = run(c.args, stdin: c.stdin)
        guard let status else { return err }
        let lines = err.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard status != 0 else { return "exit 0 (accepted); stderr: \(err.prefix(300))" }
        guard ExitStatus(rawValue: status) != nil else { return "exit \(status), not a documented status; stderr: \(err.prefix(300))" }
        guard let first = lines.first else { return "exit \(status) with nothing on stderr" }
        if !first.hasPrefix("quill: error: ") { return "first line is not an error line: \(first.prefix(300))" }
        if err.contains("Usage:") { return "usage lines printed after the error: \(err.prefix(300))" }
        if !c.names.contains(where: { first.contains($0) }) {
            return "first line names none of \(c.names): \(first.prefix(300))"
        }
        for bad in BadInputSuiteTests.unclear where first.contains(bad) { return "unclear (\(bad)): \(first.prefix(300))" }
        if first.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }) {
            return "raw control character: \(first.debugDescription.prefix(300))"
        }
        if first.range(of: #"\b[A-Z][A-Za-z]+Error\.[a-z]"#, options: .regularExpression) != nil {
            return "Swift type name: \(first.prefix(300))"
        }
        for p in c.outputs {
            let now = FileManager.default.contents(atPath: p)
            if let old = before[p] ?? nil {
                if now != old { return "\(p) changed" }
            } else if now != nil {
                return "\(p) was written"
            }
            let dir = (p as NSString).deletingLastPathComponent
            let temps = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
                .filter { $0.contains(".quill-tmp-") || ($0.hasPrefix(".") && $0.contains(".tmp")) }
            if !temps.isEmpty { return "temporary files left in \(dir): \(temps)" }
        }
        return nil
    }

    // MARK: - The suite

    func testBadInputsFailCleanly() throws {
        var cases = [Case]()
        cases += try importCases()
        cases += try preparedCases()
        cases += try checkpointCases()
        cases += try styleCases()
        cases += try textCases()
        cases += try metricsCases()
        cases += outputCases()
        cases += optionCases()
        XCTAssertGreaterThanOrEqual(cases.count, 500)

        var problems = [String?](repeating: nil, count: cases.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: cases.count) { i in
            let p = check(cases[i])
            lock.lock(); problems[i] = p; lock.unlock()
        }
        var failed = 0
        for (c, p) in zip(cases, problems) {
            guard let p else { continue }
            failed += 1
            XCTFail("\(c.name): quill \(c.args.map { $0.count > 60 ? String($0.prefix(60)) + "…" : $0 }.joined(separator: " ")): \(p)")
        }
        print("bad-input suite: \(cases.count) cases, \(failed) failed")
    }

    // MARK: - Generators

    /// A small deterministic generator (the suite must not depend on the global random state).
    struct LCG {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(max(1, n)))
        }
    }

    /// `count` cut points strictly inside `data` that do not end on a line break.
    func cuts(_ data: Data, _ count: Int, seed: UInt64) -> [Int] {
        var rng = LCG(state: seed)
        var out = Set<Int>()
        var guardCount = 0
        while out.count < count, guardCount < 10_000 {
            guardCount += 1
            let k = 1 + rng.next(data.count - 2)
            if data[data.startIndex + k - 1] == 0x0A || data[data.startIndex + k - 1] == 0x0D { continue }
            out.insert(k)
        }
        return out.sorted()
    }

    /// Copies of `data` with one byte set to `byte` at `count` seeded positions: 0xFF is never valid UTF-8, and `<`
    /// breaks XML wherever it lands (a document in ISO-8859-1 may hold any byte).
    func flips(_ data: Data, _ count: Int, seed: UInt64, within range: Range<Int>? = nil, byte: UInt8 = 0xFF) -> [Data] {
        var rng = LCG(state: seed)
        let r = range ?? 0..<data.count
        return (0..<count).map { _ in
            var d = data
            d[d.startIndex + r.lowerBound + rng.next(r.count)] = byte
            return d
        }
    }

    func importCases() throws -> [Case] {
        var cases = [Case]()
        let formats: [(String, String, String)] = [("iam-jsonl", fixtures.jsonl, "jsonl"),
                                                   ("inkml", fixtures.inkml, "inkml"),
                                                   ("quickdraw", fixtures.quickdraw, "ndjson")]
        for (format, base, ext) in formats {
            let data = try Data(contentsOf: URL(fileURLWithPath: base))
            var variants = [(String, Data)]()
            for (i, k) in cuts(data, 8, seed: 11).enumerated() { variants.append(("cut\(i)", data.prefix(k))) }
            for (i, d) in flips(data, 8, seed: 12).enumerated() { variants.append(("ff\(i)", d)) }
            variants.append(("empty", Data()))
            if format != "inkml" {  // XML in UTF-16 with a byte-order mark is well formed
                variants.append(("utf16", "\u{FEFF}".data(using: .utf16LittleEndian)! + String(decoding: data, as: UTF8.self).data(using: .utf16LittleEndian)!))
            }
            variants.append(("png", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])))
            variants.append(("nul", Data(repeating: 0, count: 64)))
            let text = String(decoding: data, as: UTF8.self)
            switch format {
            case "iam-jsonl":
                for (n, s) in [("nan", "[NaN,1,0]"), ("inf", "[1e999,1,0]"), ("huge", "[1e300,1,0]"), ("neginf", "[-1e400,1,0]"),
                               ("eos2", "[1,1,2]"), ("eosneg", "[1,1,-1]"), ("lead0", "[01,1,0]"), ("dot", "[1.,1,0]"),
                               ("short", "[1,1]"), ("str", "[\"1\",1,0]")] {
                    variants.append((n, Data(text.replacingOccurrences(of: "[2,1,1]", with: s).utf8)))
                }
                variants.append(("esc", Data(text.replacingOccurrences(of: "hi there", with: "hi\\xthere").utf8)))
                variants.append(("deep", Data(("{\"points\":" + String(repeating: "[", count: 100_000)).utf8)))
                variants.append(("nopoints", Data(#"{"id":"x","text":"hi"}"#.utf8)))
                variants.append(("emptypoints", Data(#"{"id":"x","text":"hi","origin":[0,0],"points":[]}"#.utf8)))
            case "inkml":
                variants.append(("deep", Data(("<ink>" + String(repeating: "<a>", count: 40_000) + String(repeating: "</a>", count: 40_000) + "</ink>").utf8)))
                variants.append(("inf", Data(text.replacingOccurrences(of: "9 14", with: "inf 14").utf8)))
                variants.append(("huge", Data(text.replacingOccurrences(of: "9 14", with: "1e300 14").utf8)))
                variants.append(("word", Data(text.replacingOccurrences(of: "9 14", with: "nine 14").utf8)))
                variants.append(("notink", Data("<svg><trace>1 2</trace></svg>".utf8)))
                variants.append(("notraces", Data("<ink></ink>".utf8)))
                variants.append(("latin1", Data(text.replacingOccurrences(of: ">hi<", with: ">h\u{E9}<").data(using: .isoLatin1)!)))
            default:
                for (n, s) in [("nan", "[130,NaN,90]"), ("inf", "[130,1e999,90]"), ("huge", "[130,1e300,90]"), ("mismatch", "[130,113]")] {
                    variants.append((n, Data(text.replacingOccurrences(of: "[130,113,90]", with: s).utf8)))
                }
                variants.append(("deep", Data(("{\"drawing\":" + String(repeating: "[", count: 100_000)).utf8)))
                variants.append(("nodrawing", Data(#"{"word":"cat","key_id":"9"}"#.utf8)))
            }
            for (n, d) in variants {
                let file = try write("bad/import/\(format)-\(n).\(ext)", d)
                let out = path("out/import-\(format)-\(n).qds")
                cases.append(Case(name: "import \(format) \(n)", args: ["data", "import", format, file, "--out", out],
                                  names: [(file as NSString).lastPathComponent], outputs: [out]))
                if format == "inkml" {
                    let png = path("out/prime-\(n).png")
                    cases.append(Case(name: "write --prime-inkml \(n)",
                                      args: ["write", "hi", "--model", fixtures.synthesis, "--prime-inkml", file,
                                             "--prime-text", "hi", "-o", png],
                                      names: [(file as NSString).lastPathComponent], outputs: [png]))
                }
            }
        }
        // QuickDraw raw and simplified drawings in one import mix two coordinate scales.
        let raw = try write("bad/import/raw.ndjson", #"{"word":"cat","key_id":"5","drawing":[[[414.5,410.25],[437.5,433.0],[0,120]],[[1,2,3],[4,5,6],[130,150,170]]]}"# + "\n")
        let mixOut = path("out/mix.qds")
        cases.append(Case(name: "quickdraw raw + simplified", args: ["data", "import", "quickdraw", raw, fixtures.quickdraw, "--out", mixOut],
                          names: ["raw.ndjson", "base.ndjson", "simplified", "raw"], outputs: [mixOut]))
        // IAM XML: variants of one line file in a copy of the dataset tree.
        let xmlBase = fixtures.xmlDir + "/lineStrokes/a01/a01-000/a01-000u-01.xml"
        let xml = try Data(contentsOf: URL(fileURLWithPath: xmlBase))
        let xmlText = String(decoding: xml, as: UTF8.self)
        var xmlVariants = [(String, Data)]()
        for (i, k) in cuts(xml, 8, seed: 21).enumerated() { xmlVariants.append(("cut\(i)", xml.prefix(k))) }
        for (i, d) in flips(xml, 6, seed: 22, within: 60..<xml.count, byte: UInt8(ascii: "<")).enumerated() { xmlVariants.append(("ff\(i)", d)) }
        xmlVariants.append(("deep", Data(("<WhiteboardCaptureSession>" + String(repeating: "<a>", count: 40_000) + String(repeating: "</a>", count: 40_000) + "</WhiteboardCaptureSession>").utf8)))
        xmlVariants.append(("nan", Data(xmlText.replacingOccurrences(of: "x=\"1001\"", with: "x=\"NaN\"").utf8)))
        xmlVariants.append(("huge", Data(xmlText.replacingOccurrences(of: "x=\"1001\"", with: "x=\"1e300\"").utf8)))
        xmlVariants.append(("word", Data(xmlText.replacingOccurrences(of: "x=\"1001\"", with: "x=\"abc\"").utf8)))
        xmlVariants.append(("noy", Data(xmlText.replacingOccurrences(of: "x=\"1001\" y=\"2000\"", with: "x=\"1001\"").utf8)))
        xmlVariants.append(("empty", Data()))
        for (n, d) in xmlVariants {
            let dir = "bad/iam-\(n)"
            try write("\(dir)/ascii/a01/a01-000/a01-000u.txt", "OCR:\n\nCSR:\n\nhi there\n")
            let file = try write("\(dir)/lineStrokes/a01/a01-000/a01-000u-01.xml", d)
            let out = path("out/iam-\(n).qds")
            cases.append(Case(name: "import iam-xml \(n)", args: ["data", "import", "iam-xml", path(dir), "--out", out],
                              names: ["a01-000u-01.xml"], outputs: [out]))
            _ = file
        }
        let noAscii = try write("bad/iam-noascii/lineStrokes/a01/a01-000/a01-000u-01.xml", xml)
        cases.append(Case(name: "import iam-xml without transcription", args: ["data", "import", "iam-xml", noAscii, "--out", path("out/noascii.qds")],
                          names: ["a01-000u-01.xml", "a01-000u.txt"], outputs: [path("out/noascii.qds")]))
        // Not a file: a directory, /dev/null, a missing path, for every format.
        for format in ["iam-jsonl", "inkml", "quickdraw", "iam-xml"] {
            for (n, p) in [("missing", path("bad/missing.\(format)")), ("devnull", "/dev/null"), ("emptydir", path("bad/emptydir-\(format)"))] {
                if n == "emptydir" { try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true) }
                let out = path("out/kind-\(format)-\(n).qds")
                cases.append(Case(name: "import \(format) \(n)", args: ["data", "import", format, p, "--out", out],
                                  names: [(p as NSString).lastPathComponent], outputs: [out]))
            }
        }
        return cases
    }

    func preparedCases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixtures.qds))
        var variants = [(String, Data)]()
        for (i, k) in cuts(data, 6, seed: 31).enumerated() { variants.append(("cut\(i)", data.prefix(k))) }
        for (i, d) in flips(data, 6, seed: 32).enumerated() { variants.append(("ff\(i)", d)) }
        variants.append(("jsonl", try Data(contentsOf: URL(fileURLWithPath: fixtures.jsonl))))
        variants.append(("checkpoint", try Data(contentsOf: URL(fileURLWithPath: fixtures.synthesis + "/model.safetensors"))))
        variants.append(("empty", Data()))
        var huge = data
        // The sample count (bytes 16…23 after magic and version fields) set to 2^62.
        if huge.count > 24 { for k in 16..<24 { huge[k] = k == 23 ? 0x40 : 0 } }
        variants.append(("count", huge))
        var cases = [Case]()
        for (n, d) in variants {
            let file = try write("bad/prepared/\(n).qds", d)
            let name = (file as NSString).lastPathComponent
            let png = path("out/show-\(n).png")
            cases.append(Case(name: "data stats \(n)", args: ["data", "stats", file], names: [name]))
            cases.append(Case(name: "data show \(n)", args: ["data", "show", file, "--index", "0", "-o", png], names: [name], outputs: [png]))
            cases.append(Case(name: "eval \(n)", args: ["eval", "--model", fixtures.synthesis, "--data", file], names: [name]))
            let run = path("out/train-\(n)")
            cases.append(Case(name: "train prediction \(n)", args: ["train", "prediction", "--data", file, "--out", run,
                                                                  "--hidden", "4", "--layers", "1", "--steps", "1"],
                              names: [name], outputs: [run + "/model.safetensors"]))
        }
        return cases
    }

    /// A safetensors file from a header object and data bytes.
    func safetensors(header: [String: Any], data: Data) throws -> Data {
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        return out + json + data
    }

    func checkpointCases() throws -> [Case] {
        var cases = [Case]()
        for (kind, base) in [("synthesis", fixtures.synthesis), ("prediction", fixtures.prediction), ("char", fixtures.char)] {
            let file = base + "/model.safetensors"
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            let headerLength = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) })
            let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
            let body = data.subdata(in: (8 + headerLength)..<data.count)
            var variants = [(String, Data)]()
            for (i, k) in cuts(data, 5, seed: 41).enumerated() { variants.append(("cut\(i)", data.prefix(k))) }
            for (i, d) in flips(data, 5, seed: 42, within: 8..<(8 + headerLength)).enumerated() { variants.append(("ff\(i)", d)) }
            variants.append(("empty", Data()))
            variants.append(("qds", try Data(contentsOf: URL(fileURLWithPath: fixtures.qds))))
            var headerLen = data; for k in 0..<8 { headerLen[k] = 0xFF }
            variants.append(("headerlen", headerLen))
            let tensorNames = header.keys.filter { $0 != "__metadata__" }.sorted()
            let firstName = tensorNames[0]
            func altered(_ name: String, _ change: (inout [String: Any]) -> Void) throws {
                var h = header
                change(&h)
                variants.append((name, try safetensors(header: h, data: body)))
            }
            try altered("wrapshape") { h in var t = h[firstName] as! [String: Any]; t["shape"] = [4611686018427387905]; h[firstName] = t }
            try altered("hugeshape") { h in var t = h[firstName] as! [String: Any]; t["shape"] = [1 << 40, 1 << 20]; h[firstName] = t }
            try altered("negshape") { h in var t = h[firstName] as! [String: Any]; t["shape"] = [-4, 2]; h[firstName] = t }
            try altered("floatshape") { h in var t = h[firstName] as! [String: Any]; t["shape"] = [1.5]; h[firstName] = t }
            try altered("negoffset") { h in var t = h[firstName] as! [String: Any]; t["data_offsets"] = [-8, 0]; h[firstName] = t }
            try altered("pastend") { h in var t = h[firstName] as! [String: Any]; let o = t["data_offsets"] as! [Int]; t["data_offsets"] = [o[0] + 1 << 40, o[1] + 1 << 40]; h[firstName] = t }
            try altered("dtype") { h in var t = h[firstName] as! [String: Any]; t["dtype"] = "I64"; h[firstName] = t }
            try altered("missing") { h in h.removeValue(forKey: firstName) }
            if tensorNames.count > 1 {
                try altered("overlap") { h in
                    var a = h[tensorNames[0]] as! [String: Any], b = h[tensorNames[1]] as! [String: Any]
                    b["data_offsets"] = a["data_offsets"]; b["shape"] = a["shape"]
                    a["data_offsets"] = a["data_offsets"]; h[tensorNames[1]] = b; h[tensorNames[0]] = a
                }
            }
            let meta = header["__metadata__"] as? [String: String] ?? [:]
            // What loading a model reads (the best step and the training options matter only to a resume).
            for (key, value) in meta where !["quill.best", "quill.train-options", "quill.trainer-state"].contains(key) {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any] else { continue }
                func alteredMeta(_ name: String, _ change: (inout [String: Any]) -> Void) throws {
                    var o = obj
                    change(&o)
                    let text = String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
                    try altered("\(key)-\(name)") { h in var m = meta; m[key] = text; h["__metadata__"] = m }
                }
                for field in ["layers", "hidden", "hiddenSize", "mixtures", "window", "vocabularySize", "step", "batch"] where obj[field] != nil {
                    try alteredMeta("\(field)-huge") { $0[field] = field == "layers" ? 16 : 8192 }
                    try alteredMeta("\(field)-zero") { $0[field] = 0 }
                    try alteredMeta("\(field)-neg") { $0[field] = -3 }
                }
                try altered("\(key)-garbage") { h in var m = meta; m[key] = "{not json"; h["__metadata__"] = m }
            }
            try altered("nometa") { h in h.removeValue(forKey: "__metadata__") }
            // NaN weights.
            var nan = data
            let nanBits: [UInt8] = [0x00, 0x00, 0xC0, 0x7F]
            for k in 0..<4 { nan[8 + headerLength + k] = nanBits[k] }
            variants.append(("nanweight", nan))

            for (n, d) in variants {
                let dir = path("bad/models/\(kind)-\(n)")
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try d.write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
                let names = ["model.safetensors", "\(kind)-\(n)"]
                let png = path("out/ckpt-\(kind)-\(n).png")
                switch kind {
                case "synthesis":
                    cases.append(Case(name: "write model \(n)", args: ["write", "hi", "--model", dir, "-o", png], names: names, outputs: [png]))
                    cases.append(Case(name: "plot window model \(n)", args: ["plot", "window", "hi", "--model", dir, "-o", png], names: names, outputs: [png]))
                    cases.append(Case(name: "eval synthesis model \(n)", args: ["eval", "--model", dir, "--data", fixtures.qds], names: names))
                case "prediction":
                    cases.append(Case(name: "sample model \(n)", args: ["sample", "--model", dir, "-o", png, "--length", "10"], names: names, outputs: [png]))
                    cases.append(Case(name: "plot density model \(n)", args: ["plot", "density", "--model", dir, "-o", png, "--length", "10"], names: names, outputs: [png]))
                default:
                    cases.append(Case(name: "char sample model \(n)", args: ["char", "sample", "--model", dir, "--length", "5"], names: names))
                    cases.append(Case(name: "char eval model \(n)", args: ["char", "eval", "--model", dir, "--data", fixtures.text], names: names))
                }
            }
        }
        // n-gram model files: truncated, flipped, empty, or another kind of file.
        let ngramData = try Data(contentsOf: URL(fileURLWithPath: fixtures.ngram + "/model.ngram"))
        var ngramVariants = [(String, Data)]()
        for (i, k) in cuts(ngramData, 5, seed: 43).enumerated() { ngramVariants.append(("cut\(i)", ngramData.prefix(k))) }
        for (i, d) in flips(ngramData, 5, seed: 44).enumerated() { ngramVariants.append(("ff\(i)", d)) }
        ngramVariants += [("empty", Data()), ("qds", try Data(contentsOf: URL(fileURLWithPath: fixtures.qds))),
                          ("safetensors", try Data(contentsOf: URL(fileURLWithPath: fixtures.char + "/model.safetensors")))]
        for (n, d) in ngramVariants {
            let dir = path("bad/models/ngram-\(n)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try d.write(to: URL(fileURLWithPath: dir + "/model.ngram"))
            let names = ["model.ngram", "ngram-\(n)"]
            cases.append(Case(name: "ngram sample model \(n)", args: ["ngram", "sample", "--model", dir, "--length", "5"], names: names))
            cases.append(Case(name: "ngram eval model \(n)", args: ["ngram", "eval", "--model", dir, "--data", fixtures.text], names: names))
        }
        // A run directory whose checkpoints are broken cannot be resumed.
        let run = path("bad/models/char-resume")
        try FileManager.default.copyItem(atPath: fixtures.char, toPath: run)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: run + "/last.safetensors"))
        cases.append(Case(name: "char train --resume broken last", args: ["char", "train", "--data", fixtures.text, "--out", run, "--resume", "--steps", "4"],
                          names: ["last.safetensors", "char-resume"], outputs: [run + "/model.safetensors", run + "/last.safetensors"]))
        // A resumed handwriting run keeps its validation lines and sequence length ("best" is compared on them).
        let kept = [fixtures.synthesis + "/model.safetensors", fixtures.synthesis + "/last.safetensors"]
        for (flag, value) in [("--val-samples", "1"), ("--max-points", "50")] {
            cases.append(Case(name: "train synthesis --resume \(flag)", args: ["train", "synthesis", "--data", fixtures.qds, "--out", fixtures.synthesis,
                                                                       "--resume", "--steps", "3", flag, value],
                              names: ["\(flag) \(value) differs from the checkpoint's"], outputs: kept))
        }
        return cases
    }

    func styleCases() throws -> [Case] {
        var cases = [Case]()
        let good = #"{"name":"s","rows":[[0,0,0],[0.5,-0.25,0],[1.5,0.75,1]],"source":"hand","text":"hi"}"#
        var variants: [(String, String)] = [
            ("trunc", String(good.prefix(40))), ("empty", ""), ("notjson", "hello"), ("array", "[1,2,3]"),
            ("norows", #"{"name":"s","rows":[],"source":"hand","text":"hi"}"#),
            ("tworow", #"{"name":"s","rows":[[0,0]],"source":"hand","text":"hi"}"#),
            ("inf", #"{"name":"s","rows":[[0,0,0],[1e999,0,1]],"source":"hand","text":"hi"}"#),
            ("huge", #"{"name":"s","rows":[[0,0,0],[1e30,0,1]],"source":"hand","text":"hi"}"#),
            ("eos", #"{"name":"s","rows":[[0,0,0],[1,0,7]],"source":"hand","text":"hi"}"#),
            ("strrow", #"{"name":"s","rows":[["a","b","c"]],"source":"hand","text":"hi"}"#),
            ("notext", #"{"name":"s","rows":[[0,0,0],[1,0,1]],"source":"hand"}"#),
            ("unknownchar", #"{"name":"s","rows":[[0,0,0],[1,0,1]],"source":"hand","text":"\u0001\u0002"}"#),
            ("deep", "{\"name\":" + String(repeating: "[", count: 100_000)),
        ]
        var raw = variants.map { ($0.0, Data($0.1.utf8)) }
        raw.append(("latin1", Data(Data(good.utf8).map { $0 == UInt8(ascii: "h") ? 0xE9 : $0 })))
        for (n, bytes) in raw {
            let dir = path("bad/styles/m-\(n)")
            try FileManager.default.createDirectory(atPath: dir + "/styles", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: fixtures.synthesis + "/model.safetensors", toPath: dir + "/model.safetensors")
            try bytes.write(to: URL(fileURLWithPath: dir + "/styles/s.json"))
            let png = path("out/style-\(n).png")
            cases.append(Case(name: "style \(n)", args: ["write", "hi", "--model", dir, "--style", "s", "-o", png],
                              names: ["s.json", "style"], outputs: [png]))
        }
        return cases
    }

    func textCases() throws -> [Case] {
        var cases = [Case]()
        let sample = "to be or not to be, that is the question.\n"
        let variants: [(String, Data)] = [
            ("empty", Data()), ("utf16", "\u{FEFF}\(sample)".data(using: .utf16LittleEndian)!),
            ("latin1", "caf\u{E9} au lait\n".data(using: .isoLatin1)!), ("cp1252", Data([0x93, 0x68, 0x69, 0x94, 0x0A])),
            ("binary", Data([0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0xFF, 0xFE])), ("ff", Data(sample.utf8) + Data([0xFF])),
        ]
        for (n, d) in variants {
            let file = try write("bad/text/\(n).txt", d)
            let name = "\(n).txt"
            let run = path("out/chartrain-\(n)")
            cases.append(Case(name: "char train \(n)", args: ["char", "train", "--data", file, "--out", run, "--hidden", "4",
                                                              "--layers", "1", "--steps", "1"],
                              names: [name], outputs: [run + "/model.safetensors"]))
            cases.append(Case(name: "char eval \(n)", args: ["char", "eval", "--model", fixtures.char, "--data", file], names: [name]))
            let ngramRun = path("out/ngramtrain-\(n)")
            cases.append(Case(name: "ngram train \(n)", args: ["ngram", "train", "--data", file, "--order", "2", "--out", ngramRun],
                              names: [name], outputs: [ngramRun + "/model.ngram"]))
            cases.append(Case(name: "ngram eval \(n)", args: ["ngram", "eval", "--model", fixtures.ngram, "--data", file], names: [name]))
            let png = path("out/input-\(n).png")
            cases.append(Case(name: "write --input \(n)", args: ["write", "--input", file, "--model", fixtures.synthesis, "-o", png],
                              names: [name], outputs: [png]))
            cases.append(Case(name: "write - \(n)", args: ["write", "-", "--model", fixtures.synthesis, "-o", png],
                              names: ["standard input"], outputs: [png], stdin: d))
        }
        let png = path("out/control.png")
        for (n, text) in [("control", "hi\u{0007}there"), ("bidi", "hi\u{202E}there"), ("toolong", String(repeating: "hi ", count: 400))] {
            cases.append(Case(name: "write text \(n)", args: ["write", text, "--model", fixtures.synthesis, "-o", png, "--max-chars", "1000"],
                              names: ["U+", "--max-chars", "character"], outputs: [png]))
        }
        for (n, p) in [("dir", path("bad")), ("devnull", "/dev/null"), ("missing", path("bad/nothing.txt"))] {
            let name = (p as NSString).lastPathComponent
            cases.append(Case(name: "char train data \(n)", args: ["char", "train", "--data", p, "--out", path("out/ct-\(n)"), "--steps", "1"],
                              names: [name], outputs: [path("out/ct-\(n)/model.safetensors")]))
            cases.append(Case(name: "write --input \(n)", args: ["write", "--input", p, "--model", fixtures.synthesis, "-o", png],
                              names: [name], outputs: [png]))
            cases.append(Case(name: "eval data \(n)", args: ["eval", "--model", fixtures.synthesis, "--data", p], names: [name]))
            cases.append(Case(name: "data stats \(n)", args: ["data", "stats", p], names: [name]))
            cases.append(Case(name: "model dir \(n)", args: ["write", "hi", "--model", p, "-o", png], names: [name], outputs: [png]))
        }
        return cases
    }

    func metricsCases() throws -> [Case] {
        var cases = [Case]()
        let variants: [(String, String)] = [
            ("empty", ""), ("garbage", "hello\nworld\n"), ("nosteps", #"{"loss":1}"# + "\n"), ("nan", #"{"step":1,"loss":NaN}"# + "\n"),
            ("allnull", #"{"step":1,"loss":null,"kind":"train"}"# + "\n"), ("array", "[1,2]\n"), ("binary", "\u{0}\u{1}\u{2}"),
            ("deep", String(repeating: "[", count: 100_000)),
        ]
        for (n, text) in variants {
            let dir = path("bad/runs/\(n)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/metrics.jsonl"))
            let png = path("out/loss-\(n).png")
            cases.append(Case(name: "plot loss \(n)", args: ["plot", "loss", dir, "-o", png], names: ["metrics.jsonl", n], outputs: [png]))
        }
        return cases
    }

    func outputCases() -> [Case] {
        var cases = [Case]()
        let missingDir = path("no/such/dir")
        let isDir = path("out/isdir.png")
        try? FileManager.default.createDirectory(atPath: isDir, withIntermediateDirectories: true)
        let metrics = fixtures.char + "/metrics.jsonl"
        let writers: [(String, [String], String)] = [
            ("write", ["write", "hi", "--model", fixtures.synthesis, "-o"], "png"),
            ("data show", ["data", "show", fixtures.qds, "--index", "0", "-o"], "png"),
            ("plot loss", ["plot", "loss", fixtures.char, "-o"], "png"),
            ("plot window", ["plot", "window", "hi", "--model", fixtures.synthesis, "-o"], "png"),
            ("sample", ["sample", "--model", fixtures.prediction, "--length", "10", "-o"], "png"),
            ("plot density", ["plot", "density", "--model", fixtures.prediction, "--length", "10", "-o"], "png"),
            ("data import", ["data", "import", "iam-jsonl", fixtures.jsonl, "--out"], "qds"),
        ]
        for (name, args, ext) in writers {
            let missing = missingDir + "/x.\(ext)"
            cases.append(Case(name: "\(name) missing dir", args: args + [missing], names: ["x.\(ext)", "dir"], outputs: [missing]))
            cases.append(Case(name: "\(name) is a directory", args: args + [isDir], names: ["isdir.png"], outputs: []))
            if ext == "png" {
                cases.append(Case(name: "\(name) unknown extension", args: args + [path("out/x.bmp")], names: ["x.bmp"], outputs: [path("out/x.bmp")]))
            }
        }
        // An output that is one of the inputs.
        let inputs: [(String, [String], String)] = [
            ("data import onto input", ["data", "import", "iam-jsonl", fixtures.jsonl, "--out", fixtures.jsonl], fixtures.jsonl),
            ("data show onto input", ["data", "show", fixtures.qds, "--index", "0", "-o", fixtures.qds], fixtures.qds),
            ("plot loss onto metrics", ["plot", "loss", fixtures.char, "-o", metrics], metrics),
            ("write onto input", ["write", "--input", fixtures.text, "--model", fixtures.synthesis, "-o", fixtures.text], fixtures.text),
        ]
        for (name, args, file) in inputs {
            cases.append(Case(name: name, args: args, names: [(file as NSString).lastPathComponent], outputs: [file]))
        }
        return cases
    }

    /// Every numeric option of every command, given values no option accepts.
    func optionCases() -> [Case] {
        let png = path("out/opt.png")
        let commands: [(String, [String], [String])] = [
            ("char train", ["char", "train", "--data", fixtures.text, "--out", path("out/opt-char"), "--steps", "1", "--hidden", "4", "--layers", "1"],
             ["layers", "hidden", "embedding", "dropout", "batch", "seq", "lr", "lr-decay", "lr-decay-every", "lr-decay-start",
              "clip", "clip-value", "steps", "minutes", "seed", "val-fraction", "eval-every", "sample-length"]),
            ("char sample", ["char", "sample", "--model", fixtures.char, "--length", "5"], ["length", "temperature", "beam", "seed"]),
            ("char eval", ["char", "eval", "--model", fixtures.char, "--data", fixtures.text], ["val-fraction"]),
            ("ngram train", ["ngram", "train", "--data", fixtures.text, "--order", "3", "--smoothing", "add-k", "--out", path("out/opt-ngram")],
             ["order", "k", "val-fraction"]),
            ("ngram sample", ["ngram", "sample", "--model", fixtures.ngram, "--length", "5"], ["length", "temperature", "seed"]),
            ("ngram eval", ["ngram", "eval", "--model", fixtures.ngram, "--data", fixtures.text], ["val-fraction"]),
            ("train prediction", ["train", "prediction", "--data", fixtures.qds, "--out", path("out/opt-pred"), "--steps", "1", "--hidden", "4", "--layers", "1"],
             ["layers", "hidden", "mixtures", "batch", "lr", "lr-decay", "lr-decay-every", "output-clip", "lstm-clip", "clip",
              "steps", "minutes", "seed", "eval-every", "val-samples", "max-points"]),
            ("train synthesis", ["train", "synthesis", "--data", fixtures.qds, "--out", path("out/opt-syn"), "--steps", "1", "--hidden", "4", "--layers", "1"],
             ["window", "mixtures"]),
            ("write", ["write", "hi", "--model", fixtures.synthesis, "-o", png],
             ["bias", "seed", "wrap", "max-chars", "steps-per-char", "finish-steps", "tries", "candidates", "piece-chars",
              "line-height", "pen-width"]),
            ("sample", ["sample", "--model", fixtures.prediction, "-o", png], ["length", "bias", "seed"]),
            ("plot window", ["plot", "window", "hi", "--model", fixtures.synthesis, "-o", png], ["bias", "seed"]),
            ("plot density", ["plot", "density", "--model", fixtures.prediction, "-o", png], ["length", "bias", "seed"]),
            ("plot loss", ["plot", "loss", fixtures.char, "-o", png], ["width", "height"]),
            ("style add", ["style", "add", "fresh", "--model", path("out/no-model"), "--text", "hi"], ["seed", "bias"]),
            ("eval", ["eval", "--model", fixtures.synthesis, "--data", fixtures.qds], ["batch"]),
            ("data import", ["data", "import", "iam-jsonl", fixtures.jsonl, "--out", path("out/opt.qds")],
             ["smooth-window", "smooth-order", "decimate", "max-points", "min-count", "valid-fraction", "seed", "outlier-threshold"]),
            ("data show", ["data", "show", fixtures.qds, "-o", png, "--index", "0"], ["height", "pen-width"]),
            ("data show index", ["data", "show", fixtures.qds, "-o", png, "--height", "100"], ["index"]),
            ("bench char", ["bench", "char"], ["iterations", "layers", "hidden", "batch", "seq", "embedding"]),
            ("bench handwriting", ["bench", "handwriting"], ["batch", "steps", "text-length", "alphabet"]),
            ("bench sampling", ["bench", "sampling"], ["steps", "reps"]),
            ("bench kernels", ["bench", "kernels"], ["batch", "hidden", "reps"]),
            ("bench peak", ["bench", "peak"], ["seconds", "threads"]),
            ("bench render", ["bench", "render"], ["lines", "line-height"]),
        ]
        var cases = [Case]()
        for (name, base, options) in commands {
            for option in options {
                for value in ["-1", "nan", "1e300", "99999999999999999999", "abc"] {
                    // A seed takes any 64-bit value, so only values outside UInt64 are bad.
                    if option == "seed", value == "1e300" { continue }
                    cases.append(Case(name: "\(name) --\(option) \(value)", args: base + ["--\(option)", value],
                                      names: ["--\(option)"], outputs: [png]))
                }
            }
        }
        return cases
    }
}
