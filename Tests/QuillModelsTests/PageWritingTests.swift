import Foundation
import QuillData
import QuillModels
import QuillNumerics
import QuillTestSupport
import XCTest

/// How lines end, how priming starts, one hand per page and broken-line detection, on the bundled synthesis model
/// (models/synthesis, committed with the repository).
final class PageWritingTests: XCTestCase {
    static let modelDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/synthesis")

    func bundledSampler() throws -> HandwritingSampler {
        let file = Self.modelDir.appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: file) else { throw XCTSkip("no bundled model in \(Self.modelDir.path)") }
        let loaded = try HandwritingCheckpoint.load(file, expecting: .synthesis)
        return HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
    }

    /// The x where each stroke starts, and the rightmost x of all ink before it.
    func strokeStarts(_ g: GeneratedLine) -> [(start: Double, inkBefore: Double)] {
        var out = [(Double, Double)](), rightmost = -Double.infinity
        for stroke in g.strokes {
            out.append((stroke[0].x, rightmost))
            rightmost = max(rightmost, stroke.map(\.x).max()!)
        }
        return out
    }

    /// Lines end when their writing ends: every line is finished, its last pen-up comes with the window on its last
    /// character or past it, within the finishing bound, and no stray point follows the last word (a last stroke of
    /// one point may only be a dot placed back over the written letters).
    func testLinesEndAfterTheWindowLeavesTheText() throws {
        let sampler = try bundledSampler()
        let texts = ["Handwriting from any sentence", "the house at night", "a week of rain", "pencil in the dark",
                     "it was quite late."]
        let step = sampler.stats.meanDx
        for seed: UInt64 in 1...3 {
            let options = WriteOptions(bias: 1)
            let lines = sampler.write(texts, options: options, seed: seed)
            for (text, g) in zip(texts, lines) {
                XCTAssertTrue(g.finished, "\(text), seed \(seed): not finished")
                XCTAssertGreaterThanOrEqual(g.focus.last ?? -1, text.count - 1, "\(text), seed \(seed): ended early")
                XCTAssertEqual(g.eos.last, true)
                let pastEnd = g.focus.filter { $0 == text.count }.count
                XCTAssertLessThanOrEqual(pastEnd, options.finishingSteps + 1, "\(text): finishing bound")
                let strokes = g.strokes, starts = strokeStarts(g)
                if strokes.last!.count == 1 {
                    XCTAssertLessThanOrEqual(starts.last!.start, starts.last!.inkBefore + step,
                                             "\(text), seed \(seed): a stray point after the last word")
                }
            }
        }
    }

    /// After a text ending in a full stop, the finishing steps only complete the stroke under way: no stroke starts
    /// once the window has left the text, and the pen stays within `WriteOptions.fullStopReach` letter heights of
    /// where it was then ("died." was written "died.T" and "died.l", and OCR read the T or l as the last word).
    /// The sentences are those of lines that showed it, unprimed and in the bundled model's neat hand; before the
    /// rule, 21 checks here failed.
    func testNothingIsWrittenAfterAFullStop() throws {
        let sampler = try bundledSampler()
        let neat = try HandwritingStyle.load(name: "neat", model: Self.modelDir.path)
        let texts = ["In five minutes he died.", "I talked it over with him.", "It began in a jagged hole.",
                     "Here's a day in advance.", "We saw the lantern inside the room."]
        let reach = WriteOptions.fullStopReach * sampler.typicalLetterHeight
        var finishing = 0
        for seed: UInt64 in [8, 22, 309, 720, 736] {
            for prime in [nil, neat.prime] {
                for (text, g) in zip(texts, sampler.write(texts, options: WriteOptions(bias: 1), seed: seed, prime: prime)) {
                    guard let first = g.focus.firstIndex(of: g.textLength) else { continue }
                    finishing += 1
                    let xs = g.dx.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1) }
                    let ys = g.dy.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1) }
                    for k in first..<g.dx.count {
                        if k > first {
                            XCTAssertFalse(g.eos[k - 1], "\(text), seed \(seed): a stroke starts after the full stop")
                        }
                        let d = ((xs[k] - xs[first]) * (xs[k] - xs[first]) + (ys[k] - ys[first]) * (ys[k] - ys[first])).squareRoot()
                        XCTAssertLessThanOrEqual(d, reach, "\(text), seed \(seed): the pen went on from the dot")
                    }
                }
            }
        }
        XCTAssertGreaterThan(finishing, 0, "no line had finishing steps: the test checks nothing")
    }

    /// A line ending in a dash (a word `--wrap` hyphenated, "and then -") ends with the dash: a flat last stroke.
    /// Before the rule, a letter of a next word was often written after it ("machine-r", "then -1": 14 of 48 lines).
    func testNothingIsWrittenAfterAFinalDash() throws {
        let sampler = try bundledSampler()
        let style = try HandwritingStyle.load(name: "default", model: Self.modelDir.path)
        let texts = ["the machine-", "said superc-", "ok -", "and then -", "x-ray-", "hippopotomo-"]
        let h = sampler.typicalLetterHeight
        for seed: UInt64 in 1...4 {
            for (text, g) in zip(texts, sampler.write(texts, options: WriteOptions(bias: 1), seed: seed, prime: style.prime)) {
                let last = try XCTUnwrap(g.strokeStarts.last, text)
                let y = g.dy.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1) }
                let high = (y[last...].max() ?? 0) - (y[last...].min() ?? 0)
                XCTAssertLessThanOrEqual(high / h, 0.2, "\(text), seed \(seed): the last stroke is not the dash")
                XCTAssertTrue(g.finished, "\(text), seed \(seed)")
            }
        }
    }

    /// After a prime, the first kept stroke starts once the window has left the prime's text (on the space before
    /// the requested text or its first character), and right of the prime's ink: nothing the network does to
    /// finish the prime's last letters is kept.
    func testPrimedLineStartsWithTheRequestedText() throws {
        let sampler = try bundledSampler()
        let first = sampler.write(["bring the books home tonight"], options: WriteOptions(bias: 1), seed: 8)[0]
        let prime = first.prime(text: "bring the books home tonight")
        XCTAssertTrue(sampler.primeIsFinished(prime))
        for seed: UInt64 in 1...3 {
            let lines = sampler.write(["the moon rose", "over the hills"], options: WriteOptions(bias: 1), seed: seed,
                                      prime: prime)
            for g in lines {
                XCTAssertGreaterThanOrEqual(g.focus.first ?? -9, -1, "seed \(seed): the first stroke is the prime's")
                XCTAssertLessThanOrEqual(g.focus.first ?? 9, 1, "seed \(seed): the first letters were lost")
                XCTAssertTrue(g.finished)
            }
        }
        // A prime cut short (its last letters unwritten) is not finished.
        var cut = prime
        cut.rows = Array(prime.rows.prefix(prime.rows.count * 2 / 3))
        XCTAssertFalse(sampler.primeIsFinished(cut))
    }

    /// Every shipped style is finished: its last pen-up comes after the window has left its text.
    /// A prime made from raw offsets gives those strokes back: the start row moves nothing, eos ends a stroke.
    func testPrimeStrokesUndoTheNormalisation() {
        let stats = OffsetStatistics(meanDx: 3, meanDy: -1, stdDx: 20, stdDy: 10)
        let raw = OffsetSequence(originX: 0, originY: 0, dx: [0, 5, 5, 30, 2], dy: [0, 1, -1, 4, 6], eos: [0, 0, 1, 0, 1])
        let strokes = Prime(raw: raw, text: "x", stats: stats, rescale: false).strokes(stats: stats)
        XCTAssertEqual(strokes.count, 2)
        let expected: [[(Double, Double)]] = [[(5, 1), (10, 0)], [(40, 4), (42, 10)]]
        for (s, e) in zip(strokes, expected) {
            XCTAssertEqual(s.count, e.count)
            for (p, q) in zip(s, e) {
                XCTAssertEqual(p.x, q.0, accuracy: 1e-4); XCTAssertEqual(p.y, q.1, accuracy: 1e-4)
            }
        }
    }

    func testShippedStylesAreFinished() throws {
        let sampler = try bundledSampler()
        let names = HandwritingStyle.names(model: Self.modelDir.path)
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let style = try HandwritingStyle.load(name: name, model: Self.modelDir.path)
            XCTAssertTrue(sampler.primeIsFinished(style.prime), "style \(name) is unfinished")
        }
    }

    /// One hand per page: over 5 seeded pages, every line's fitted slope is under 1° and its letter height within
    /// ±10% of the page's median.
    func testOneHandPerPage() throws {
        let sampler = try bundledSampler()
        let text: [String?] = ["It was a cold night in the city.", "The lamps were lit along the street,", nil,
                               "and a cab waited at the door."]
        let style = try HandwritingStyle.load(name: HandwritingStyle.defaultName, model: Self.modelDir.path)
        for (seed, prime): (UInt64, Prime?) in [(1, nil), (2, nil), (3, nil), (4, style.prime), (5, style.prime)] {
            let page = try PageWriter(sampler: sampler, options: WriteOptions(bias: 1)).write(text, seed: seed, prime: prime)
            XCTAssertNil(page.lines[2])
            let lines = page.lines.compactMap { $0 }
            XCTAssertEqual(lines.count, 3)
            let heights = lines.map(StrokeGeometry.letterHeight).sorted()
            let median = heights[heights.count / 2]
            for (i, line) in lines.enumerated() {
                XCTAssertLessThan(abs(StrokeGeometry.slopeDegrees(line)), 1, "seed \(seed), line \(i + 1): slope")
                XCTAssertEqual(StrokeGeometry.letterHeight(line) / median, 1, accuracy: 0.1, "seed \(seed), line \(i + 1)")
            }
        }
    }

    /// A line of `n` loops of `radius` (8 points each, 10 units apart): letters of a known height for the page tests.
    func loops(_ n: Int, radius r: Double = 3) -> GeneratedLine {
        var line = GeneratedLine(textLength: n)
        var x = 0.0, y = 0.0
        for k in 0..<n { for i in 0..<8 {
            let px = Double(k) * 10 + r * cos(Double(i) * .pi / 4), py = r * sin(Double(i) * .pi / 4)
            line.dx.append(px - x); line.dy.append(py - y); line.eos.append(i == 7)
            x = px; y = py
        } }
        return line
    }

    /// The same seed gives the same page; another seed another.
    /// A line in capitals keeps capitals about twice the small letters of the others: the page matches
    /// x-heights (letter height over the text's factor), not the raw letter heights.
    func testALineInCapitalsIsNotShrunk() {
        let generated: [GeneratedLine?] = [loops(12, radius: 3), nil, loops(12, radius: 6), loops(12, radius: 3.3)]
        let texts: [String?] = ["a summer ocean", nil, "AN OCEAN SWIM", "an ocean swim"]
        let page = WrittenPage(generated: generated, texts: texts, resampled: [])
        let h = page.lines.map { $0.map(StrokeGeometry.letterHeight) }
        XCTAssertNil(page.lines[1])
        XCTAssertEqual(h[2]! / h[0]!, 2, accuracy: 0.1)
        XCTAssertEqual(h[3]! / h[0]!, 1, accuracy: 1e-6)
        // Texts of one kind: every line is matched to one letter height.
        let plain = WrittenPage(generated: generated, texts: [String?](repeating: "ocean", count: 4), resampled: [])
        let hp = plain.lines.compactMap { $0.map(StrokeGeometry.letterHeight) }
        XCTAssertEqual(hp[1] / hp[0], 1, accuracy: 1e-6)
        XCTAssertEqual(hp[2] / hp[0], 1, accuracy: 1e-6)
    }

    /// A line of a few letters is scaled like the page's other lines, not by its own letter height: written the
    /// same size as the others, it stays the same size whatever its letters (its factor would make "today." 1.3×
    /// and "Short line." smaller). A page of short lines only is scaled as before.
    func testShortLinesAreScaledLikeThePage() {
        let texts: [String?] = ["an ocean swim at noon", "today.", "Short line.", "an ocean swim at noon"]
        let page = WrittenPage(generated: [loops(16), loops(5), loops(9), loops(18)], texts: texts, resampled: [])
        let h = page.lines.map { StrokeGeometry.letterHeight($0!) }
        for i in 1..<4 { XCTAssertEqual(h[i] / h[0], 1, accuracy: 1e-6, "line \(i + 1)") }
        XCTAssertNotEqual(StrokeGeometry.letterHeightFactor(of: "today."), StrokeGeometry.letterHeightFactor(of: "an ocean swim at noon"))
        // Only short lines: each matched by its factor, as lines of enough letters are.
        let short = WrittenPage(generated: [loops(5), loops(5)], texts: ["today.", "ocean"], resampled: [])
        let hs = short.lines.map { StrokeGeometry.letterHeight($0!) }
        XCTAssertEqual(hs[0] / hs[1], StrokeGeometry.letterHeightFactor(of: "today.") / StrokeGeometry.letterHeightFactor(of: "ocean"),
                       accuracy: 1e-6)
    }

    /// A line without letters or digits ("." or "--") is never measured for the page's letter height: on a page of
    /// lines with letters it is scaled like them; a page of punctuation only keeps its lines as sampled and takes
    /// the model's typical letter height, so the layout does not blow a dot up to a line's height.
    func testPunctuationIsScaledLikeThePageAndNeverMeasured() {
        // A flat dash: its letter height (twice the interquartile range of y) is tiny.
        var dash = GeneratedLine(textLength: 2)
        for i in 0..<8 { dash.dx.append(i == 0 ? 0 : 4); dash.dy.append(i % 2 == 0 ? 0.01 : -0.01); dash.eos.append(i == 7) }
        // Two short lines of letters, the first scaled up to the second's size (2×): the dash gets the median of
        // their scales, 2, and leaves the letter height alone.
        let withLetters = WrittenPage(generated: [loops(3, radius: 3), loops(3, radius: 6), dash],
                                      texts: ["ocean", "ocean", "--"], resampled: [])
        let page = WrittenPage(generated: [loops(3, radius: 3), loops(3, radius: 6)], texts: ["ocean", "ocean"], resampled: [])
        XCTAssertEqual(withLetters.letterHeight, page.letterHeight, accuracy: 1e-9)
        XCTAssertEqual(withLetters.lines[0]!.x.max()!, 2 * (loops(3).sample.x.max()! - loops(3).sample.x.min()!), accuracy: 1e-6)
        XCTAssertEqual(withLetters.lines[2]!.x.max()!, 2 * 28, accuracy: 1e-4, "the dash is scaled like the letters")
        let alone = WrittenPage(generated: [dash], texts: ["--"], resampled: [], typicalLetterHeight: 200)
        XCTAssertEqual(alone.letterHeight, 200)
        XCTAssertEqual(alone.lines[0]!.x.max()!, 28, accuracy: 1e-4, "kept as sampled")
        XCTAssertEqual(WrittenPage(generated: [dash], texts: ["--"], resampled: []).letterHeight, 0)
    }

    /// `quill write "."`: a lone dot is drawn at the size of the model's letters (its page is tens of points wide),
    /// not scaled up until its ink fills the line (a 9,463-pixel-wide PNG before).
    func testALoneDotKeepsTheSizeOfLetters() throws {
        let sampler = try bundledSampler()
        XCTAssertEqual(sampler.typicalLetterHeight, HandwritingSampler.letterHeightPerStdDy * sampler.stats.stdDy)
        let writer = PageWriter(sampler: sampler, options: WriteOptions(bias: 1))
        for seed: UInt64 in 1...3 {
            let page = try writer.write(["."], seed: seed)
            XCTAssertEqual(page.letterHeight, sampler.typicalLetterHeight, "seed \(seed)")
            let ink = page.lines[0]!
            let width = ink.x.max()! - ink.x.min()!, height = ink.y.max()! - ink.y.min()!
            XCTAssertLessThan(max(width, height), page.letterHeight, "seed \(seed): a dot, not a line")
        }
    }

    func testPagesAreDeterministic() throws {
        let sampler = try bundledSampler()
        let writer = PageWriter(sampler: sampler, options: WriteOptions(bias: 1))
        let a = try writer.write(["one line", "and another"], seed: 5), b = try writer.write(["one line", "and another"], seed: 5)
        XCTAssertEqual(a.lines, b.lines)
        XCTAssertNotEqual(a.lines, try writer.write(["one line", "and another"], seed: 6).lines)
    }

    // MARK: - Several tries of a line (`PageWriter.candidates`)

    func testContrastTextShufflesTheLettersAndKeepsTheSpaces() {
        let text = "the house at night"
        let c = TextEvidence.contrast(text)
        XCTAssertNotEqual(c, text)
        XCTAssertEqual(c.count, text.count)
        XCTAssertEqual(c.indices.filter { c[$0] == " " }.map { c.distance(from: c.startIndex, to: $0) },
                       text.indices.filter { text[$0] == " " }.map { text.distance(from: text.startIndex, to: $0) })
        XCTAssertEqual(c.sorted(), text.sorted())
        XCTAssertEqual(TextEvidence.contrast(text), c, "deterministic")
        XCTAssertEqual(TextEvidence.contrast("ab"), "ba")
        XCTAssertEqual(TextEvidence.contrast("aa a"), "aa a")
        XCTAssertEqual(TextEvidence.contrast(""), "")
        XCTAssertEqual(TextEvidence.contrast("café, 1850"), TextEvidence.contrast("café, 1850"))
        XCTAssertEqual(TextEvidence.contrast("café, 1850").unicodeScalars.sorted(), "café, 1850".unicodeScalars.sorted())
    }

    /// The teacher-forced log-likelihood of a line, one step at a time, is what `quill eval` computes for the same
    /// rows over the whole sequence (minus its NLL), does not depend on what is scored beside it, and strokes
    /// written for a text say it: they are likelier under it than under its contrast.
    func testLinesAreLikelierUnderTheirOwnText() throws {
        let sampler = try bundledSampler()
        let texts = ["the house at night", "a week of rain", "pencil in the dark"]
        let lines = sampler.write(texts, options: WriteOptions(bias: 1), seed: 3)
        let together = try XCTUnwrap(sampler.logLikelihoods(lines.map(\.inputs), texts: texts, prime: nil))
        for (i, line) in lines.enumerated() {
            let alone = try XCTUnwrap(sampler.logLikelihoods([line.inputs], texts: [texts[i]], prime: nil))[0]
            XCTAssertEqual(together[i], alone, accuracy: 1e-4 * abs(alone))
            let rows = [OffsetRow.start] + line.inputs
            let sample = PreparedSample(id: "line \(i)", writer: nil, text: texts[i], characters: sampler.encode(texts[i]),
                                        split: .validation, originX: 0, originY: 0, dx: rows.map(\.dx),
                                        dy: rows.map(\.dy), eos: rows.map { $0.eos >= 0.5 ? 1 : 0 })
            let scores = HandwritingEvaluation.evaluate(sampler.model, samples: [sample], batch: 1)
            XCTAssertEqual(scores.points, line.inputs.count)
            XCTAssertEqual(alone, -scores.nats, accuracy: 1e-3 * abs(alone), "line \(i)")
        }
        let evidence = try XCTUnwrap(TextEvidence.scores(lines, texts: texts, prime: nil, sampler: sampler))
        for (i, e) in evidence.enumerated() {
            XCTAssertGreaterThan(e, 10, "line \(i), \(texts[i]): \(e) nats of evidence for its text")
        }
        XCTAssertEqual(TextEvidence.scores([], texts: [], prime: nil, sampler: sampler), [])
        // More lines than one batch takes: each scored, in order (a line with no rows scores 0).
        let many = TextEvidence.linesPerBatch + 2
        let mixed = (0..<many).map { $0 == many - 1 ? lines[0] : GeneratedLine(textLength: 3) }
        let manyScores = try XCTUnwrap(TextEvidence.scores(mixed, texts: (0..<many).map { $0 == many - 1 ? texts[0] : "abc" },
                                                           prime: nil, sampler: sampler))
        XCTAssertEqual(manyScores.count, many)
        XCTAssertEqual(manyScores.dropLast(), ArraySlice(repeating: 0, count: many - 1))
        XCTAssertEqual(manyScores[many - 1], evidence[0], accuracy: 1e-3 * abs(evidence[0]))
        XCTAssertNil(sampler.logLikelihoods(lines.map(\.inputs), texts: texts, prime: nil, shouldStop: { true }))
    }

    /// With several candidates a line is the try with the most evidence for its text among those with the fewest
    /// problems, so never one with less evidence than the line written once (its first try); one candidate writes
    /// the page as before; pages stay deterministic. One-line pages, so that no line is primed.
    func testCandidatesKeepTheTryWithTheMostEvidence() throws {
        let sampler = try bundledSampler()
        var writer = PageWriter(sampler: sampler, options: WriteOptions(bias: 1))
        var changed = 0
        for (i, text) in ["one line", "and another", "the third one"].enumerated() {
            writer.candidates = 1
            let once = try writer.write([text], seed: UInt64(5 + i))
            writer.candidates = 3
            let best = try writer.write([text], seed: UInt64(5 + i))
            XCTAssertEqual(best.lines, try writer.write([text], seed: UInt64(5 + i)).lines, "deterministic")
            let kept = try XCTUnwrap(best.generated[0]), first = try XCTUnwrap(once.generated[0])
            let scores = try XCTUnwrap(TextEvidence.scores([kept, first], texts: [text, text], prime: nil, sampler: sampler))
            if best.resampled.isEmpty && once.resampled.isEmpty {
                XCTAssertGreaterThanOrEqual(scores[0], scores[1] - 1e-3 * abs(scores[1]), text)
                // In the first try's hand: as wide a line for its letter height, within the bounds.
                XCTAssertTrue(writer.candidateWidthRange.contains(
                    PageWriter.widthPerCharacter(kept) / PageWriter.widthPerCharacter(first)), text)
            }
            if kept.inputs != first.inputs { changed += 1 }
        }
        XCTAssertGreaterThan(changed, 0, "three tries of three lines all kept the first")
        // Progress goes on through the tries (reported at every pen step of each): with 3 tries it is told about
        // three times as often as with one, rises and ends at the page's lines.
        func reports(_ n: Int) throws -> [Int] {
            var out: [Int] = []
            writer.candidates = n
            writer.progress = { done, total in XCTAssertEqual(total, 3); out.append(done) }
            _ = try writer.write(["one line", "and another", "the third one"], seed: 5)
            return out
        }
        let one = try reports(1), three = try reports(3)
        for r in [one, three] {
            XCTAssertEqual(r, r.sorted())
            XCTAssertEqual(r.last, 3)
        }
        XCTAssertGreaterThan(three.count, 2 * one.count)
    }

    // MARK: - Broken-line detection

    /// φ rows for a window whose peak visits `path` (one character per step).
    func phi(_ path: [Int], length: Int) -> [[Double]] {
        path.map { p in (0...length).map { u in exp(-Double((u - p) * (u - p))) } }
    }

    func testLineCheckFlagsJumpsBackwardsAndStalls() {
        let check = LineCheck()
        let normal = (0..<20).flatMap { [Int](repeating: $0, count: 11) } + [20, 20]
        XCTAssertEqual(check.problems(focus: LineCheck.focus(phi: phi(normal, length: 20)), textLength: 20,
                                      finished: true, line: nil), [])
        // Jitter of one character at boundaries is normal.
        let jitter = [0, 0, 1, 0, 1, 1, 2, 1, 2, 3, 3, 4, 5, 5, 6, 7, 8, 9, 10, 10]
        XCTAssertEqual(check.problems(focus: jitter, textLength: 10, finished: true, line: nil), [])
        let jump = [0, 0, 1, 1, 2, 9, 9, 10]
        XCTAssertEqual(check.problems(focus: LineCheck.focus(phi: phi(jump, length: 10)), textLength: 10,
                                      finished: true, line: nil), [.windowJump(characters: 7)])
        let back = [0, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        XCTAssertEqual(check.problems(focus: LineCheck.focus(phi: phi(back, length: 10)), textLength: 10,
                                      finished: true, line: nil), [.windowBackwards(characters: 4)])
        let stall = [0, 1, 2] + [Int](repeating: 3, count: 100) + [4, 5]
        XCTAssertEqual(check.problems(focus: stall, textLength: 5, finished: false, line: nil),
                       [.unfinished, .windowStalled(steps: 100)])
        XCTAssertEqual(check.problems(focus: [], textLength: 5, finished: false, line: nil), [.unfinished, .empty])
    }

    func testLineCheckFlagsASkippedLastLetter() {
        let check = LineCheck()
        XCTAssertEqual(LineCheck.lastLetter(of: "the lazy dog."), 11)
        XCTAssertEqual(LineCheck.lastLetter(of: "room 42!"), 6)
        XCTAssertNil(LineCheck.lastLetter(of: "... !?"))
        // "dog": 11 steps on each letter, then past the end; the "g" given only 3 steps is a skipped letter.
        let whole = (0..<3).flatMap { [Int](repeating: $0, count: 11) } + [3, 3, 3]
        XCTAssertEqual(check.problems(focus: whole, textLength: 3, finished: true, lastLetter: 2, line: nil), [])
        let cut = [Int](repeating: 0, count: 11) + [Int](repeating: 1, count: 11) + [2, 2, 2, 3, 3, 3]
        XCTAssertEqual(check.problems(focus: cut, textLength: 3, finished: true, lastLetter: 2, line: nil),
                       [.lastLetterSkipped(steps: 3)])
        // Without the index, or on a line that never finished, the check does not apply.
        XCTAssertEqual(check.problems(focus: cut, textLength: 3, finished: true, line: nil), [])
        XCTAssertEqual(check.problems(focus: Array(cut.prefix(24)), textLength: 3, finished: false, lastLetter: 2,
                                      line: nil), [.unfinished])
        // A trailing full stop is not the last letter: "dog." with a short "." is sound.
        let stop = whole.dropLast(3) + [3, 4, 4]
        XCTAssertEqual(check.problems(focus: Array(stop), textLength: 4, finished: true, lastLetter: 2, line: nil), [])
        XCTAssertEqual(LineProblem.lastLetterSkipped(steps: 1).description, "the window left the last letter after 1 step")
    }

    func testLineCheckFlagsAFinalMarkWithoutAStroke() {
        let check = LineCheck()
        XCTAssertEqual(LineCheck.finalMarks(of: "Stop it now!"), 11)
        XCTAssertEqual(LineCheck.finalMarks(of: "So it goes;"), 10)
        XCTAssertEqual(LineCheck.finalMarks(of: "It was \"fine\""), 12)
        XCTAssertNil(LineCheck.finalMarks(of: "no mark"))
        XCTAssertNil(LineCheck.finalMarks(of: "room 42"))
        XCTAssertNil(LineCheck.finalMarks(of: ""))
        XCTAssertNil(LineCheck.finalMarks(of: ")"))
        XCTAssertNil(LineCheck.finalMarks(of: "?!"))
        XCTAssertEqual(LineCheck.finalMarks(of: "room 42!"), 7)
        XCTAssertEqual(LineCheck.finalMarks(of: "and then -"), 8)
        XCTAssertEqual(LineCheck.finalMarks(of: "why?!"), 3)
        // "no!": 11 steps on each letter, then 4 on the "!" and 3 past the end, strokes begun at steps 0 and 20.
        let focus = (0..<2).flatMap { [Int](repeating: $0, count: 11) } + [2, 2, 2, 2, 3, 3, 3]
        // The "!" drawn: a stroke begun on it (step 24) or after the window left (step 27).
        for start in [24, 27] {
            XCTAssertEqual(check.problems(focus: focus, textLength: 3, finished: true, finalMarks: 2,
                                          strokeStarts: [0, 20, start], line: nil), [], "\(start)")
        }
        // The pen went on from the "o" and stopped: no stroke begun once the window reached the "!".
        XCTAssertEqual(check.problems(focus: focus, textLength: 3, finished: true, finalMarks: 2, strokeStarts: [0, 20],
                                      line: nil), [.finalMarkMissing])
        // Without the mark's index or the strokes, or on a line that never finished, the check does not apply.
        XCTAssertEqual(check.problems(focus: focus, textLength: 3, finished: true, strokeStarts: [0, 20], line: nil), [])
        XCTAssertEqual(check.problems(focus: focus, textLength: 3, finished: true, finalMarks: 2, line: nil), [])
        XCTAssertEqual(check.problems(focus: focus, textLength: 3, finished: false, finalMarks: 2, strokeStarts: [0, 20],
                                      line: nil), [.unfinished])
        // A text of a mark alone: its first stroke is on it.
        XCTAssertEqual(check.problems(focus: [0, 0, 0, 1], textLength: 1, finished: true, finalMarks: 0,
                                      strokeStarts: [0], line: nil), [])
        XCTAssertEqual(LineProblem.finalMarkMissing.description, "the final mark was not written")
        var line = GeneratedLine(textLength: 2)
        line.eos = [false, true, false, false, true]
        XCTAssertEqual(line.strokeStarts, [0, 2])
    }

    /// Written through the page writer (checks and tries on), every line ending in a mark has a stroke begun on it:
    /// with one try each, the bundled model left the mark out of 7 of 120 such lines (`LineCheck.problems`).
    func testTheFinalMarkIsWritten() throws {
        let sampler = try bundledSampler()
        var writer = PageWriter(sampler: sampler, options: WriteOptions(bias: 1))
        writer.candidates = 1
        let texts = ["Stop it now!", "So it goes;", "Is it you?"]
        var flagged = 0
        for seed: UInt64 in 1...8 {
            let page = try writer.write(texts, seed: seed)
            flagged += page.resampled.filter { $0.firstProblems.contains(.finalMarkMissing) }.count
            for (r, text) in texts.enumerated() {
                let g = try XCTUnwrap(page.generated[r]), m = try XCTUnwrap(LineCheck.finalMarks(of: text))
                let kept = page.resampled.first { $0.line == r }
                if kept?.remaining.isEmpty == false { continue }
                XCTAssertTrue(g.strokeStarts.contains { g.focus[$0] >= m }, "\(text), seed \(seed): no stroke on the mark")
            }
        }
        XCTAssertGreaterThan(flagged, 0, "no first try lacked its mark: the test checks nothing")
    }

    func testLineCheckFlagsInkOutsideTheBand() {
        // A line of small loops along y = 0, then the same with a stroke climbing 20 letter heights.
        var strokes = (0..<12).map { k in (0..<8).map { i in
            Point(x: Double(k) * 10 + 3 * cos(Double(i)), y: 3 * sin(Double(i))) } }
        let check = LineCheck()
        XCTAssertEqual(check.problems(focus: [0, 1, 2], textLength: 2, finished: true,
                                      line: HandwritingSample(id: "ok", strokes: strokes)), [])
        strokes.append((0..<6).map { Point(x: 120 + Double($0) * 4, y: -Double($0) * 30) })
        let problems = check.problems(focus: [0, 1, 2], textLength: 2, finished: true,
                                      line: HandwritingSample(id: "bad", strokes: strokes))
        guard case .outOfBand = problems.first else { return XCTFail("\(problems)") }
    }
}
