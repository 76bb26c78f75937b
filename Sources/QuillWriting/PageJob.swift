import Foundation
import QuillData
import QuillIO
import QuillModels
import QuillRender

/// A page whose lines each say how they are written (`quill write --job FILE`), like
/// sjvasquez/handwriting-synthesis's `Hand.write(lines, biases, styles, stroke_colors, stroke_widths)`.
///
/// The file is JSON: an object with `lines`, an array of objects each with `text` (a string; "" is a blank line, a
/// paragraph gap) and optionally `style` (a style of the model, or "none" for no prime: the lines in the style
/// "none" are written in the hand of the first of them), `bias` (Graves's b, 0…20), `color` (a name or #rgb,
/// #rrggbb, #rrggbbaa) and `width` (the pen's width in points, 0.1…50: `StrokeStyle.widthRange`). The object may
/// give the same four keys for every line; a line's own value wins, then the object's, then the command line's. A
/// line's text longer than the page's wrap width is wrapped; its pieces keep its settings. Unknown keys, wrong types
/// and values out of range are refused, naming the key (`lines[2].bias`).
public struct PageJob: Equatable, Sendable {
    /// How one line is written; nil: the job's value, else the command line's.
    public struct Settings: Equatable, Sendable {
        public var style: String?
        public var bias: Double?
        public var color: Color?
        public var width: Double?
        public init(style: String? = nil, bias: Double? = nil, color: Color? = nil, width: Double? = nil) {
            self.style = style; self.bias = bias; self.color = color; self.width = width
        }
        /// These settings with the gaps filled from `fallback`.
        func over(_ fallback: Settings) -> Settings {
            Settings(style: style ?? fallback.style, bias: bias ?? fallback.bias, color: color ?? fallback.color,
                     width: width ?? fallback.width)
        }
    }

    public struct Line: Equatable, Sendable {
        public var text: String
        public var settings: Settings
        public init(text: String, settings: Settings = Settings()) { self.text = text; self.settings = settings }
    }

    public var lines: [Line]
    /// The settings the job gives every line.
    public var settings: Settings

    public init(lines: [Line], settings: Settings = Settings()) { self.lines = lines; self.settings = settings }

    /// The most lines a job may have.
    public static let maximumLines = 1000
    /// The style value that asks for no prime (the API's "none").
    public static let noStyle = HandwritingStyle.noStyleName

    /// Whether any line, or the job, sets a colour or a width (which only pictures draw).
    public var setsInk: Bool {
        ([settings] + lines.map(\.settings)).contains { $0.color != nil || $0.width != nil }
    }

    /// Reads a job from JSON `data`; `what` names the file in errors.
    /// - Throws: `JobError` naming the key for malformed JSON, a missing or unknown key, a wrong type or a value out
    ///   of range.
    public static func parse(_ data: Data, what: String) throws -> PageJob {
        let value: JobValue
        if data.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            throw JobError("\(what): the job is empty (a job is an object with \"lines\": [{\"text\": …}, …])")
        }
        // Strict JSON first: a key given twice (the decoder keeps one silently), a trailing comma (it accepts one).
        do {
            try JSONCheck.check(Array(data), document: "the job", depthNote: "a job nests at most 4")
        } catch let p as JSONCheck.Problem {
            throw JobError("\(what): \(p.message)")
        }
        do {
            value = try JSONDecoder().decode(JobValue.self, from: data)
        } catch {
            let problem = JSONSyntax.problem(Array(data)).map { ": \($0)" } ?? ""
            throw JobError("\(what): not valid JSON\(problem) (a job is an object with \"lines\": [{\"text\": …}, …])")
        }
        guard case let .object(top) = value else {
            throw JobError("\(what): a job is a JSON object with \"lines\": [{\"text\": …}, …]")
        }
        let settingKeys: Set<String> = ["style", "bias", "color", "width"]
        try refuseUnknown(top, allowed: settingKeys.union(["lines"]), at: "", what: what)
        guard let rawLines = top["lines"] else { throw JobError("\(what): the job has no \"lines\"") }
        guard case let .array(array) = rawLines else { throw JobError("\(what): \"lines\" must be an array of objects") }
        guard !array.isEmpty else { throw JobError("\(what): \"lines\" is empty; give at least one line") }
        guard array.count <= maximumLines else {
            throw JobError("\(what): \"lines\" has \(array.count) entries, more than a job takes (\(maximumLines))")
        }
        let settings = try Self.settings(top, at: "", what: what)
        var lines: [Line] = []
        for (i, entry) in array.enumerated() {
            let at = "lines[\(i)]"
            guard case let .object(line) = entry else { throw JobError("\(what): \(at) must be an object with \"text\"") }
            try refuseUnknown(line, allowed: settingKeys.union(["text"]), at: at + ".", what: what)
            guard let rawText = line["text"] else { throw JobError("\(what): \(at) has no \"text\"") }
            guard case let .string(text) = rawText else { throw JobError("\(what): \(at).text must be a string") }
            lines.append(Line(text: text, settings: try Self.settings(line, at: at + ".", what: what)))
        }
        return PageJob(lines: lines, settings: settings)
    }

    static func refuseUnknown(_ object: [String: JobValue], allowed: Set<String>, at: String, what: String) throws {
        if let key = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw JobError("\(what): \(at)\(TextPreparation.shown(text: String(key.prefix(60)))) is not a job key "
                           + "(\(at.isEmpty ? "the job takes lines, " : "a line takes text, ")style, bias, color and width)")
        }
    }

    static func settings(_ object: [String: JobValue], at: String, what: String) throws -> Settings {
        var s = Settings()
        func number(_ key: String) throws -> Double? {
            guard let v = object[key] else { return nil }
            guard case let .number(n) = v, n.isFinite else { throw JobError("\(what): \(at)\(key) must be a number") }
            return n
        }
        func string(_ key: String) throws -> String? {
            guard let v = object[key] else { return nil }
            guard case let .string(t) = v else { throw JobError("\(what): \(at)\(key) must be a string") }
            return t
        }
        if let style = try string("style") {
            guard !style.isEmpty, style.count <= 100, style.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw JobError("\(what): \(at)style: a style name uses letters, digits, - and _ only (\"none\" for no prime)")
            }
            s.style = style
        }
        if let bias = try number("bias") {
            guard (0...20).contains(bias) else { throw JobError("\(what): \(at)bias: \(bias) is outside 0…20") }
            s.bias = bias
        }
        if let name = try string("color") {
            guard let color = Color(parsing: name) else {
                throw JobError("\(what): \(at)color: \(TextPreparation.shown(text: String(name.prefix(40)))) is not a colour; "
                               + "use a name or a hex code such as #1a1f3a")
            }
            s.color = color
        }
        if let width = try number("width") {
            guard StrokeStyle.widthRange.contains(width) else {
                throw JobError("\(what): \(at)width: \(width) is outside the pen widths (0.1…50 points)")
            }
            s.width = width
        }
        return s
    }
}

/// A JSON value as a job file holds it: JSON's true and false are not numbers here, nor numbers strings.
enum JobValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JobValue]), object([String: JobValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let t = try? c.decode(String.self) { self = .string(t) }
        else if let a = try? c.decode([JobValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JobValue].self)) }
    }
}

/// A job file that cannot be used: its message names the file and the key.
public struct JobError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A job's lines as the page's lines: each job line prepared (`TextPreparation.prepare`) and wrapped, its pieces
/// keeping its settings.
public struct PreparedJob: Sendable {
    /// The page's lines (nil: a blank line) and the replacements made.
    public var text: PreparedText
    /// Each page line's settings, the job's filled in.
    public var settings: [PageJob.Settings]
    /// Each page line's job line (index into `PageJob.lines`).
    public var jobLines: [Int]
}

extension HandwritingWriter {
    /// `job`'s lines as the page's lines, wrapped at `wrap` characters; a line of only spaces is a blank line.
    /// - Throws: `JobError` naming the line whose text cannot be written (characters the model lacks).
    public func prepare(job: PageJob, wrap: Int) throws -> PreparedJob {
        var lines: [String?] = [], settings: [PageJob.Settings] = [], from: [Int] = [], replacements = Set<String>()
        for (i, line) in job.lines.enumerated() {
            let s = line.settings.over(job.settings)
            if line.text.allSatisfy(\.isWhitespace) {
                lines.append(nil)
                settings.append(s)
                from.append(i)
                continue
            }
            let prepared: PreparedText
            do {
                prepared = try prepare(line.text, wrap: wrap)
            } catch let e as TextError {
                throw JobError("lines[\(i)].text: \(e.description)")
            }
            replacements.formUnion(prepared.replacements)
            lines += prepared.lines
            settings += Array(repeating: s, count: prepared.lines.count)
            from += Array(repeating: i, count: prepared.lines.count)
        }
        return PreparedJob(text: PreparedText(lines: lines, replacements: replacements.sorted()), settings: settings,
                           jobLines: from)
    }

    /// Writes a prepared job (`prepare(job:wrap:)`) as one page. `request` gives everything a line does not set:
    /// its `hand` and bias, the pen (`request.style`), tries, seed and layout; its text and wrap are not used.
    /// Lines are sampled in groups of one hand and bias (each group as `PageWriter` writes a page, each line from
    /// the generator of its place on the page, so a job whose lines share their settings gives the page `write`
    /// gives for the same lines), then every line is scaled to the page's median letter height. The result's
    /// `options.lineStyles` holds each line's pen when the lines' pens differ.
    /// - Throws: `JobError` for a job style the model lacks (naming the key); `HandError` for the request's hand;
    ///   `NonFiniteOutputError`, `SamplingStopped`, `RenderError`.
    public func write(_ job: PreparedJob, from original: PageJob, request: PageRequest,
                      progress: ((Int, Int) -> Void)? = nil) throws -> WrittenPageResult {
        let lines = job.text.lines, settings = job.settings
        // Groups of one hand and one bias, in the order they first appear.
        var groups: [(hand: Hand, bias: Double, lines: [Int])] = []
        for (i, s) in settings.enumerated() where lines[i] != nil {
            let hand: Hand = s.style.map { $0 == PageJob.noStyle ? .ownHand : .style($0) } ?? request.hand
            let bias = s.bias ?? request.options.bias
            if let g = groups.firstIndex(where: { $0.hand == hand && $0.bias == bias }) {
                groups[g].lines.append(i)
            } else {
                groups.append((hand, bias, [i]))
            }
        }
        var generated = [GeneratedLine?](repeating: nil, count: lines.count)
        var resampled: [WrittenPage.Resample] = []
        let total = groups.map(\.lines.count).reduce(0, +)
        var done = 0
        for group in groups {
            let prime: Prime?
            do {
                prime = try self.prime(for: group.hand)
            } catch let e as HandError {
                // A group has at least one line (it is made with its first).
                let line = group.lines.first.map { job.jobLines[$0] } ?? 0
                if original.lines.indices.contains(line), original.lines[line].settings.style != nil {
                    throw JobError("lines[\(line)].style: \(e.description)")
                }
                if original.settings.style != nil { throw JobError("style: \(e.description)") }
                throw e
            }
            var r = request
            r.options.bias = group.bias
            var writer = pageWriter(r)
            let before = done
            writer.progress = progress.map { report in { written, _ in report(before + written, total) } }
            let only = lines.indices.map { group.lines.contains($0) ? lines[$0] : nil }
            let page = try writer.write(only, seed: request.seed, prime: prime)
            for i in group.lines { generated[i] = page.generated[i] }
            resampled += page.resampled
            done += group.lines.count
        }
        let page = WrittenPage(generated: generated, texts: lines, resampled: resampled,
                               typicalLetterHeight: sampler.typicalLetterHeight)
        var options = Self.pageOptions(lineHeight: request.lineHeight, style: request.style, pixelScale: request.pixelScale,
                                       letterHeight: page.letterHeight)
        let styles = settings.map { s -> StrokeStyle in
            var style = request.style
            if let c = s.color { style.color = c; style.strokeColors = nil }
            if let w = s.width { style.width = w }
            return style
        }
        if styles.contains(where: { $0 != request.style }) { options.lineStyles = styles }
        return WrittenPageResult(prepared: job.text, page: page, options: options,
                                 placed: try Self.place(page, options: options, what: "the page"))
    }
}
