import Foundation
import QuillData
import QuillIO

/// A named handwriting style: priming strokes (in the model's normalised offset form) and their text, stored as
/// `DIR/styles/NAME.json` beside a synthesis model.
public struct HandwritingStyle: Equatable, Sendable {
    public var name: String
    /// The priming strokes, normalised with the model's statistics, and their text.
    public var prime: Prime
    /// Where the style came from (for example "model sample, seed 3, bias 1.5").
    public var source: String

    public init(name: String, prime: Prime, source: String) {
        self.name = name; self.prime = prime; self.source = source
    }

    public var text: String { prime.text }

    /// The file's form: JSON with `name`, `text`, `source` and `rows`, each row `[dx, dy, eos]`.
    private struct File: Codable {
        var name: String
        var text: String
        var rows: [[Float]]
        var source: String
    }

    /// The style `quill write` primes with when it is given none: a page is always in one hand.
    public static let defaultName = "default"
    /// The style value that asks for no prime, the page in the hand of its own first line (`quill write --style none`
    /// or `--own-hand`, a job's and the HTTP API's "style": "none"); no style may take this name.
    public static let noStyleName = "none"

    /// DIR/styles for a model directory; for a model file (`--model DIR/model.safetensors`), the styles beside it.
    public static func directory(model dir: String) -> URL {
        var isDirectory: ObjCBool = false
        let url = URL(fileURLWithPath: dir)
        let file = FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) && !isDirectory.boolValue
        return (file ? url.deletingLastPathComponent() : url).appendingPathComponent("styles")
    }

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

    /// A style name: letters, digits, '-', '_' and '.', not starting with '.', so it names a file in styles/; not
    /// `noStyleName`.
    /// The rule `isValidName` checks, as messages state it.
    public static let nameRule = "letters, digits, '-', '_' and '.', not starting with '.', at most 100 bytes"

    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100 && !name.hasPrefix(".") && name != noStyleName
            && name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    /// The longest style text, in characters: a style primes a line, and IAM-OnDB's longest line has 64.
    public static let maximumTextLength = 1000

    /// Loads DIR/styles/NAME.json. Rows must number 1 to `maximumRows`, each (dx, dy, eos) with finite offsets of
    /// at most `maximumOffset` and eos 0 or 1; the text must have 1 to `maximumTextLength` characters, no more than
    /// the rows (handwriting takes several points a character). A bad file is a `StyleError`.
    public static func load(name: String, model dir: String) throws -> HandwritingStyle {
        guard isValidName(name) else {
            throw CharModelError.invalidOption("style name '\(TextPreparation.shown(text: String(name.prefix(100))))' is not valid; a style name is \(nameRule)")
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
        guard let s = try? JSONDecoder().decode(File.self, from: data) else {
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
            throw StyleError(file: url.path, name: name, why: "its text has \(s.text.count) character\(s.text.count == 1 ? "" : "s") but its strokes only \(counted(s.rows.count, "point"))")
        }
        for (i, r) in s.rows.enumerated() {
            guard r.count == 3 else { throw StyleError(file: url.path, name: name, why: "row \(i) has \(r.count) values; each row is [dx, dy, eos]") }
            guard r[0].isFinite, r[1].isFinite, abs(r[0]) <= maximumOffset, abs(r[1]) <= maximumOffset else {
                throw StyleError(file: url.path, name: name, why: "row \(i) has an offset that is not a number of at most \(Int(maximumOffset)) in size")
            }
            guard r[2] == 0 || r[2] == 1 else { throw StyleError(file: url.path, name: name, why: "row \(i) has eos \(r[2]); it must be 0 or 1") }
        }
        return HandwritingStyle(name: s.name, prime: Prime(rows: s.rows.map { OffsetRow(dx: $0[0], dy: $0[1], eos: $0[2]) },
                                                           text: s.text), source: s.source)
    }

    /// Deletes DIR/styles/NAME.json. Throws `CharModelError.invalidOption` for a bad or unknown name and
    /// `FileSystemError` when the file cannot be removed.
    public static func remove(name: String, model dir: String) throws {
        guard isValidName(name), names(model: dir).contains(name) else {
            let known = names(model: dir)
            throw CharModelError.invalidOption("unknown style '\(name.prefix(100))'; the model in \(dir) has \(known.isEmpty ? "no styles" : "styles: " + known.joined(separator: ", "))")
        }
        let path = directory(model: dir).appendingPathComponent("\(name).json").path
        guard unlink(path) == 0 else { throw FileSystemError.current(path, .write) }
    }

    public func save(model dir: String) throws {
        guard HandwritingStyle.isValidName(name) else {
            throw CharModelError.invalidOption("style name '\(TextPreparation.shown(text: String(name.prefix(100))))' is not valid; a style name is \(HandwritingStyle.nameRule)")
        }
        let url = HandwritingStyle.directory(model: dir)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let file = File(name: name, text: prime.text, rows: prime.rows.map { [$0.dx, $0.dy, $0.eos] }, source: source)
        try AtomicOutput.write(try JSONEncoder.sorted.encode(file), to: url.appendingPathComponent("\(name).json").path)
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
