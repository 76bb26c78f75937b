import Foundation
import QuillData
import QuillIO

/// A named handwriting style: priming strokes (in the model's normalised offset form) and their text, stored as
/// `DIR/styles/NAME.json` beside a synthesis model.
public struct HandwritingStyle: Codable, Equatable, Sendable {
    public var name: String
    public var text: String
    /// Rows (dx, dy, eos), normalised with the model's statistics; row 0 is (0, 0, eos).
    public var rows: [[Float]]
    /// Where the style came from (for example "model sample, seed 3, bias 1.5").
    public var source: String

    public init(name: String, text: String, rows: [[Float]], source: String) {
        self.name = name; self.text = text; self.rows = rows; self.source = source
    }

    public var prime: Prime { Prime(rows: rows.map { ($0[0], $0[1], $0[2]) }, text: text) }

    /// The style `quill write` primes with when it is given none: a page is always in one hand.
    public static let defaultName = "default"

    public static func directory(model dir: String) -> URL { URL(fileURLWithPath: dir).appendingPathComponent("styles") }

    /// The style names shipped with a model directory.
    public static func names(model dir: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory(model: dir).path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// The most rows a style may hold: a few lines of handwriting are a few thousand points.
    public static let maximumRows = 100_000
    /// The largest offset a style may hold, in standard deviations of the training data's offsets.
    public static let maximumOffset: Float = 1000
    /// The largest style file read, in bytes (a full style of `maximumRows` is about 5 MB).
    static let maximumFileBytes = 64 << 20

    /// A style name: letters, digits, '-', '_' and '.', not starting with '.', so it names a file in styles/.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    /// The longest style text, in characters: a style primes a line, and IAM-OnDB's longest line has 64.
    public static let maximumTextLength = 1000

    /// Loads DIR/styles/NAME.json. Rows must number 1 to `maximumRows`, each (dx, dy, eos) with finite offsets of
    /// at most `maximumOffset` and eos 0 or 1; the text must have 1 to `maximumTextLength` characters, no more than
    /// the rows (handwriting takes several points a character). A bad file is a `StyleError`.
    public static func load(name: String, model dir: String) throws -> HandwritingStyle {
        guard isValidName(name) else {
            throw CharModelError.invalidOption("style name '\(name.prefix(100))' is not valid; use letters, digits, '-', '_' and '.'")
        }
        let url = directory(model: dir).appendingPathComponent("\(name).json")
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber,
           size.int64Value > Int64(maximumFileBytes) {
            throw StyleError(file: url.path, name: name, why: "the file is \(size.int64Value) bytes, more than a style can hold")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            let known = names(model: dir)
            throw CharModelError.invalidOption("unknown style '\(name)'; the model in \(dir) has \(known.isEmpty ? "no styles" : "styles: " + known.joined(separator: ", "))")
        }
        guard let s = try? JSONDecoder().decode(HandwritingStyle.self, from: data) else {
            throw StyleError(file: url.path, name: name, why: "it is not a style file (JSON with name, text, source and rows of [dx, dy, eos])")
        }
        guard (1...maximumRows).contains(s.rows.count) else {
            throw StyleError(file: url.path, name: name, why: "it has \(s.rows.count) rows; a style holds 1 to \(maximumRows)")
        }
        let text = s.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, s.text.count <= maximumTextLength else {
            throw StyleError(file: url.path, name: name, why: "its text has \(s.text.count) character\(s.text.count == 1 ? "" : "s")\(text.isEmpty ? " and nothing to write" : ""); a style's text has 1 to \(maximumTextLength)")
        }
        guard s.text.count <= s.rows.count else {
            throw StyleError(file: url.path, name: name, why: "its text has \(s.text.count) character\(s.text.count == 1 ? "" : "s") but its strokes only \(s.rows.count) points")
        }
        for (i, r) in s.rows.enumerated() {
            guard r.count == 3 else { throw StyleError(file: url.path, name: name, why: "row \(i) has \(r.count) values; each row is [dx, dy, eos]") }
            guard r[0].isFinite, r[1].isFinite, abs(r[0]) <= maximumOffset, abs(r[1]) <= maximumOffset else {
                throw StyleError(file: url.path, name: name, why: "row \(i) has an offset that is not a number of at most \(Int(maximumOffset)) in size")
            }
            guard r[2] == 0 || r[2] == 1 else { throw StyleError(file: url.path, name: name, why: "row \(i) has eos \(r[2]); it must be 0 or 1") }
        }
        return s
    }

    public func save(model dir: String) throws {
        guard HandwritingStyle.isValidName(name) else {
            throw CharModelError.invalidOption("style name '\(name.prefix(100))' is not valid; use letters, digits, '-', '_' and '.'")
        }
        let url = HandwritingStyle.directory(model: dir)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try AtomicOutput.write(try JSONEncoder.sorted.encode(self), to: url.appendingPathComponent("\(name).json").path)
    }

    /// Priming rows from raw offsets (any units), rescaled so their overall spread matches the model's training
    /// data, then normalised with the model's statistics. Used for a user's own InkML and for other datasets.
    public static func primeRows(rawDx: [Double], rawDy: [Double], eos: [Bool], stats: OffsetStatistics,
                                 rescale: Bool) -> [[Float]] {
        var scale = 1.0
        if rescale {
            // Match the RMS offset (pen-up moves included, as in the statistics) to the training data's.
            var s = 0.0, n = 0
            for i in 1..<max(rawDx.count, 1) where i < rawDx.count { s += rawDx[i] * rawDx[i] + rawDy[i] * rawDy[i]; n += 1 }
            let rms = n > 0 ? (s / Double(n)).squareRoot() : 0
            let target = (stats.stdDx * stats.stdDx + stats.meanDx * stats.meanDx + stats.stdDy * stats.stdDy + stats.meanDy * stats.meanDy).squareRoot()
            if rms > 0 && target > 0 { scale = target / rms }
        }
        return (0..<rawDx.count).map { i in
            if i == 0 { return [0, 0, eos[0] ? 1 : 0] }
            return [Float((rawDx[i] * scale - stats.meanDx) / stats.stdDx),
                    Float((rawDy[i] * scale - stats.meanDy) / stats.stdDy), eos[i] ? 1 : 0]
        }
    }
}

/// A style file that cannot be used: the file, what is wrong, and how to make it again.
public struct StyleError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let name: String
    public let why: String

    public var description: String {
        TextPreparation.shown(text: "\(file): not a usable style: \(why); make it again with `quill style add \(name) --force`, or remove the file")
    }
}
