import Foundation
import QuillNumerics
import XCTest
@testable import QuillData

/// The Hershey font reader and the synthetic lines made from it: glyph geometry, stroke structure, and offsets with
/// the statistics of the lines they imitate.
final class SyntheticLinesTests: XCTestCase {
    /// A `hersheytext.json` of one font, "test": every character a caret (one stroke from the baseline y = 22 up to
    /// x-height 13 and down, 8 wide), except X (two crossing strokes), `.` (a dot) and `l` (a tall caret).
    static func fontJSON(id: String = "test", override: [Character: String] = [:]) -> Data {
        let paths: [Character: String] = ["X": "M0,13 L8,22 M8,13 L0,22", ".": "M1,21 L1,22", "l": "M0,22 L3,1 6,22"]
            .merging(override) { $1 }
        let chars = (33...126).map { code -> [String: Any] in
            let c = Character(Unicode.Scalar(UInt8(code)))
            return ["d": paths[c] ?? "M0,22 L4,13 8,22", "o": 4]
        }
        return try! JSONSerialization.data(withJSONObject: [id: ["name": "Test", "chars": chars]])
    }

    static func font() throws -> HersheyFont { try HersheyFont.parse(fontJSON(), font: "test", file: "t.json") }

    func testGlyphsHaveTheirStrokesBoundsAndAdvance() throws {
        let f = try Self.font()
        XCTAssertEqual(f.glyphs.count, 94)
        XCTAssertNil(f.glyphs[" "])
        let x = try XCTUnwrap(f.glyphs["X"])
        XCTAssertEqual(x.strokes, [[Point(0, 13), Point(8, 22)], [Point(8, 13), Point(0, 22)]])
        XCTAssertEqual(x.bounds.minX, 0); XCTAssertEqual(x.bounds.maxX, 8)
        XCTAssertEqual(x.bounds.minY, 13); XCTAssertEqual(x.bounds.maxY, 22)
        XCTAssertEqual(x.advance, 8)
        XCTAssertEqual(f.glyphs["l"]?.bounds.minY, 1)
        XCTAssertEqual(f.glyphs["."]?.strokes.count, 1)
        XCTAssertEqual(f.glyphs["!"]?.strokes, [[Point(0, 22), Point(4, 13), Point(8, 22)]])
    }

    func testBadFontFilesAreRefusedWithTheReason() throws {
        XCTAssertThrowsError(try HersheyFont.parse(Self.fontJSON(), font: "scripts", file: "t.json")) {
            XCTAssertEqual("\($0)", "t.json: no font 'scripts'; it has test")
        }
        XCTAssertThrowsError(try HersheyFont.parse(Data("[1]".utf8), font: "test", file: "t.json")) {
            XCTAssertTrue("\($0)".contains("not a Hershey font file"), "\($0)")
        }
        for bad in ["M0,1 L2", "L0,1 2,3", "M0,1e9", "M0,nan", "Q0,1"] {
            XCTAssertThrowsError(try HersheyFont.parse(Self.fontJSON(override: ["a": bad]), font: "test", file: "t.json"),
                                 bad) { XCTAssertTrue("\($0)".contains("glyph 65"), "\(bad): \($0)") }
        }
        XCTAssertThrowsError(try HersheyFont.load(path: "/nonexistent/h.json", font: "test")) {
            guard case DatasetError.io("/nonexistent/h.json", _)? = $0 as? DatasetError else { return XCTFail("\($0)") }
        }
    }

    func testTheMixWritesInTheFontsAskedFor() throws {
        let dir = try TempDir()
        let fontFile = try dir.write("h.json", Self.fontJSON(id: "futural"))
        var imported = ImportResult(samples: [Self.realLine()])
        try SyntheticMix(fontFile: fontFile, lines: 3, mixedLines: 2, seed: 2, fonts: ["futural"]).apply(to: &imported)
        XCTAssertEqual(imported.samples.count, 6)
        XCTAssertEqual(imported.samples.filter { $0.writer == "hershey-futural" }.count, 3)
        XCTAssertEqual(imported.notes.filter { $0.contains("Hershey fonts futural ") }.count, 2, "\(imported.notes)")
        var again = ImportResult(samples: [Self.realLine()])
        XCTAssertThrowsError(try SyntheticMix(fontFile: fontFile, lines: 3, fonts: ["scripts"]).apply(to: &again)) {
            XCTAssertEqual("\($0)", "\(fontFile): no font 'scripts'; it has futural")
        }
        // Not a single-stroke Latin font, even when the file has it.
        let kana = try dir.write("k.json", Self.fontJSON(id: "japanese"))
        XCTAssertThrowsError(try SyntheticMix(fontFile: kana, lines: 3, fonts: ["japanese"]).apply(to: &again)) {
            XCTAssertTrue("\($0)".contains("'japanese' is not a single-stroke Latin font"), "\($0)")
        }
        // A font that lacks glyphs, or draws a letter as a dot, can't write the texts it would be labelled with.
        for (override, shown) in [(["Q": ""], "(Q)"), (["b": "M1,21 L1,22"], "(b)")] as [([Character: String], String)] {
            let cut = try dir.write("c.json", Self.fontJSON(id: "futural", override: override))
            XCTAssertThrowsError(try SyntheticMix(fontFile: cut, lines: 3, fonts: ["futural"]).apply(to: &again)) {
                XCTAssertEqual("\($0)", "\(cut): font 'futural' has no usable glyph for 1 of the printable ASCII characters \(shown)")
            }
        }
        XCTAssertEqual(again.samples.count, 1, "nothing added")
    }

    func testResamplingSpacesPointsAlongTheStroke() {
        let s: Stroke = [Point(0, 0), Point(10, 0), Point(10, 5)]
        let r = SyntheticLines.resample(s, spacing: 2)
        XCTAssertEqual(r.first, Point(0, 0))
        XCTAssertEqual(r.last, Point(10, 5))
        XCTAssertEqual(r.count, 9)  // 0, 2, …, 14 along the path, then the end
        for (a, b) in zip(r, r.dropFirst()) { XCTAssertLessThanOrEqual(hypot(b.x - a.x, b.y - a.y), 2 + 1e-9) }
        XCTAssertEqual(r[5].x, 10, accuracy: 1e-12); XCTAssertEqual(r[5].y, 0, accuracy: 1e-12)
        XCTAssertEqual(SyntheticLines.resample([Point(1, 1)], spacing: 2), [Point(1, 1)])
    }

    func testALineHasTheGlyphsStrokesAndTheTargetsStatistics() throws {
        let f = try Self.font()
        let target = SyntheticLines.Target(letterHeight: 120, pointSpacing: 9)
        var rng = SeededGenerator(seed: 7)
        // Carets meet end to start (8,22) → (0,22) and join into one stroke; X's strokes and the dot stand apart.
        let strokes = SyntheticLines.line("aaa X. aa", font: f, target: target, rng: &rng)
        XCTAssertEqual(strokes.count, 1 + 2 + 1 + 1, "aaa joined, X's two strokes, the dot, aa joined")
        let sample = HandwritingSample(id: "s", strokes: strokes)
        XCTAssertTrue(sample.x.allSatisfy(\.isFinite) && sample.y.allSatisfy(\.isFinite))
        let measured = try XCTUnwrap(SyntheticLines.Target.measure([sample]).first)
        XCTAssertEqual(measured.letterHeight, 120, accuracy: 120 * 0.15)
        XCTAssertEqual(measured.pointSpacing, 9 * SyntheticLines.spacingFactor, accuracy: 9 * 0.25)
        // The same seed gives the same line.
        var again = SeededGenerator(seed: 7)
        XCTAssertEqual(SyntheticLines.line("aaa X. aa", font: f, target: target, rng: &again), strokes)
    }

    func testOffsetsFollowTheRealLinesStatisticsOverManyLines() throws {
        let f = try Self.font()
        var rng = SeededGenerator(seed: 3)
        let targets = [SyntheticLines.Target(letterHeight: 80, pointSpacing: 6),
                       SyntheticLines.Target(letterHeight: 140, pointSpacing: 12)]
        var heights = [Double](), spacings = [Double]()
        for i in 0..<40 {
            let t = targets[i % 2]
            let s = HandwritingSample(id: "\(i)", strokes: SyntheticLines.line("quick brown fox 42", font: f, target: t, rng: &rng))
            let m = try XCTUnwrap(SyntheticLines.Target.measure([s]).first)
            heights.append(m.letterHeight / t.letterHeight)
            spacings.append(m.pointSpacing / t.pointSpacing)
        }
        let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
        XCTAssertEqual(mean(heights), 1, accuracy: 0.1)
        XCTAssertEqual(mean(spacings), SyntheticLines.spacingFactor, accuracy: 0.15)
        // Jitter varies the lines: not every line the same size.
        XCTAssertGreaterThan(heights.max()! - heights.min()!, 0.01)
    }

    func testSyntheticTextsCoverWhatIAMLacks() {
        let lines = SyntheticText.lines(count: 600, words: ["house", "river", "Table", "quiet"], seed: 1)
        XCTAssertEqual(lines, SyntheticText.lines(count: 600, words: ["house", "river", "Table", "quiet"], seed: 1))
        for l in lines { XCTAssertTrue((1...60).contains(l.count), l) }
        let all = Set(lines.joined())
        for c in "0123456789XZ.,;:!?'\"-()/&+@=#%[]" { XCTAssertTrue(all.contains(c), "no \(c)") }
        XCTAssertTrue(lines.contains { $0.contains("HOUSE") || $0.contains("RIVER") || $0.contains("TABLE") || $0.contains("QUIET") })
    }

    func testAllCapsShareSetsTheShareOfAllCapsPhrases() throws {
        let words = ["house", "river", "Table", "quiet"]
        let usual = SyntheticText.lines(count: 600, words: words, seed: 1)
        XCTAssertEqual(SyntheticText.lines(count: 600, words: words, seed: 1, allCapsShare: nil), usual,
                       "no share: the usual mix, drawn exactly as before")
        func allCapsTokens(_ lines: [String]) -> [String] {
            lines.flatMap { $0.split(separator: " ") }.map { String($0).trimmingCharacters(in: .punctuationCharacters) }
                .filter { $0.count >= 2 && $0.allSatisfy { $0.isUppercase } }
        }
        let half = SyntheticText.lines(count: 600, words: words, seed: 1, allCapsShare: 0.5)
        XCTAssertGreaterThan(allCapsTokens(half).count, 3 * allCapsTokens(usual).count)
        // Every phrase all-caps: digits and symbols come only from the other phrases, so none is left.
        let all = SyntheticText.lines(count: 600, words: words, seed: 1, allCapsShare: 1)
        XCTAssertFalse(all.joined().contains { $0.isNumber || "&@=+%#[]/".contains($0) })
        XCTAssertTrue(usual.joined().contains { $0.isNumber })
        let tokens = Set(allCapsTokens(all))
        let upper = Set(words.map { $0.uppercased() })
        let initialisms = tokens.subtracting(upper)
        XCTAssertFalse(initialisms.isEmpty, "no initialism among \(tokens)")
        XCTAssertTrue(initialisms.allSatisfy { (2...4).contains($0.count) }, "\(initialisms)")
        XCTAssertTrue(tokens.isSuperset(of: upper))
        for l in all { XCTAssertTrue((1...60).contains(l.count), l) }

        let dir = try TempDir()
        let fontFile = try dir.write("h.json", Self.fontJSON(id: "scripts"))
        for bad in [-0.1, 1.5, Double.nan] {
            var imported = ImportResult(samples: [])
            XCTAssertThrowsError(try SyntheticMix(fontFile: fontFile, lines: 3, fonts: ["scripts"], allCapsShare: bad)
                .apply(to: &imported)) { XCTAssertTrue("\($0)".contains("all-caps share"), "\($0)") }
        }
    }

    func testSpeechShareSetsTheShareOfQuotedSpeech() throws {
        let words = ["house", "river", "Table", "quiet"]
        let usual = SyntheticText.lines(count: 600, words: words, seed: 1)
        XCTAssertEqual(SyntheticText.lines(count: 600, words: words, seed: 1, allCapsShare: nil, speechShare: nil), usual,
                       "no shares: the usual mix, drawn exactly as before")
        XCTAssertEqual(SyntheticText.lines(count: 600, words: words, seed: 1, allCapsShare: 0.4, speechShare: nil),
                       SyntheticText.lines(count: 600, words: words, seed: 1, allCapsShare: 0.4),
                       "an all-caps import without --speech-share draws as before the option")
        func count(_ lines: [String], _ p: (Character) -> Bool) -> Int { lines.joined().filter(p).count }
        func capitalWs(_ lines: [String]) -> Int {
            lines.flatMap { $0.split(separator: " ") }.filter { $0.drop { "\"'".contains($0) }.first == "W" }.count
        }
        let half = SyntheticText.lines(count: 600, words: words, seed: 1, speechShare: 0.5)
        XCTAssertGreaterThan(count(half) { $0 == "'" }, 3 * count(usual) { $0 == "'" })
        XCTAssertGreaterThan(count(half) { $0 == "\"" }, 2 * count(usual) { $0 == "\"" })
        XCTAssertGreaterThan(capitalWs(half), 50, "speech opens with a capital W half the time")
        XCTAssertEqual(capitalWs(usual), 0, "the test's words have no W")
        // Every phrase speech: no digits or symbols of the usual mix, and some quotes inside quotes.
        let all = SyntheticText.lines(count: 600, words: words, seed: 1, speechShare: 1)
        XCTAssertFalse(all.joined().contains { $0.isNumber || "&@=+%#[]/".contains($0) })
        XCTAssertTrue(all.contains { $0.contains("\"'") || $0.contains("'\"") }, "quotes inside quotes")
        for l in all { XCTAssertTrue((1...60).contains(l.count), l) }
        // Both shares: all-caps first, speech next, the rest the usual mix.
        let both = SyntheticText.lines(count: 600, words: words, seed: 1, allCapsShare: 0.5, speechShare: 0.5)
        XCTAssertFalse(both.joined().contains { $0.isNumber })
        XCTAssertGreaterThan(capitalWs(both), 20)

        let dir = try TempDir()
        let fontFile = try dir.write("h.json", Self.fontJSON(id: "scripts"))
        for (caps, speech) in [(nil, -0.1), (nil, 1.5), (nil, Double.nan), (0.6, 0.5)] as [(Double?, Double)] {
            var imported = ImportResult(samples: [])
            XCTAssertThrowsError(try SyntheticMix(fontFile: fontFile, lines: 3, fonts: ["scripts"], allCapsShare: caps,
                                                  speechShare: speech).apply(to: &imported)) {
                XCTAssertTrue("\($0)".contains("speech share"), "\($0)")
            }
        }
    }

    func testTheMixAddsTrainingLinesAndReadsIAMsHashAsUnknown() throws {
        let dir = try TempDir()
        let fontFile = try dir.write("h.json", Self.fontJSON(id: "scripts"))
        func real(_ id: String, _ text: String, _ split: DataSplit?) -> HandwritingSample {
            var s = HandwritingSample(id: id, strokes: [(0..<30).map { Point(Double($0) * 4, Double($0 % 5) * 10) }], text: text)
            s.split = split
            return s
        }
        var imported = ImportResult(samples: [real("a", "the # house", .train), real("b", "a river", .validation)])
        let mix = SyntheticMix(fontFile: fontFile, lines: 25, seed: 2, fonts: ["scripts"])
        try mix.apply(to: &imported)
        XCTAssertEqual(imported.samples.count, 27)
        XCTAssertEqual(imported.samples[0].text, "the \u{FFFD} house")
        XCTAssertEqual(imported.samples[1].split, .validation)
        let synthetic = imported.samples.dropFirst(2)
        XCTAssertTrue(synthetic.allSatisfy { $0.split == .train && $0.writer == "hershey-scripts" && $0.pointCount > 0 })
        XCTAssertTrue(synthetic.allSatisfy { try! $0.validate(); return true })
        let dataset = try Preparer.prepare(imported, format: .iamJSONL, options: PreprocessOptions())
        XCTAssertEqual(dataset.samples(in: .validation).map(\.id), ["b"])
        XCTAssertEqual(dataset.samples[0].characters[4], Alphabet.unknownIndex, "IAM's # is the unknown symbol")

        // Without a source split there is no training split to add to.
        var unsplit = ImportResult(samples: [real("a", "the house", nil)])
        XCTAssertThrowsError(try mix.apply(to: &unsplit)) { XCTAssertTrue("\($0)".contains("training split"), "\($0)") }
    }

    /// A real-looking line: `words` words of zig-zag strokes between the baseline (y = 0) and the x-height
    /// (y = −10), y down, starting at x = 100, rising by `slope` per unit of x.
    static func realLine(words: Int = 4, slope: Double = 0, text: String = "some real words here") -> HandwritingSample {
        var strokes = [Stroke]()
        for w in 0..<words {
            let x0 = 100 + Double(w) * 60
            strokes.append((0..<100).map { i in
                let x = x0 + 0.4 * Double(i)
                return Point(x, (i % 20 < 10 ? -Double(i % 10) : -10 + Double(i % 10)) + slope * x)
            })
        }
        var s = HandwritingSample(id: "r01", strokes: strokes, text: text)
        s.split = .train
        s.writer = "w1"
        return s
    }

    func testMixedLinesSetPhrasesAroundTheRealLineOnItsMidlineAtItsSize() throws {
        let font = try Self.font()
        for slope in [0.0, -0.05] {
            let real = Self.realLine(slope: slope)
            var rng = SeededGenerator(seed: 3)
            let mixed = try XCTUnwrap(MixedLines.line(real, before: "12", after: "3.4", font: font, rng: &rng))
            XCTAssertEqual(mixed.text, "12 some real words here 3.4")
            // The real strokes are kept as they are, between the phrases.
            let n = real.strokes.count
            let start = try XCTUnwrap((0...(mixed.strokes.count - n)).first { Array(mixed.strokes[$0..<($0 + n)]) == real.strokes })
            let before = HandwritingSample(id: "", strokes: Array(mixed.strokes[..<start]))
            let after = HandwritingSample(id: "", strokes: Array(mixed.strokes[(start + n)...]))
            XCTAssertGreaterThan(before.pointCount, 0); XCTAssertGreaterThan(after.pointCount, 0)
            let target = try XCTUnwrap(SyntheticLines.Target.measure([real]).first)
            let h = target.letterHeight
            // One word gap (one letter height) from the real line, within the sensor noise and resampling.
            let realMin = try XCTUnwrap(real.x.min()), realMax = try XCTUnwrap(real.x.max())
            XCTAssertEqual(realMin - (before.x.max() ?? 0), MixedLines.gap * h, accuracy: 0.15 * h)
            XCTAssertEqual((after.x.min() ?? 0) - realMax, MixedLines.gap * h, accuracy: 0.15 * h)
            // On the real line's midline where each phrase stands (the line rises with the slope).
            let fit = StrokeGeometry.fittedLine(real)
            XCTAssertEqual(fit.slope, slope, accuracy: 0.01)
            let residuals = (0..<real.pointCount).map { real.y[$0] - fit.intercept - fit.slope * real.x[$0] }.sorted()
            for phrase in [before, after] {
                let xMid = ((phrase.x.min() ?? 0) + (phrase.x.max() ?? 0)) / 2
                let expected = fit.intercept + fit.slope * xMid + residuals[residuals.count / 2]
                XCTAssertEqual(StrokeGeometry.band(ofLevel: phrase).midline, expected, accuracy: 0.1 * h, "slope \(slope)")
                // The test font's carets are 9 units tall; the phrase is scaled by the reference text's letter height.
                // (Letter heights as the data measures them, 2 × the interquartile range of y: a caret's is its height.)
                let caret = 9 * h / SyntheticLines.referenceHeight(MixedLines.heightReference, font: font)
                XCTAssertEqual(StrokeGeometry.band(ofLevel: phrase).letterHeight, caret, accuracy: 0.25 * caret, "slope \(slope)")
            }
            // The same seed draws the same line.
            var again = SeededGenerator(seed: 3)
            XCTAssertEqual(MixedLines.line(real, before: "12", after: "3.4", font: font, rng: &again)?.strokes, mixed.strokes)
        }
        // One phrase only; a line without a usable height gives nil.
        var rng = SeededGenerator(seed: 1)
        XCTAssertEqual(MixedLines.line(Self.realLine(), before: nil, after: "Z", font: font, rng: &rng)?.text,
                       "some real words here Z")
        let dot = HandwritingSample(id: "d", strokes: [[Point(0, 0)]], text: "x")
        XCTAssertNil(MixedLines.line(dot, before: "1", after: nil, font: font, rng: &rng))
    }

    func testMixedLinesAreAddedWithoutChangingTheWholeSyntheticLines() throws {
        let dir = try TempDir()
        let fontFile = try dir.write("h.json", Self.fontJSON(id: "scripts"))
        var hash = Self.realLine(text: "the # house")
        hash.id = "r02"
        let base = ImportResult(samples: [Self.realLine(), hash])
        var plain = base, mixed = base
        try SyntheticMix(fontFile: fontFile, lines: 10, seed: 2, fonts: ["scripts"]).apply(to: &plain)
        try SyntheticMix(fontFile: fontFile, lines: 10, mixedLines: 6, seed: 2, fonts: ["scripts"]).apply(to: &mixed)
        let added = mixed.samples.filter { $0.id.hasPrefix("mixed-") }
        XCTAssertEqual(added.count, 6)
        for s in added {
            XCTAssertEqual(s.split, .train); XCTAssertEqual(s.writer, "w1")
            XCTAssertTrue(s.id.hasSuffix("-r01"), "lines with the unknown symbol are not used: \(s.id)")
            XCTAssertTrue((s.text ?? "").contains("some real words here"), s.text ?? "")
            XCTAssertNoThrow(try s.validate())
        }
        XCTAssertEqual(mixed.samples.filter { $0.id.hasPrefix("hershey-") }, plain.samples.filter { $0.id.hasPrefix("hershey-") },
                       "the whole synthetic lines do not depend on --mixed-lines")
        XCTAssertTrue(mixed.notes.contains { $0.hasPrefix("added 6 real training lines") }, "\(mixed.notes)")
        XCTAssertTrue(mixed.notes.contains { $0.hasPrefix("added 10 synthetic lines") }, "\(mixed.notes)")
        // Mixed lines alone.
        var only = base
        try SyntheticMix(fontFile: fontFile, lines: 0, mixedLines: 2, seed: 2, fonts: ["scripts"]).apply(to: &only)
        XCTAssertEqual(only.samples.count, 4)

        // A line that can't be measured (one point) is never picked, so all the lines asked for are added.
        var dot = HandwritingSample(id: "dot", strokes: [[Point(0, 0)]], text: "a dot")
        dot.split = .train
        var withDot = ImportResult(samples: [dot, Self.realLine()])
        try SyntheticMix(fontFile: fontFile, lines: 0, mixedLines: 12, seed: 2, fonts: ["scripts"]).apply(to: &withDot)
        XCTAssertEqual(withDot.samples.filter { $0.id.hasSuffix("-r01") }.count, 12)
        // Without a training line to imitate, the message says so.
        var validationOnly = Self.realLine()
        validationOnly.split = .validation
        var none = ImportResult(samples: [validationOnly])
        XCTAssertThrowsError(try SyntheticMix(fontFile: fontFile, lines: 0, mixedLines: 2, fonts: ["scripts"]).apply(to: &none)) {
            XCTAssertTrue("\($0)".contains("mixed lines imitate the training lines, and the training split has none"), "\($0)")
        }
        // A seeded split would deal the added lines into validation: refused before anything is read.
        var seeded = PreprocessOptions()
        seeded.split = .seeded
        XCTAssertThrowsError(try ImportPipeline.run(format: .iamJSONL, inputs: ["/nonexistent.jsonl"], output: "/nonexistent.qds",
                                                    options: seeded, synthetic: SyntheticMix(fontFile: fontFile, lines: 0, mixedLines: 1))) {
            XCTAssertTrue("\($0)".contains("--split seeded"), "\($0)")
        }
    }
}
