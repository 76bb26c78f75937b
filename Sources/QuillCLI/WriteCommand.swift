import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillNumerics
import QuillRender

/// Where Quill's default synthesis model lives: `models/synthesis` in the source tree this binary was built from,
/// or `QUILL_MODEL_DIR`.
enum DefaultModel {
    static var synthesis: String {
        if let env = ProcessInfo.processInfo.environment["QUILL_MODEL_DIR"] { return env }
        // This file is Sources/QuillCLI/WriteCommand.swift: the repository root is three levels up.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent("models/synthesis").path
    }
}

/// `quill write "TEXT"`: text to handwriting with the synthesis network.
public struct WriteCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Write text as handwriting (PNG, SVG or PDF by the output's extension).",
        discussion: """
        Lines break at each newline (a literal \\n in TEXT counts) and wrap at --wrap characters; all lines are \
        sampled together. Each line ends by Graves's rule — when the window has moved past the last character — or \
        at --steps-per-char × its length. Characters outside the model's alphabet are replaced where a plain \
        equivalent exists (é→e, “→", —→-) and the replacements are reported; any others are an error.
        """)

    @Argument(help: "The text to write.") var text: String
    @Option(help: "Synthesis model directory (default: Quill's bundled model).") var model: String?
    @Option(name: .shortAndLong, help: "Output image: .png, .svg or .pdf.") var output: String
    @Option(help: "Sampling bias b: 0 is the model's own distribution, 1 or more is neat.") var bias: Double = 1
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Wrap lines longer than this many characters.") var wrap: Int = 60
    @Option(name: .customLong("max-chars"), help: "Refuse texts longer than this.") var maxChars: Int = 1000
    @Option(name: .customLong("steps-per-char"), help: "Step cap per character.") var stepsPerChar: Int = 40
    @Option(help: "A style shipped with the model (see --list-styles).") var style: String?
    @Flag(name: .customLong("list-styles"), help: "List the model's styles and exit.") var listStyles = false
    @Option(name: .customLong("prime-from"), help: "Prime with a sample of a prepared dataset (with --id).") var primeFrom: String?
    @Option(help: "The id of the priming sample in --prime-from.") var id: String?
    @Option(name: .customLong("prime-inkml"), help: "Prime with your own handwriting: an InkML file.") var primeInkml: String?
    @Option(name: .customLong("prime-text"), help: "The text of the --prime-inkml strokes (when the file has none).")
    var primeText: String?
    @Option(name: .customLong("line-height"), help: "Height of one line of writing, in points.") var lineHeight: Double = 60
    @Option(name: .customLong("pen-width"), help: "Pen width in points.") var penWidth: Double = 2
    @Flag(name: .customLong("no-smooth"), help: "Straight segments instead of smoothed curves.") var noSmooth = false

    public init() {}

    public func validate() throws {
        if !listStyles {
            _ = try OutputFormat.forPath(output)
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("the text is empty; give something to write") }
            if text.count > maxChars { throw ValidationError("the text has \(text.count) characters, more than --max-chars \(maxChars)") }
        }
        if !(bias >= 0 && bias <= 20) { throw ValidationError("--bias must be between 0 and 20") }
        if !(10...500).contains(wrap) { throw ValidationError("--wrap must be between 10 and 500") }
        if !(5...200).contains(stepsPerChar) { throw ValidationError("--steps-per-char must be between 5 and 200") }
        if [style != nil, primeFrom != nil, primeInkml != nil].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --style, --prime-from and --prime-inkml")
        }
        if (primeFrom == nil) != (id == nil) { throw ValidationError("--prime-from and --id go together") }
        if !(lineHeight > 5 && lineHeight < 2000) { throw ValidationError("--line-height must be between 5 and 2000") }
        if !(penWidth > 0 && penWidth <= 50) { throw ValidationError("--pen-width must be in (0, 50]") }
    }

    public func run() throws {
        let dir = model ?? DefaultModel.synthesis
        if listStyles {
            let names = HandwritingStyle.names(model: dir)
            print(names.isEmpty ? "the model in \(dir) has no styles" : names.joined(separator: "\n"))
            return
        }
        let loaded = try HandwritingCheckpoint.load(modelFile(dir), expecting: .synthesis)
        let sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
        let lines = try TextPreparation.lines(text, wrap: wrap, sampler: sampler)
        let prime = try primeMaterial(dir: dir, loaded: loaded, sampler: sampler)
        var rng = SeededGenerator(seed: seed)
        let generated = sampler.write(lines, bias: bias, rng: &rng, stepsPerCharacter: stepsPerChar, prime: prime,
                                      record: false)
        for (l, g) in zip(lines, generated) where !g.finished {
            FileHandle.standardError.write(Data("quill: note: the line \"\(l)\" reached the step cap before the window passed its end\n".utf8))
        }
        var options = PageOptions()
        options.lineHeight = lineHeight
        options.style = StrokeStyle(width: penWidth, smooth: !noSmooth)
        _ = try StrokeRenderer.renderPage(lines: generated.map { $0.strokes.map { $0.map { Point($0.x, $0.y) } } },
                                          to: output, options: options)
        print("wrote \(output) (\(lines.count) line\(lines.count == 1 ? "" : "s"))")
    }

    func primeMaterial(dir: String, loaded: HandwritingCheckpoint.Loaded, sampler: HandwritingSampler) throws -> Prime? {
        if let style { return try HandwritingStyle.load(name: style, model: dir).prime }
        if let primeFrom, let id {
            let ds = try PreparedFormat.load(path: primeFrom)
            guard let s = ds.samples.first(where: { $0.id == id }) else {
                throw CLIError("\(primeFrom): no sample with id '\(id)'")
            }
            guard let t = s.text, !t.isEmpty else { throw CLIError("\(primeFrom): sample '\(id)' has no transcription to prime with") }
            let raw = ds.rawOffsets(s)
            let rows = HandwritingStyle.primeRows(rawDx: raw.dx, rawDy: raw.dy, eos: raw.eos.map { $0 != 0 },
                                                  stats: loaded.stats, rescale: false)
            return Prime(rows: rows.map { ($0[0], $0[1], $0[2]) }, text: try TextPreparation.checked(t, sampler: sampler))
        }
        if let primeInkml {
            let sample = try InkMLImporter.load(path: primeInkml)
            guard let t = primeText ?? sample.text, !t.isEmpty else {
                throw CLIError("\(primeInkml): the file carries no transcription; say what it says with --prime-text")
            }
            let off = sample.offsets()
            let rows = HandwritingStyle.primeRows(rawDx: off.dx, rawDy: off.dy, eos: off.eos.map { $0 != 0 },
                                                  stats: loaded.stats, rescale: true)
            return Prime(rows: rows.map { ($0[0], $0[1], $0[2]) }, text: try TextPreparation.checked(t, sampler: sampler))
        }
        return nil
    }
}

/// Turning user text into lines the model can write.
enum TextPreparation {
    /// Plain equivalents for characters models trained on IAM-OnDB rarely know.
    static let substitutions: [Character: String] = [
        "“": "\"", "”": "\"", "„": "\"", "«": "\"", "»": "\"", "‘": "'", "’": "'", "‚": "'", "`": "'",
        "–": "-", "—": "-", "−": "-", "…": "...", "\u{00A0}": " ", "\t": " ",
    ]

    /// Replaces what has a plain equivalent; reports replacements on standard error; errors on the rest.
    static func checked(_ text: String, sampler: HandwritingSampler) throws -> String {
        var out = "", replaced = [String]()
        for c in text {
            if sampler.unknownCharacters(in: String(c)).isEmpty { out.append(c); continue }
            var plain = substitutions[c]
            if plain == nil {
                // Strip diacritics: é → e, Ü → U.
                let folded = String(c).folding(options: [.diacriticInsensitive], locale: nil)
                if folded != String(c), sampler.unknownCharacters(in: folded).isEmpty { plain = folded }
            }
            if let p = plain, sampler.unknownCharacters(in: p).isEmpty {
                out += p
                replaced.append("\(c)→\(p)")
            } else {
                out.append(c)
            }
        }
        let unknown = sampler.unknownCharacters(in: out)
        if !unknown.isEmpty {
            throw CLIError("the model's alphabet lacks \(unknown.map { "'\($0)'" }.joined(separator: ", ")); rephrase without them (it knows: \(sampler.alphabet.dropFirst().joined()))")
        }
        if !replaced.isEmpty {
            FileHandle.standardError.write(Data("quill: note: replaced characters the model lacks: \(Set(replaced).sorted().joined(separator: " "))\n".utf8))
        }
        return out
    }

    /// Splits at newlines (and literal "\n"), wraps at word boundaries, and checks the characters.
    static func lines(_ text: String, wrap: Int, sampler: HandwritingSampler) throws -> [String] {
        let paragraphs = text.replacingOccurrences(of: "\\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        var lines = [String]()
        for para in try paragraphs.map({ try checked(String($0), sampler: sampler) }) {
            var line = ""
            for word in para.split(separator: " ") {
                if line.isEmpty { line = String(word) }
                else if line.count + 1 + word.count <= wrap { line += " " + word }
                else { lines.append(line); line = String(word) }
                while line.count > wrap { lines.append(String(line.prefix(wrap))); line = String(line.dropFirst(wrap)) }
            }
            if !line.isEmpty { lines.append(line) }
        }
        guard !lines.isEmpty else { throw CLIError("the text has nothing to write after removing blank lines") }
        return lines
    }
}
