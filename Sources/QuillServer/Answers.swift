import Foundation
import QuillData
import QuillModels
import QuillRender
import QuillWriting

/// The JSON answers of the API (see /openapi.json), built from a written page.
enum Answers {
    /// One line of a page: its text, its points in page points ([x, y, end], end 1 where the pen lifts after the
    /// point), and per point the window φ(t, u) over the line's characters and the mixture weights π.
    struct Line: Encodable, Sendable {
        var text: String
        var points: [[Double]]
        var phi: [[Double]]
        var pi: [[Double]]
    }

    struct Resample: Encodable, Sendable { var line: Int; var tries: Int }

    /// The answer of `POST /v1/write` (and the `done` event of the stream).
    struct Write: Encodable, Sendable {
        var seed: UInt64
        var bias: Double
        /// The style written in; nil for the page's own hand.
        var style: String?
        var color: String
        var width: Double
        var size: [String: Double]
        var lines: [Line?]
        var resampled: [Resample]
        /// What text preparation changed, sorted: characters the model lacks replaced by plain equivalents, as
        /// "'“'→\"", invisible characters dropped, as "U+200B→''", and Unicode line separators made line breaks, as
        /// "U+2028→U+000A". At most `maximumReplaced` of them (the first in that order); `replacedCount` says how many
        /// there are in all.
        var replaced: [String]
        /// How many distinct changes text preparation made (`replaced` lists the first `maximumReplaced`).
        var replacedCount: Int

        enum CodingKeys: String, CodingKey { case seed, bias, style, color, width, size, lines, resampled, replaced, replacedCount }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(seed, forKey: .seed)
            try c.encode(bias, forKey: .bias)
            try c.encode(style, forKey: .style)  // null for the own hand, not left out
            try c.encode(color, forKey: .color)
            try c.encode(width, forKey: .width)
            try c.encode(size, forKey: .size)
            try c.encode(lines, forKey: .lines)
            try c.encode(resampled, forKey: .resampled)
            try c.encode(replaced, forKey: .replaced)
            try c.encode(replacedCount, forKey: .replacedCount)
        }
    }

    /// The most changes an answer lists: a text of a thousand different unknown characters answers with twenty of
    /// them and the count, not a list as long as the text.
    static let maximumReplaced = 20

    /// The changes an answer lists, sorted: the first `maximumReplaced`, and how many there are.
    static func listed(_ changes: Set<String>) -> (shown: [String], count: Int) {
        (Array(changes.sorted().prefix(maximumReplaced)), changes.count)
    }

    /// φ and π are shown, not computed with: five decimals keep the answer a third the size.
    static func rounded(_ row: [Double]) -> [Double] { row.map { ($0 * 1e5).rounded() / 1e5 } }

    /// A placed line's points as [x, y, end], in the order they were sampled.
    static func points(_ strokes: [Stroke]) -> [[Double]] {
        strokes.flatMap { stroke in stroke.enumerated().map { j, p in [p.x, p.y, j == stroke.count - 1 ? 1 : 0] } }
    }

    /// Line `i` of a written page as the API shows it; nil for a blank line.
    static func line(_ i: Int, _ result: WrittenPageResult) -> Line? {
        guard let text = result.prepared.lines[i], let generated = result.page.generated[i] else { return nil }
        let n = generated.textLength
        return Line(text: text, points: points(result.placed.lines[i]),
                    phi: generated.phi.map { rounded(Array($0.suffix(n))) }, pi: generated.pi.map(rounded))
    }

    /// The lines written again, one entry a line: a line written in pieces counts the most tries any of its
    /// pieces took.
    static func resampledLines(_ pieces: [WrittenPage.Resample]) -> [Resample] {
        var out: [Resample] = []
        for r in pieces {
            if let i = out.firstIndex(where: { $0.line == r.line }) {
                out[i].tries = max(out[i].tries, r.tries)
            } else {
                out.append(Resample(line: r.line, tries: r.tries))
            }
        }
        return out
    }

    /// The whole answer for a written page.
    static func write(_ result: WrittenPageResult, request: PageRequest, style: String?) -> Write {
        let replaced = listed(Set(result.prepared.replacements + TextPreparation.normalisingChanges(request.text)))
        return Write(seed: request.seed, bias: request.options.bias, style: style, color: request.style.color.hexCode,
              width: request.style.width,
              size: ["width": result.placed.size.width, "height": result.placed.size.height],
              lines: result.prepared.lines.indices.map { line($0, result) },
              resampled: resampledLines(result.page.resampled),
              replaced: replaced.shown, replacedCount: replaced.count)
    }
}
