import Foundation
import XCTest
@testable import QuillData

/// Inputs crafted to crash a reader (deep nesting, huge counts, non-finite numbers) give one clear DatasetError.
final class ReaderLimitsTests: XCTestCase {
    // MARK: - Deep XML

    func testDeeplyNestedIAMXMLIsAnErrorNotACrash() throws {
        let dir = try TempDir()
        let depth = 40_000
        let xml = "<WhiteboardCaptureSession>\n<StrokeSet>\n" + String(repeating: "<Stroke>", count: depth)
            + "<Point x=\"1\" y=\"2\" time=\"0\"/>" + String(repeating: "</Stroke>", count: depth)
            + "</StrokeSet></WhiteboardCaptureSession>\n"
        let path = try dir.write("lineStrokes/a01/a01-000/a01-000u-01.xml", xml)
        try dir.write("ascii/a01/a01-000/a01-000u.txt", "CSR:\n\nsome text\n")
        assertDatasetError(["a01-000u-01.xml:3", "nested deeper than 256"]) {
            _ = try Importer.load(.iamXML, inputs: [dir.path])
        }
        let skipped = try Importer.load(.iamXML, inputs: [path], skipInvalid: true)
        XCTAssertEqual(skipped.samples.count, 0)
        XCTAssertEqual(skipped.skipped.count, 1)
    }

    func testDeeplyNestedInkMLIsAnErrorNotACrash() throws {
        let dir = try TempDir()
        let depth = 40_000
        let inkml = "<ink xmlns=\"http://www.w3.org/2003/InkML\">\n" + String(repeating: "<traceGroup>", count: depth)
            + "<trace>1 2, 3 4</trace>" + String(repeating: "</traceGroup>", count: depth) + "</ink>"
        let path = try dir.write("deep.inkml", inkml)
        assertDatasetError(["deep.inkml:2", "nested deeper than 256"]) { _ = try InkMLImporter.load(path: path) }
        assertDatasetError(["deep.inkml:2", "nested deeper than 256"]) { _ = try Importer.load(.inkml, inputs: [path]) }
        // An unclosed deep document (no end tags at all) stops at the cap just the same.
        let open = try dir.write("open.inkml", "<ink>" + String(repeating: "<traceGroup>\n", count: depth))
        assertDatasetError(["open.inkml:256", "nested deeper than 256"]) { _ = try InkMLImporter.load(path: open) }
    }

    func testNestingUpToTheCapIsRead() throws {
        let depth = XMLElementNode.maxDepth - 1  // inside <ink>
        let inkml = "<ink>" + String(repeating: "<traceGroup>", count: depth - 1) + "<trace>1 2, 3 4</trace>"
            + String(repeating: "</traceGroup>", count: depth - 1) + "</ink>"
        let root = try XMLElementNode.parse(Data(inkml.utf8), file: "cap.inkml")
        XCTAssertEqual(root.descendants(named: "trace").count, 1)
        XCTAssertEqual(root.descendants(named: "traceGroup").count, depth - 1)
        assertDatasetError(["nested deeper than"]) {
            _ = try XMLElementNode.parse(Data(("<a>" + inkml + "</a>").utf8), file: "over.inkml")
        }
    }

    func testDeepTreesAreFreedAndWalkedWithoutRecursion() {
        // Far deeper than the parser allows, built by hand: freeing it must not recurse once per level.
        let root = XMLElementNode(name: "ink", attributes: [:], line: 1)
        var node = root
        for k in 0..<200_000 {
            let child = XMLElementNode(name: k % 2 == 0 ? "traceGroup" : "trace", attributes: [:], line: 1)
            node.children.append(child)
            node = child
        }
        XCTAssertEqual(root.descendants(named: "trace").count, 100_000)
        // A node held elsewhere keeps its subtree when the root goes.
        let kept = root.children[0].children[0]
        node = root  // drop the last reference to the deep end; `root` goes at the end of the scope
        XCTAssertEqual(kept.descendants(named: "trace").count, 99_999)
    }

    func testXMLErrorsAreInPlainWords() throws {
        let dir = try TempDir()
        let cases: [(String, String, String)] = [
            ("<ink><trace>1 2</ink>", "m.inkml:1:", "not well formed"),
            ("<ink><trace a=1>1 2</trace></ink>", "a.inkml:1:", "tag is not finished"),
            ("<ink>&bogus;</ink>", "e.inkml:1:", "entity reference"),
            ("<ink>\u{1}</ink>", "c.inkml:1:", "character"),
            ("<ink><trace>1 2</trace></ink><ink/>", "t.inkml:1:", "content after the root"),
            ("", "z.inkml", "ends before its root"),
        ]
        for (text, where_, why) in cases {
            let name = String(where_.prefix { $0 != ":" })
            let path = try dir.write(name, text)
            do {
                _ = try InkMLImporter.load(path: path)
                XCTFail("\(name) was accepted")
            } catch let error as DatasetError {
                let message = error.description
                XCTAssertTrue(message.contains(where_) && message.contains(why), message)
                for leak in ["Domain", "NSXML", "NSCocoa", "error 5", "Code="] {
                    XCTAssertFalse(message.contains(leak), "'\(message)' shows '\(leak)'")
                }
            }
        }
    }

    // MARK: - InkML orientation and the one entry point

    static func inkml(yOrientation: String?, xOrientation: String? = nil, points: [(Double, Double)]) -> String {
        let yAttr = yOrientation.map { " orientation=\"\($0)\"" } ?? ""
        let xAttr = xOrientation.map { " orientation=\"\($0)\"" } ?? ""
        return """
        <ink xmlns="http://www.w3.org/2003/InkML">
          <traceFormat>
            <channel name="X" type="decimal"\(xAttr)/>
            <channel name="Y" type="decimal"\(yAttr)/>
          </traceFormat>
          <annotation type="truth">hi</annotation>
          <trace>\(points.map { "\($0.0) \($0.1)" }.joined(separator: ", "))</trace>
        </ink>
        """
    }

    func testNegativeYOrientationIsFlipped() throws {
        let dir = try TempDir()
        let strokes: [(Double, Double)] = [(10, 20), (11, 25), (13, 24)]
        let plus = try dir.write("plus.inkml", Self.inkml(yOrientation: "+ve", points: strokes))
        let minus = try dir.write("minus.inkml", Self.inkml(yOrientation: "-ve", points: strokes.map { ($0.0, -$0.1) }))
        let none = try dir.write("none.inkml", Self.inkml(yOrientation: nil, points: strokes))
        let a = try InkMLImporter.load(path: plus), b = try InkMLImporter.load(path: minus)
        XCTAssertEqual(a.y, [20, 25, 24])
        XCTAssertEqual(b.y, a.y)
        XCTAssertEqual(b.x, a.x)
        XCTAssertEqual(try InkMLImporter.load(path: none).y, a.y)
        // The offsets `write --prime-inkml` primes with are the same, so the prime is not upside down.
        XCTAssertEqual(b.offsets(), a.offsets())

        let xMinus = try dir.write("xminus.inkml",
                                   Self.inkml(yOrientation: nil, xOrientation: "-ve", points: strokes.map { (-$0.0, $0.1) }))
        XCTAssertEqual(try InkMLImporter.load(path: xMinus).x, a.x)
        let bad = try dir.write("bad.inkml", Self.inkml(yOrientation: "down", points: strokes))
        assertDatasetError(["bad.inkml:4", "orientation 'down'", "+ve or -ve"]) { _ = try InkMLImporter.load(path: bad) }
    }

    func testInkMLLoadValidatesLikeTheImport() throws {
        // `InkMLImporter.load` is what `write --prime-inkml` and `style add --inkml` call: it must refuse what
        // `data import inkml` refuses.
        let dir = try TempDir()
        for (name, trace, why) in [("nan.inkml", "1 2, nan 3", "'nan' is not a number"),
                                   ("huge.inkml", "1 2, 1e300 3", "must be finite"),
                                   ("inf.inkml", "1 2, 3 -inf", "'-inf' is not a number")] {
            let path = try dir.write(name, "<ink><trace>\(trace)</trace></ink>")
            assertDatasetError([name, "bad coordinate", why]) { _ = try InkMLImporter.load(path: path) }
            assertDatasetError([name, "bad coordinate", why]) { _ = try Importer.load(.inkml, inputs: [path]) }
        }
        let time = try dir.write("t.inkml", """
        <ink><traceFormat><channel name="X"/><channel name="Y"/><channel name="T"/></traceFormat>
        <trace>1 2 0, 3 4 nan</trace></ink>
        """)
        assertDatasetError(["t.inkml", "'nan' is not a number"]) { _ = try InkMLImporter.load(path: time) }
    }

    // MARK: - QuickDraw kinds

    func testRawAndSimplifiedQuickDrawAreNotMixed() throws {
        let dir = try TempDir()
        let raw = try dir.write("raw.ndjson", #"{"key_id":"1","word":"cat","drawing":[[[414.5,600],[437,433],[0,120]]]}"#)
        let simple = try dir.write("simple.ndjson", """
        {"key_id":"1","word":"cat","drawing":[[[130,113],[72,40]]]}
        {"key_id":"2","word":"cat","drawing":[[[0,255],[255,0]]]}
        """)
        XCTAssertEqual(try Importer.load(.quickdraw, inputs: [raw]).samples.count, 1)
        XCTAssertEqual(try Importer.load(.quickdraw, inputs: [simple]).samples.count, 2)
        for skip in [false, true] {
            assertDatasetError(["raw.ndjson:1", "raw (canvas pixels, with times)", "simple.ndjson:1",
                                "simplified", "separately"]) {
                _ = try Importer.load(.quickdraw, inputs: [simple, raw], skipInvalid: skip)
            }
        }
        // Within one file, and an untimed drawing beyond 0…255 is not simplified.
        let mixed = try dir.write("mixed.ndjson", """
        {"key_id":"1","drawing":[[[130,113],[72,40]]]}
        {"key_id":"2","drawing":[[[130,913],[72,40]]]}
        """)
        assertDatasetError(["mixed.ndjson:2", "beyond the simplified 0…255 box", "mixed.ndjson:1"]) {
            _ = try Importer.load(.quickdraw, inputs: [mixed])
        }
        // Bad drawings are still skipped one by one under --skip-invalid.
        let bad = try dir.write("bad.ndjson", """
        {"key_id":"1","drawing":[[[130,113],[72,40]]]}
        {"key_id":"2","drawing":[[[1],[2],[3],[4]]]}
        {"key_id":"3","drawing":[[[3,4],[5,6]]]}
        """)
        let r = try Importer.load(.quickdraw, inputs: [bad], skipInvalid: true)
        XCTAssertEqual(r.samples.map(\.id), ["1", "3"])
        XCTAssertEqual(r.skipped.count, 1)
    }

    func testSharedQuickDrawSamplesAreTellApartAndNotMixed() throws {
        let root = try sharedDatasets("QuickDraw kinds")
        let raw = root + "/quickdraw_ndjson_samples/raw/cat.ndjson"
        let simple = root + "/quickdraw_ndjson_samples/simplified/cat.ndjson"
        guard FileManager.default.fileExists(atPath: raw), FileManager.default.fileExists(atPath: simple) else {
            throw XCTSkip("quickdraw samples not found")
        }
        XCTAssertEqual(try Importer.load(.quickdraw, inputs: [raw]).samples.count, 25)
        XCTAssertEqual(try Importer.load(.quickdraw, inputs: [simple]).samples.count, 25)
        assertDatasetError(["separately"]) { _ = try Importer.load(.quickdraw, inputs: [raw, simple]) }
    }

    // MARK: - Prepared files

    func makeData() throws -> Data {
        let samples = (0..<3).map { k in
            HandwritingSample(id: "s\(k)", strokes: [[Point(0, 0), Point(Double(k), 1), Point(4, 2)], [Point(5, 5)]], text: "ab")
        }
        return try PreparedFormat.encode(try Preparer.prepare(ImportResult(samples: samples), format: .inkml,
                                                              options: PreprocessOptions()))
    }

    /// Patches a little-endian u64 (without fixing the checksum, which covers only bytes 64…).
    func patched(_ data: Data, u64 value: UInt64, at offset: Int) -> Data {
        var d = data
        withUnsafeBytes(of: value.littleEndian) { d.replaceSubrange(offset..<(offset + 8), with: $0) }
        return d
    }

    /// Replaces bytes after offset 64 and fixes the checksum, so only the content check can catch them.
    func rewritten(_ data: Data, _ edit: (inout Data) -> Void) -> Data {
        var d = data
        edit(&d)
        return patched(d, u64: PreparedFormat.checksum(d, from: 64), at: 48)
    }

    func testHugeCountsAreCorruptNotACrash() throws {
        let good = try makeData()
        for (name, offset) in [("S", 16), ("P", 24), ("C", 32), ("B", 40)] {
            for value: UInt64 in [1 << 62, UInt64.max, UInt64.max / 9, 0x2000_0000_0000_0001] {
                assertDatasetError(["p.qds", "not a valid prepared dataset", "table sizes"]) {
                    _ = try PreparedFormat.decode(patched(good, u64: value, at: offset), file: "p.qds")
                }
            }
            _ = name
        }
        var h = good
        withUnsafeBytes(of: UInt32.max.littleEndian) { h.replaceSubrange(12..<16, with: $0) }
        assertDatasetError(["p.qds", "table sizes"]) { _ = try PreparedFormat.decode(h, file: "p.qds") }
        // Counts that add up but tables that point outside themselves.
        let ds = try PreparedFormat.decode(good, file: "p.qds")
        let tables = 64 + Int(good.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 12, as: UInt32.self) })
        let wild = rewritten(good) { d in
            withUnsafeBytes(of: UInt64(1 << 62).littleEndian) { d.replaceSubrange((tables + 8)..<(tables + 16), with: $0) }
        }
        assertDatasetError(["p.qds", "point table"]) { _ = try PreparedFormat.decode(wild, file: "p.qds") }
        XCTAssertEqual(ds.samples.count, 3)
    }

    func testCraftedHeadersAreCorruptInOneLine() throws {
        let good = try makeData()
        func withHeader(_ from: String, _ to: String) -> Data {
            precondition(from.utf8.count == to.utf8.count)
            return rewritten(good) { d in
                let bytes = [UInt8](d)
                let f = Array(from.utf8)
                guard let at = (64..<(bytes.count - f.count)).first(where: { Array(bytes[$0..<($0 + f.count)]) == f }) else {
                    XCTFail("\(from) not in the header")
                    return
                }
                d.replaceSubrange(at..<(at + f.count), with: Array(to.utf8))
            }
        }
        let cases: [(String, String, String)] = [
            (#""format":"inkml""#, #""format":"bogus""#, "field format"),
            (#""format":"inkml""#, #""format":1234567"#, "field format has the wrong type"),
            (#""splitUsed":"seeded""#, #""splitUsed":"zzzzzz""#, "splitUsed"),
            (#""yAxis":"down""#, #""yAxis":"left""#, "field options.yAxis"),
            (#""format""#, #""formaX""#, "field format is missing"),
        ]
        for (from, to, why) in cases {
            assertDatasetError(["p.qds", "not a valid prepared dataset", why]) {
                _ = try PreparedFormat.decode(withHeader(from, to), file: "p.qds")
            }
            do { _ = try PreparedFormat.decode(withHeader(from, to), file: "p.qds") } catch {
                let message = "\(error)"
                XCTAssertFalse(message.contains("\n"), message)
                for leak in ["DecodingError", "CodingKeys", "Context", "ImportFormat", "debugDescription"] {
                    XCTAssertFalse(message.contains(leak), "'\(message)' shows '\(leak)'")
                }
            }
        }
    }

    /// A prepared file with no samples and the given header JSON, with a correct length and checksum.
    func emptyFile(header json: String) -> Data {
        var h = Array(json.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var d = Data(PreparedFormat.magic)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        u32(1)
        u32(UInt32(h.count))
        for _ in 0..<6 { u64(0) }  // S, P, C, B, checksum, length
        d.append(contentsOf: h)
        for _ in 0..<3 { u64(0) }  // pointStart[1], charStart[1], stringStart[1]
        d = patched(d, u64: UInt64(d.count), at: 56)
        return patched(d, u64: PreparedFormat.checksum(d, from: 64), at: 48)
    }

    func testDeepOrHugeHeaderJSONIsCorrupt() throws {
        let good = try PreparedFormat.decode(try makeData(), file: "p.qds")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let header = String(decoding: try encoder.encode(good.header), as: UTF8.self)
        XCTAssertEqual(try PreparedFormat.decode(emptyFile(header: header), file: "p.qds").samples.count, 0)
        for json in [String(repeating: "[", count: 100_000), String(repeating: "{\"a\":", count: 50_000),
                     header.replacingOccurrences(of: "\"skippedSamples\":0", with: "\"skippedSamples\":1e30"),
                     header.replacingOccurrences(of: "\"skippedSamples\":0", with: "\"skippedSamples\":-3"),
                     "", "null"] {
            assertDatasetError(["p.qds", "not a valid prepared dataset", "header"]) {
                _ = try PreparedFormat.decode(emptyFile(header: json), file: "p.qds")
            }
        }
    }

    func testBadStatisticsAndValuesAreRefused() throws {
        var ds = try PreparedFormat.decode(try makeData(), file: "p.qds")
        let good = ds
        for st in [OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 0, stdDy: 1),
                   OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: -2),
                   OffsetStatistics(meanDx: 1e308 * 10, meanDy: 0, stdDx: 1, stdDy: 1)] {
            ds.header.stats = st
            if let data = try? PreparedFormat.encode(ds) {  // JSON cannot carry infinity; that case fails to encode
                assertDatasetError(["p.qds", "stats"]) { _ = try PreparedFormat.decode(data, file: "p.qds") }
            }
            ds = good
            ds.header.measuredStats = st
            if let data = try? PreparedFormat.encode(ds) {
                assertDatasetError(["p.qds", "measuredStats"]) { _ = try PreparedFormat.decode(data, file: "p.qds") }
            }
            ds = good
        }
        ds.samples[1].dx[1] = .nan
        assertDatasetError(["p.qds", "sample 1, point 1", "non-finite offset"]) {
            _ = try PreparedFormat.decode(try PreparedFormat.encode(ds), file: "p.qds")
        }
        ds = good
        ds.samples[2].dy[2] = -.infinity
        assertDatasetError(["p.qds", "sample 2, point 2", "non-finite"]) {
            _ = try PreparedFormat.decode(try PreparedFormat.encode(ds), file: "p.qds")
        }
        ds = good
        ds.samples[0].originY = .infinity
        assertDatasetError(["p.qds", "sample 0 has origin"]) {
            _ = try PreparedFormat.decode(try PreparedFormat.encode(ds), file: "p.qds")
        }
        ds = good
        ds.samples[0].eos[1] = 2
        assertDatasetError(["p.qds", "sample 0, point 1", "end-of-stroke byte 2"]) {
            _ = try PreparedFormat.decode(try PreparedFormat.encode(ds), file: "p.qds")
        }
        ds = good
        ds.samples[1] = PreparedSample(id: "e", writer: nil, text: nil, characters: [], split: .train,
                                       originX: 0, originY: 0, dx: [], dy: [], eos: [])
        assertDatasetError(["p.qds", "sample 1 has no points"]) {
            _ = try PreparedFormat.decode(try PreparedFormat.encode(ds), file: "p.qds")
        }
    }

    func testRandomHeaderFieldsNeverCrash() throws {
        let good = try makeData()
        var rng = JSONStrictnessTests.Rng(state: 7)
        for _ in 0..<2000 {
            var d = good
            let offset = 8 + 4 * rng.below(14)  // any 32-bit word of the fixed header after the magic
            let value = UInt32(truncatingIfNeeded: rng.next() >> UInt64(rng.below(33)))
            withUnsafeBytes(of: value.littleEndian) { d.replaceSubrange(offset..<(offset + 4), with: $0) }
            do { _ = try PreparedFormat.decode(d, file: "p.qds") } catch is DatasetError {}
        }
    }

    // MARK: - Other entry points

    func testNonFiniteTimesAreRefusedInIAMXML() throws {
        let dir = try TempDir()
        let xml = "<WhiteboardCaptureSession><StrokeSet><Stroke><Point x=\"1\" y=\"2\" time=\"nan\"/>"
            + "<Point x=\"2\" y=\"3\" time=\"1\"/></Stroke></StrokeSet></WhiteboardCaptureSession>"
        try dir.write("a01-000u-01.xml", xml)
        try dir.write("a01-000u.txt", "CSR:\nhello\n")
        assertDatasetError(["a01-000u-01.xml", "time=nan, not a decimal number"]) { _ = try Importer.load(.iamXML, inputs: [dir.path]) }
    }

    func testWrapWidthIsCheckedNotTrapped() {
        XCTAssertThrowsError(try TextPreparation.prepare("abc", wrap: 0, alphabet: Alphabet(text: "abc"))) { error in
            XCTAssertTrue("\(error)".contains("--wrap"))
        }
    }
}
