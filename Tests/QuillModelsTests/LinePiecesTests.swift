import Foundation
import QuillData
import QuillModels
import QuillNumerics
import XCTest

/// Long lines written in pieces (`LinePieces`, `PageWriter.pieceCharacters`): where a line is cut, how the pieces'
/// ink is joined, and pages written that way with the bundled model.
final class LinePiecesTests: XCTestCase {
    func texts(_ pieces: [(text: String, start: Int)]) -> [String] { pieces.map(\.text) }

    func testShortLinesStayWhole() {
        let line = "Let us see how it fits in with the sequel."
        XCTAssertEqual(texts(LinePieces.split(line, maxCharacters: 50)), [line])
        XCTAssertEqual(texts(LinePieces.split(line, maxCharacters: 42)), [line])
        XCTAssertEqual(texts(LinePieces.split(line, maxCharacters: 0)), [line], "0 writes every line whole")
        XCTAssertEqual(texts(LinePieces.split("", maxCharacters: 10)), [""])
        XCTAssertEqual(texts(LinePieces.split("Brackenstallsworthington", maxCharacters: 10)),
                       ["Brackenstallsworthington"], "no space to cut at")
    }

    /// A 60-character line in two pieces of about 30, cut at the space nearest the middle; the pieces and their
    /// starts give the line back.
    func testLongLinesAreCutEvenlyAtSpaces() {
        let line = "\"The surgeon, Dr. Somerton, was a fast, sporting young chap,"
        let pieces = LinePieces.split(line, maxCharacters: 50)
        XCTAssertEqual(texts(pieces), ["\"The surgeon, Dr. Somerton, was", "a fast, sporting young chap,"])
        let scalars = Array(line.unicodeScalars)
        for p in pieces {
            XCTAssertEqual(String(String.UnicodeScalarView(scalars[p.start..<(p.start + p.text.unicodeScalars.count)])), p.text)
            XCTAssertLessThanOrEqual(p.text.unicodeScalars.count, 50)
        }
        XCTAssertEqual(texts(pieces).joined(separator: " "), line)
        // Three pieces when two cannot be short enough; every piece within the limit.
        let three = LinePieces.split(line, maxCharacters: 25)
        XCTAssertEqual(three.count, 3)
        XCTAssertTrue(three.allSatisfy { $0.text.unicodeScalars.count <= 25 })
        XCTAssertEqual(texts(three).joined(separator: " "), line)
    }

    /// Runs of spaces are never a cut (no piece begins or ends with a space), scalars are counted (not graphemes),
    /// and a word longer than the limit stays whole in a piece of its own length.
    func testCutsKeepWordsWhole() {
        let spaced = "alpha  beta gamma delta"
        for p in LinePieces.split(spaced, maxCharacters: 12) {
            XCTAssertFalse(p.text.hasPrefix(" ") || p.text.hasSuffix(" "), "\(p.text)")
        }
        let long = LinePieces.split("a extraordinarily b", maxCharacters: 6)
        XCTAssertEqual(texts(long).joined(separator: " "), "a extraordinarily b")
        XCTAssertTrue(texts(long).contains { $0.contains("extraordinarily") })
        let accents = LinePieces.split("caf\u{E9} na\u{EF}ve r\u{E9}sum\u{E9}", maxCharacters: 10)
        XCTAssertEqual(texts(accents).joined(separator: " "), "caf\u{E9} na\u{EF}ve r\u{E9}sum\u{E9}")
    }

    /// A piece of `words` words of 3 loops each (radius 3, one loop per 10 units, words 16 units apart), tilted by
    /// `slope` and moved by (dx, dy).
    func words(_ words: Int, slope: Double, dx: Double, dy: Double, size: Double = 1) -> HandwritingSample {
        var strokes: [Stroke] = []
        var x0 = 0.0
        for _ in 0..<words {
            for k in 0..<3 {
                strokes.append((0..<8).map { i in
                    let x = x0 + Double(k) * 10 + 3 * cos(Double(i) * .pi / 4), y = 3 * sin(Double(i) * .pi / 4)
                    return Point(x: x * size + dx, y: (y + slope * x) * size + dy)
                })
            }
            x0 += 20 + 16
        }
        return HandwritingSample(id: "piece", strokes: strokes)
    }

    /// Joined pieces share one level midline, keep their sizes, and sit one word gap apart, the gap measured
    /// between the words of the pieces themselves.
    func testJoinedPiecesShareTheMidlineAndTheWordGap() {
        let a = words(3, slope: 0.05, dx: 0, dy: 0), b = words(2, slope: -0.04, dx: 500, dy: 40)
        let joined = LinePieces.joined([a, b], texts: ["ooo ooo ooo", "ooo ooo"])
        XCTAssertEqual(joined.pointCount, a.pointCount + b.pointCount)
        XCTAssertEqual(joined.strokeCount, a.strokeCount + b.strokeCount, "the pen lifts between pieces")
        XCTAssertLessThan(abs(StrokeGeometry.slopeDegrees(joined)), 0.5)
        let first = HandwritingSample(id: "a", x: Array(joined.x[..<a.pointCount]), y: Array(joined.y[..<a.pointCount]),
                                      strokeEnds: [a.pointCount])
        let second = HandwritingSample(id: "b", x: Array(joined.x[a.pointCount...]), y: Array(joined.y[a.pointCount...]),
                                       strokeEnds: [b.pointCount])
        XCTAssertEqual(StrokeGeometry.midline(first), StrokeGeometry.midline(second), accuracy: 0.2)
        XCTAssertEqual(StrokeGeometry.letterHeight(second) / StrokeGeometry.letterHeight(first), 1, accuracy: 0.05)
        // Words 16 apart less the loops' reach: the gap between the first piece's ink and the second's is the same.
        let gap = second.x.min()! - first.x.max()!
        let wordGap = 36 - 20 - 6.0
        XCTAssertEqual(gap, wordGap, accuracy: 0.5)
        // One word in each piece: no gap to measure, one x-height (letter height of small letters) instead.
        let single = LinePieces.joined([words(1, slope: 0, dx: 0, dy: 0), words(1, slope: 0, dx: 0, dy: 0)],
                                       texts: ["ooo", "ooo"])
        let h = StrokeGeometry.letterHeight(words(1, slope: 0, dx: 0, dy: 0))
        XCTAssertEqual(single.x[24...].min()! - single.x[..<24].max()!, h, accuracy: 1e-9)
        XCTAssertEqual(LinePieces.joined([], texts: []).pointCount, 0)
        // A piece written 10% larger is brought to the first one's x-height; one twice as large by 1.25 at most.
        func ratio(_ size: Double) -> Double {
            let big = words(2, slope: 0, dx: 300, dy: 0, size: size)
            let j = LinePieces.joined([a, big], texts: ["ooo ooo ooo", "ooo ooo"])
            let tail = HandwritingSample(id: "b", x: Array(j.x[a.pointCount...]), y: Array(j.y[a.pointCount...]),
                                         strokeEnds: [big.pointCount])
            return StrokeGeometry.letterHeight(tail) / StrokeGeometry.letterHeight(first)
        }
        XCTAssertEqual(ratio(1.1), 1, accuracy: 0.02)
        XCTAssertEqual(ratio(2), 2 / 1.25, accuracy: 0.05)
        // Capitals are two x-heights tall: a piece in capitals measured only 1.2× the first piece's small letters is
        // taken as written small and scaled up, by the bound (1.2 × 1.25).
        let caps = LinePieces.joined([a, words(2, slope: 0, dx: 300, dy: 0, size: 1.2)], texts: ["ooo ooo ooo", "OOO OOO"])
        let capsTail = HandwritingSample(id: "c", x: Array(caps.x[a.pointCount...]), y: Array(caps.y[a.pointCount...]),
                                         strokeEnds: [b.pointCount])
        XCTAssertEqual(StrokeGeometry.letterHeight(capsTail) / StrokeGeometry.letterHeight(first), 1.5, accuracy: 0.03)
    }

    /// The joined `GeneratedLine`: offsets that draw the joined ink, focus and φ moved to the pieces' characters in
    /// the whole line, finished only when every piece is.
    func testJoinedLinesMoveFocusAndPhiToTheirCharacters() {
        func piece(_ text: String, finished: Bool) -> GeneratedLine {
            let n = text.unicodeScalars.count
            var g = GeneratedLine(textLength: n)
            for k in 0..<(n + 1) {
                g.dx.append(k == 0 ? 0 : 4); g.dy.append(k % 2 == 0 ? 1 : -1); g.eos.append(k == n)
                g.focus.append(k)
                // Two prime columns, then the piece's characters.
                g.phi.append([0.5, 0.5] + (0..<n).map { $0 == k ? 1 : 0 })
                g.pi.append([1])
            }
            g.finished = finished
            return g
        }
        let line = "ab cde"
        let a = piece("ab", finished: true), b = piece("cde", finished: true)
        let joined = LinePieces.joined([(a, "ab", 0), (b, "cde", 3)], lineLength: 6)
        XCTAssertEqual(joined.textLength, 6)
        XCTAssertTrue(joined.finished)
        XCTAssertEqual(joined.dx.count, a.dx.count + b.dx.count)
        XCTAssertEqual(joined.focus, [0, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(joined.phi.count, 7)
        XCTAssertTrue(joined.phi.allSatisfy { $0.count == 2 + line.unicodeScalars.count })
        XCTAssertEqual(joined.phi[4], [0.5, 0.5, 0, 0, 0, 0, 1, 0], "the second piece's 2nd step is on 'd'")
        XCTAssertEqual(joined.pi.count, 7)
        XCTAssertEqual(joined.inputs, a.inputs)
        XCTAssertEqual(joined.strokes.count, 2)
        XCTAssertFalse(LinePieces.joined([(a, "ab", 0), (piece("cde", finished: false), "cde", 3)], lineLength: 6).finished)
        // One piece: the line itself.
        XCTAssertEqual(LinePieces.joined([(a, "ab", 0)], lineLength: 2).dx, a.dx)
    }

    // MARK: - Pages with the bundled model

    func bundledSampler() throws -> HandwritingSampler {
        let file = PageWritingTests.modelDir.appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: file) else {
            throw XCTSkip("no bundled model in \(PageWritingTests.modelDir.path)")
        }
        let loaded = try HandwritingCheckpoint.load(file, expecting: .synthesis)
        return HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
    }

    /// A short line's pen offsets on a page with pieces against the same page written whole: the same bits where
    /// OpenBLAS computes a product's row independently of the rows beside it (its Haswell and Zen kernels), the
    /// same points to float rounding where its AVX-512 kernels (SkylakeX and later) can round a row differently with
    /// the batch's row count (the page with pieces samples its short line beside other rows; on a Zen 4, 2026-12-06:
    /// 196 offsets, at most 7.5e-5 apart, 2.5e-5 relative), where another draw of the sampler moves points by units.
    func assertWrittenAsBefore(_ pieces: [Double]?, _ whole: [Double]?, file: StaticString = #filePath,
                               line: UInt = #line) throws {
        let a = try XCTUnwrap(pieces, file: file, line: line), w = try XCTUnwrap(whole, file: file, line: line)
        let avx512Kernels = ["skylakex", "cooperlake", "sapphirerapids"].contains(BLASInfo.coreName.lowercased())
        guard avx512Kernels else {
            return XCTAssertEqual(a, w, "a short line is written as before", file: file, line: line)
        }
        XCTAssertEqual(a.count, w.count, "a short line is written as before", file: file, line: line)
        for (x, y) in zip(a, w) {
            XCTAssertEqual(x, y, accuracy: 1e-3 * max(1, abs(y)), "a short line is written as before", file: file,
                           line: line)
        }
    }

    /// Lines no longer than the limit come out as they did before pieces (the same seeds, the same points); a long
    /// line is written in pieces, finished and level, the same for the same seed, and differs from the line
    /// written whole.
    func testPagesWithLongLines() throws {
        let sampler = try bundledSampler()
        let style = try HandwritingStyle.load(name: HandwritingStyle.defaultName, model: PageWritingTests.modelDir.path)
        let long = "and the other young officers would meet in his rooms of an"
        let lines: [String?] = ["It was a cold night.", nil, long]
        var whole = PageWriter(sampler: sampler, options: WriteOptions(bias: 1))
        whole.pieceCharacters = 0
        var pieces = PageWriter(sampler: sampler, options: WriteOptions(bias: 1))
        pieces.pieceCharacters = 30
        for prime in [nil, style.prime] {
            var reports: [(Int, Int)] = []
            var counted = pieces
            counted.progress = { reports.append(($0, $1)) }
            let a = try counted.write(lines, seed: 3, prime: prime), w = try whole.write(lines, seed: 3, prime: prime)
            // Progress counts the page's lines (2), not its pieces, and ends at all of them.
            XCTAssertTrue(reports.allSatisfy { $0.1 == 2 && $0.0 <= 2 })
            XCTAssertEqual(reports.last?.0, 2)
            XCTAssertEqual(reports.map(\.0), reports.map(\.0).sorted())
            try assertWrittenAsBefore(a.generated[0]?.dx, w.generated[0]?.dx)
            XCTAssertNil(a.lines[1])
            let g = try XCTUnwrap(a.generated[2])
            XCTAssertTrue(g.finished)
            XCTAssertEqual(g.textLength, long.unicodeScalars.count)
            XCTAssertEqual(g.focus.last, long.unicodeScalars.count)
            XCTAssertNotEqual(g.dx, w.generated[2]?.dx)
            let ink = try XCTUnwrap(a.lines[2])
            XCTAssertLessThan(abs(StrokeGeometry.slopeDegrees(ink)), 1)
            XCTAssertEqual(try pieces.write(lines, seed: 3, prime: prime).lines, a.lines, "same seed, same page")
            XCTAssertNotEqual(try pieces.write(lines, seed: 4, prime: prime).lines, a.lines)
            XCTAssertTrue(a.resampled.allSatisfy { $0.line == 0 || $0.line == 2 })
        }
    }

    /// Pieces are checked and written again one by one, and each is reported with its place in the line.
    func testBrokenPiecesAreReportedByPiece() throws {
        var writer = PageWriter(sampler: try bundledSampler(), options: WriteOptions(bias: 1))
        writer.pieceCharacters = 30
        writer.maxTries = 2
        writer.check.maxDwell = 0  // every piece "stalls": all are written again
        let long = "and the other young officers would meet in his rooms of an"
        let page = try writer.write(["short line", long], seed: 1)
        XCTAssertEqual(page.resampled.map(\.line), [0, 1, 1])
        XCTAssertEqual(page.resampled.map(\.piece), [0, 0, 1])
        XCTAssertEqual(page.resampled.map(\.pieceCount), [1, 2, 2])
        XCTAssertTrue(page.resampled.allSatisfy { $0.tries == 2 && !$0.remaining.isEmpty })
    }
}
