import ArgumentParser
import Foundation
import QuillData
import QuillIO
import QuillModels
import QuillNumerics
import QuillRender

/// Reads the text an inspection command runs a model over: a UTF-8 file, at most `maxChars` characters of it.
private func inspectionText(_ path: String, maxChars: Int) throws -> String {
    let text = try TextPreparation.read(path: path, maxBytes: 64 << 20)
    guard !text.isEmpty else { throw CLIError("\(TextPreparation.shown(text: path)) is empty; give a text to run the model over", status: .dataError) }
    return String(text.unicodeScalars.prefix(maxChars).map(Character.init))
}

/// `quill char typo`: how long a typo echoes through each layer (note 001).
public struct CharTypoCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "typo",
        abstract: "The typo experiment: how far each layer's hidden state moves after one changed character.",
        discussion: """
        The model reads the text twice, once with the character at --at replaced by --typo (or, without it, by a \
        character of the vocabulary drawn with --seed). The figure plots, per layer, the Euclidean distance between \
        the two runs' hidden states for the --length steps from the typo on (0 before it, by construction). With \
        --json, the distances are printed as JSON too.
        """)
    @OptionGroup var model: CharModelFile
    @Option(help: "UTF-8 text the model reads.") var text: String
    @Option(help: "Position of the typo, counting characters from 0.") var at: Int
    @Option(help: "The character put at --at (default: one drawn from the vocabulary).") var typo: String?
    @Option(help: "Steps after the typo to follow (1…100000).") var length = 200
    @Option(help: "Seed of the drawn typo.") var seed: UInt64 = 1
    @Option(name: .shortAndLong, help: "Figure: .png, .svg or .pdf.") var output: String
    @Flag(help: "Also print the distances as JSON ({\"layers\": [[…], …]}).") var json = false

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        do { _ = try OutputFormat.forPath(output) } catch { throw ValidationError("\(error)") }
        try OptionRange.check("at", at, 0...10_000_000)
        try OptionRange.check("length", length, 1...100_000)
        if let typo, typo.count != 1 { throw ValidationError("--typo takes one character") }
        try refuseNonFiles([("--text", text), ("--model", model.file)])
        try refuseOverwriting(inputs: [("--text", text), ("--model", model.file)], output: output)
    }

    public func run() throws {
        let loaded = try model.load()
        let body = try inspectionText(text, maxChars: at + length)
        let chars = Array(body)
        guard at < chars.count else {
            throw CLIError("--at \(at) is outside the text (\(chars.count) characters; positions 0…\(chars.count - 1))", status: .usage)
        }
        let replacement: Character
        if let typo {
            replacement = Character(typo)
        } else {
            var rng = SeededGenerator(seed: seed)
            let choices = loaded.alphabet.symbols.compactMap { $0.first }.filter { $0 != chars[at] && $0 != "\n" }
            replacement = choices[Int(rng.next() % UInt64(max(choices.count, 1)))]
        }
        let d = try CharInspection.typoDistances(loaded.model, alphabet: loaded.alphabet, text: body, position: at,
                                                 replacement: replacement)
        let after = d.map { Array($0[at...]) }
        try InspectionFigures.typo(after, title: "typo at \(at): \(TextPreparation.shown(chars[at])) → \(TextPreparation.shown(replacement))",
                                   to: output)
        for (l, row) in after.enumerated() {
            let half = row.firstIndex { $0 < (row.first ?? 0) / 2 && $0 < (row.max() ?? 0) / 2 }
            print(String(format: "layer %d: distance %.3f at the typo, largest %.3f, %@", l + 1, row.first ?? 0, row.max() ?? 0,
                         half.map { "below half of both from \($0) steps after" } ?? "not below half within \(row.count) steps"))
        }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: ["layers": after, "at": at]), as: UTF8.self))
        }
        print("wrote \(output)")
    }
}

/// `quill char saturation`: how often each gate is saturated (Karpathy et al. 2016).
public struct CharSaturationCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "saturation",
        abstract: "Gate saturation of an LSTM or GRU char model over a text, per layer and gate.",
        discussion: """
        For every unit of every layer, the fraction of steps its gate is left-saturated (below 0.1) and \
        right-saturated (above 0.9): LSTM input, forget and output gates, GRU reset and update gates, one panel per \
        gate, a dot per unit coloured by layer (Karpathy, Johnson and Fei-Fei 2016, Fig. 3). With --json, the \
        fractions are printed as JSON too.
        """)
    @OptionGroup var model: CharModelFile
    @Option(help: "UTF-8 text the model reads.") var text: String
    @Option(name: .customLong("max-chars"), help: "Read at most this many characters of it (1…10000000).")
    var maxChars = 20_000
    @Option(name: .shortAndLong, help: "Figure: .png, .svg or .pdf.") var output: String
    @Flag(help: "Also print the fractions as JSON.") var json = false

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        do { _ = try OutputFormat.forPath(output) } catch { throw ValidationError("\(error)") }
        try OptionRange.check("max-chars", maxChars, 1...10_000_000)
        try refuseNonFiles([("--text", text), ("--model", model.file)])
        try refuseOverwriting(inputs: [("--text", text), ("--model", model.file)], output: output)
    }

    public func run() throws {
        let loaded = try model.load()
        let body = try inspectionText(text, maxChars: maxChars)
        let s = try CharInspection.saturation(loaded.model, alphabet: loaded.alphabet, text: body)
        var gates = [String]()
        var points = [String: [[(left: Double, right: Double)]]]()
        for entry in s {
            if !gates.contains(entry.gate) { gates.append(entry.gate) }
            points[entry.gate, default: []].append(Array(zip(entry.left, entry.right)).map { (left: $0.0, right: $0.1) })
        }
        try InspectionFigures.saturation(gates: gates, layers: loaded.model.config.layers, points: points,
                                         title: "gate saturation over \(body.count) characters", to: output)
        for entry in s {
            let mean = { (v: [Double]) in v.reduce(0, +) / Double(max(v.count, 1)) }
            print(String(format: "layer %d %@ gate: mean left-saturated %.3f, right-saturated %.3f", entry.layer + 1, entry.gate,
                         mean(entry.left), mean(entry.right)))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(s), as: UTF8.self))
        }
        print("wrote \(output)")
    }
}
