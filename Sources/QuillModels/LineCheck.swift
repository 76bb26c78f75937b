import QuillData

/// Why a written line is judged broken and written again.
public enum LineProblem: Equatable, Sendable, CustomStringConvertible {
    /// The line reached the step cap before the window left its text.
    case unfinished
    /// Nothing of the requested text was written.
    case empty
    /// The window's focus fell `characters` behind the furthest character it had reached.
    case windowBackwards(characters: Int)
    /// The window's focus jumped `characters` ahead in one step (it skipped part of the text).
    case windowJump(characters: Int)
    /// The window stayed on one character for `steps` steps.
    case windowStalled(steps: Int)
    /// The ink left the line's band: a point lies `letterHeights` letter heights from the midline.
    case outOfBand(letterHeights: Double)
    /// The window left the text after only `steps` steps on its last letter or digit: the letter was skipped
    /// or cut short ("dog" written "do").
    case lastLetterSkipped(steps: Int)
    /// The text ends in a mark ("!", "?", ";", ".") and no stroke began once the window had passed its last letter:
    /// the line stopped at the last letter ("Stop it now!" written "Stop it now").
    case finalMarkMissing

    public var description: String {
        switch self {
        case .unfinished: return "the window did not reach the end of the text"
        case .empty: return "nothing was written"
        case let .windowBackwards(n): return "the window ran back \(n) characters"
        case let .windowJump(n): return "the window skipped \(n) characters"
        case let .windowStalled(n): return "the window stalled for \(n) steps"
        case let .outOfBand(h): return "the ink left the line (\(Int(h.rounded())) letter heights from its middle)"
        case let .lastLetterSkipped(n): return "the window left the last letter after \(n) step\(n == 1 ? "" : "s")"
        case .finalMarkMissing: return "the final mark was not written"
        }
    }
}

/// Detects lines where synthesis broke down: the window runs backwards, jumps ahead or stalls, the line never
/// finishes, or its strokes leave the line's band. Thresholds are in characters and in steps per character of the
/// data (IAM-OnDB at decimation 2: 11.4 steps a character on average), checked against sampled lines of the
/// bundled model: a normal line stays well inside each of them.
public struct LineCheck: Sendable {
    /// Focus may fall back this many characters behind the furthest reached without counting as running backwards
    /// (φ peaks flicker between neighbours at character boundaries).
    public var maxBackward = 2
    /// A jump of more than this many characters in one step is a skip.
    public var maxJump = 3
    /// More steps than this on one character is a stall (about six times the mean a character takes).
    public var maxDwell = 70
    /// Ink farther than this many letter heights above or below the line's midline is out of its band.
    public var band = 4.0
    /// Fewer steps than this on the text's last letter or digit is a skipped last letter. Measured with the bundled
    /// model (2026-12-03: 36 sentences × 2 seeds × bias 0.5 and 1): the last letter got 4 to 27 steps, median 13;
    /// at 4 one "sequel" lost its "l" (and "The quick brown fox jumps over the lazy dog" at bias 0.5 its "g").
    public var minLastLetterSteps = 5

    public init() {}

    /// The window's focus at each step: the index u (0-based) of the largest φ(t, u) in each row of φ.
    public static func focus(phi: [[Double]]) -> [Int] {
        phi.map { row in row.indices.max(by: { row[$0] < row[$1] }) ?? 0 }
    }

    /// The index (0-based, in Unicode scalars as the window reads the text) of the text's last letter or digit;
    /// nil when it has none.
    public static func lastLetter(of text: String) -> Int? {
        Array(text.unicodeScalars).lastIndex(where: StrokeGeometry.isLetterOrDigit)
    }

    /// Where the text's final marks begin: the index (0-based, in Unicode scalars as the window reads the text)
    /// just after its last letter or digit, when the text ends in a mark there ("!" in "Stop it now!": 11; the
    /// space in "and then -": 8, where the window often is while the dash is written); nil when the text ends in
    /// a letter or digit, or has none (after a prime the window can sit on the space before a text of marks alone
    /// while its strokes are written: ")" alone was flagged in 3 of 4 seeds).
    public static func finalMarks(of text: String) -> Int? {
        let scalars = Array(text.unicodeScalars)
        guard let last = scalars.last, !StrokeGeometry.isLetterOrDigit(last), !last.properties.isWhitespace,
              let k = scalars.lastIndex(where: StrokeGeometry.isLetterOrDigit) else { return nil }
        return k + 1
    }

    /// The problems of a written line (empty when it is sound).
    /// - Parameters:
    ///   - focus: the window's focus per step (0-based character; `textLength` when past the end).
    ///   - lastLetter: the index of the text's last letter or digit (`lastLetter(of:)`); nil skips that check.
    ///   - finalMarks: where the text's final marks begin (`finalMarks(of:)`); nil skips that check.
    ///   - strokeStarts: the steps (indices into `focus`) where a stroke begins (`GeneratedLine.strokeStarts`);
    ///     the final-mark check needs them. A mark is written in strokes of its own, begun once the window has
    ///     reached it: with the bundled model (2026-12-06, 10 texts ending in . , ; : ! ? " × 12 seeds, bias 1,
    ///     the default style, one try each) 7 of 120 lines began no stroke at or after their mark ("Stop it now!"
    ///     twice, "So it goes;" twice, "Is it you?" three times); the three of them looked at lack the mark, and
    ///     seven lines with such a stroke looked at have one there (two of them poorly formed: "?" like an "i",
    ///     ":" as one dot, which this check does not see).
    ///   - line: the line's ink (absolute coordinates); nil skips the band check.
    public func problems(focus: [Int], textLength: Int, finished: Bool, lastLetter: Int? = nil,
                         finalMarks: Int? = nil, strokeStarts: [Int]? = nil,
                         line: HandwritingSample?) -> [LineProblem] {
        var out = [LineProblem]()
        if !finished { out.append(.unfinished) }
        if focus.isEmpty || (line?.pointCount ?? 1) == 0 { return out + [.empty] }
        var furthest = focus[0], worstBack = 0, worstJump = 0, dwell = 1, worstDwell = 1
        for t in 1..<focus.count {
            let f = focus[t], previous = focus[t - 1]
            worstJump = max(worstJump, f - previous)
            furthest = max(furthest, f)
            worstBack = max(worstBack, furthest - f)
            // Dwelling past the end is the finishing steps, not a stall.
            dwell = f == previous && f < textLength ? dwell + 1 : 1
            worstDwell = max(worstDwell, dwell)
        }
        if worstBack > maxBackward { out.append(.windowBackwards(characters: worstBack)) }
        if worstJump > maxJump { out.append(.windowJump(characters: worstJump)) }
        if worstDwell > maxDwell { out.append(.windowStalled(steps: worstDwell)) }
        if let line, let reach = bandReach(line), reach > band { out.append(.outOfBand(letterHeights: reach)) }
        if finished, let k = lastLetter, k < textLength {
            let steps = focus.lazy.filter { $0 == k }.count
            if steps < minLastLetterSteps { out.append(.lastLetterSkipped(steps: steps)) }
        }
        if finished, let m = finalMarks, m < textLength, let starts = strokeStarts,
           !starts.contains(where: { focus.indices.contains($0) && focus[$0] >= m }) {
            out.append(.finalMarkMissing)
        }
        return out
    }

    /// How far the ink reaches from the line's midline, in letter heights (nil when the line has no height).
    public func bandReach(_ line: HandwritingSample) -> Double? {
        let level = StrokeGeometry.levelled(line)
        let (h, mid) = StrokeGeometry.band(ofLevel: level)
        guard h > 1e-9 else { return nil }
        return level.y.map { abs($0 - mid) }.max().map { $0 / h }
    }
}
