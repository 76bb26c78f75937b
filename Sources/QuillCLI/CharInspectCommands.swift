import ArgumentParser
import Foundation
import QuillData
import QuillIO
import QuillModels
import QuillNN
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
        print("wrote \(TextPreparation.shown(text: output))")
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
        print("wrote \(TextPreparation.shown(text: output))")
    }
}

extension CharInspection.CellValue: ExpressibleByArgument {}

/// `quill char cells`: the text coloured by units' values (Karpathy, Johnson and Fei-Fei 2016).
public struct CharCellsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cells",
        abstract: "Colour a text by units' cell states, hidden states or gates; --find ranks units by what they track.",
        discussion: """
        The model reads the text once (its own forward pass, state carried); each unit drawn shows the text with \
        every character on a colour for the unit's --value after reading it, the units one under another. Layers \
        count from 1, units from 0. --unit K draws one unit of --layer (default: the last); --top N the N units of \
        the layer that vary most. --find ranks every unit of every layer (or of --layer) by the absolute Pearson \
        correlation of its value with features of the text (inside quotes, inside parentheses, position in the \
        line, after a newline), prints the 5 best per feature, and draws the best --top (default 1) per feature; a \
        feature that is constant over the text (no quotes in it, say) is reported and skipped. The figure shows the \
        first --show characters; the ranking uses all --max-chars. -o takes .png, .svg, .pdf or .html (one \
        self-contained page).
        """)
    @OptionGroup var model: CharModelFile
    @Option(help: "UTF-8 text the model reads.") var text: String
    @Option(name: .customLong("max-chars"), help: "Read at most this many characters of it (1…1000000).")
    var maxChars = 10_000
    @Option(help: "Layer, counting from 1 (default: the last; with --find, every layer).") var layer: Int?
    @Option(help: "Draw this unit of the layer, counting from 0.") var unit: Int?
    @Option(help: "Draw the N units that vary most (with --find: the N best per feature) (1…50).") var top: Int?
    @Option(help: "What colours the text: cell, hidden, input, forget, candidate, output (LSTM); hidden, reset, update, candidate (GRU); hidden (RNN, MRNN). (default: cell where the cell has one, else hidden)")
    var value: CharInspection.CellValue?
    @Flag(help: "Rank units by |Pearson r| with features of the text, print the best, draw the best.") var find = false
    @Option(help: "Characters of the text drawn (1…20000).") var show = 600
    @Option(help: "Characters per drawn line before wrapping (10…1000).") var columns = 100
    @Option(name: .shortAndLong, help: "Figure: .png, .svg, .pdf or .html.") var output: String

    public init() {}

    var isHTML: Bool { (output as NSString).pathExtension.lowercased() == "html" }

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        if !isHTML { do { _ = try OutputFormat.forPath(output) } catch { throw ValidationError("\(error); or .html") } }
        try OptionRange.check("max-chars", maxChars, 1...1_000_000)
        try OptionRange.check("layer", layer, 1...32)
        try OptionRange.check("unit", unit, 0...16_383)
        try OptionRange.check("top", top, 1...50)
        try OptionRange.check("show", show, 1...20_000)
        try OptionRange.check("columns", columns, 10...1000)
        if unit != nil, top != nil { throw ValidationError("give --unit or --top, not both") }
        if unit != nil, find { throw ValidationError("--find chooses the units; drop --unit (or --find)") }
        try refuseNonFiles([("--text", text), ("--model", model.file)])
        try refuseOverwriting(inputs: [("--text", text), ("--model", model.file)], output: output)
    }

    public func run() throws {
        let loaded = try model.load()
        let config = loaded.model.config
        let layer0 = layer.map { $0 - 1 }
        let value = self.value ?? (config.cell.hasCell ? .cell : .hidden)
        try CharInspection.checkUnit(config, layer: layer0, unit: unit, value: value)
        let body = try inspectionText(text, maxChars: maxChars)
        let chars = Array(body)
        let layers = find && layer0 == nil ? Array(0..<config.layers) : [layer0 ?? config.layers - 1]
        let values = try CharInspection.unitValues(loaded.model, alphabet: loaded.alphabet, text: body, layers: layers,
                                                   value: value)
        let slot = { (l: Int) in layers.firstIndex(of: l) ?? 0 }
        let shown = min(show, chars.count)
        let row = { (l: Int, u: Int, note: String) in
            CellFigures.Row(label: "layer \(l + 1), unit \(u): \(value.rawValue)\(note)",
                            values: values[slot(l)][u].prefix(shown).map(Double.init))
        }
        var rows = [CellFigures.Row]()
        if find {
            for feature in TextFeature.allCases {
                let best = CharInspection.rankUnits(values, layers: layers, feature: feature.values(chars), top: max(5, top ?? 1))
                guard !best.isEmpty else {
                    print("\(feature.rawValue): constant over these \(chars.count) characters; not ranked")
                    continue
                }
                print("\(feature.rawValue): " + best.prefix(5).map {
                    String(format: "layer %d unit %d r = %+.3f", $0.layer + 1, $0.unit, $0.r)
                }.joined(separator: ", "))
                for b in best.prefix(top ?? 1) {
                    rows.append(row(b.layer, b.unit, String(format: ", r = %+.2f with %@", b.r, feature.rawValue)))
                }
            }
            guard !rows.isEmpty else {
                throw CLIError("no feature varies over the text (and no unit with it), so there is nothing to rank; give a longer text", status: .dataError)
            }
        } else if let unit {
            rows = [row(layers[0], unit, "")]
        } else {
            rows = CharInspection.mostVariable(values[0], top: top ?? 5).map { row(layers[0], $0, "") }
        }
        let bounds = value.bounds(config.cell)
        var label = "\(value.rawValue) \(value == .cell || value == .hidden ? "state" : "gate")"
        if bounds == nil {
            rows = CellFigures.scaledPerRow(rows)
            label += " ÷ unit's max"
        }
        let coloring = CellFigures.Coloring(range: bounds ?? -1...1)
        let title = "\(config.layers)×\(config.hidden) \(config.cell.rawValue): \(label) over \(shown) characters"
        if isHTML {
            try CellFigures.writeHTML(text: Array(chars.prefix(shown)), rows: rows, coloring: coloring, valueLabel: label,
                                      title: title, to: output)
        } else {
            try CellFigures.draw(text: Array(chars.prefix(shown)), rows: rows, coloring: coloring, valueLabel: label,
                                 title: title, columns: columns, to: output)
        }
        print("wrote \(TextPreparation.shown(text: output))")
    }
}

/// `quill char similarity`: trained models laid out by what they predict (Karpathy et al. 2016, Fig. 5), or one
/// model's hidden states.
public struct CharSimilarityCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "similarity",
        abstract: "Lay out char models by their predictions with t-SNE (one point per model), or one model's states.",
        discussion: """
        Each --model (give it 3 or more times; the runs of `quill char sweep`, say) reads the same --text, and its \
        predicted next-character distributions at every position, symbol by symbol over the models' vocabularies, \
        become one vector; t-SNE (van der Maaten and Hinton 2008, exact) lays the vectors out in two dimensions, \
        each model a dot coloured by its cell type and labelled with its name (--labels, or its directory's name). \
        Models that predict alike sit together (Karpathy, Johnson and Fei-Fei 2016, Fig. 5). With --states and one \
        --model, each character of the text is a point instead: the hidden state of --layer after reading it, \
        coloured by the class of the character that follows. The layout is seeded (--seed) and deterministic. \
        With --json, the map is printed as JSON too.
        """)
    @Option(name: .customLong("model"), help: "Model directory (or .safetensors file); repeat for each model.")
    var models: [String] = []
    @Option(help: "UTF-8 text the models read (held out from their training).") var text: String
    @Option(name: .customLong("max-chars"), help: "Read at most this many characters of it (4…5000).")
    var maxChars = 1000
    @Flag(help: "Map one model's hidden states over the text instead of the models.") var states = false
    @Option(help: "With --states: the layer, counting from 1 (default: the last).") var layer: Int?
    @Option(help: "Names of the models in the figure, comma-separated, one per --model (default: their directories' names).")
    var labels: String?
    @Option(help: "t-SNE perplexity, the effective number of neighbours: at least 1 and below the number of points (default: min(30, (points − 1)/3)).")
    var perplexity: Double?
    @Option(help: "t-SNE gradient steps (300…10000).") var iterations = 1000
    @Option(help: "Seed of the initial map.") var seed: UInt64 = 1
    @Option(name: .shortAndLong, help: "Figure: .png, .svg or .pdf.") var output: String
    @Flag(help: "Also print the map as JSON.") var json = false

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        do { _ = try OutputFormat.forPath(output) } catch { throw ValidationError("\(error)") }
        try OptionRange.check("max-chars", maxChars, 4...5000)
        try OptionRange.check("layer", layer, 1...32)
        try OptionRange.check("perplexity", perplexity, 1...5000)
        try OptionRange.check("iterations", iterations, 300...10_000)
        if states {
            guard models.count == 1 else { throw ValidationError("--states maps one model's states; give --model once (got \(models.count))") }
            if labels != nil { throw ValidationError("--labels names models; a --states map has one") }
        } else {
            guard models.count >= 3 else {
                throw ValidationError("give --model at least 3 times (got \(models.count)): t-SNE lays out 3 or more points; for one model's states add --states")
            }
            if layer != nil { throw ValidationError("--layer goes with --states") }
        }
        if let labels {
            let names = labels.split(separator: ",", omittingEmptySubsequences: false)
            if names.count != models.count {
                throw ValidationError("--labels names \(names.count) models but --model is given \(models.count) times")
            }
            if names.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                throw ValidationError("--labels has an empty name; give every model a name")
            }
        }
        for (i, a) in models.enumerated() {
            if let j = models.indices.first(where: { $0 > i && sameFile(modelFile(models[$0]), modelFile(a)) }) {
                throw ValidationError("--model \(TextPreparation.shown(text: models[j])) is given twice (the same file as \(TextPreparation.shown(text: a))); give each model once")
            }
        }
        try refuseNonFiles([("--text", text)] + models.map { ("--model", modelFile($0)) })
        try refuseOverwriting(inputs: [("--text", text)] + models.map { ("--model", modelFile($0)) }, output: output)
    }

    /// The name a model is drawn with: its directory's name, or its file's without the extension.
    static func name(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return isDirectory(path) ? url.lastPathComponent : url.deletingPathExtension().lastPathComponent
    }

    public func run() throws {
        let body = try inspectionText(text, maxChars: maxChars)
        guard body.unicodeScalars.count >= 4 else {
            throw CLIError("the text has \(body.unicodeScalars.count) characters; the map needs at least 4", status: .dataError)
        }
        var loaded = [CharSimilarity.Model]()
        let names = labels.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            ?? models.map(Self.name)
        for (path, name) in zip(models, names) {
            let l = try CharModelFile.load(path)
            loaded.append(CharSimilarity.Model(name: name, model: l.model, alphabet: l.alphabet))
        }
        let points = states ? body.unicodeScalars.count - 1 : loaded.count
        var options = TSNE.Options(perplexity: perplexity ?? TSNE.defaultPerplexity(points: points), iterations: iterations,
                                   seed: seed)
        options.exaggerationIterations = min(250, iterations / 4)
        let map: CharSimilarity.Map
        do {
            if states {
                let m = loaded[0]
                map = try CharSimilarity.stateMap(m.model, alphabet: m.alphabet, text: body,
                                                  layer: (layer ?? m.model.config.layers) - 1, options: options)
            } else {
                map = try CharSimilarity.modelMap(loaded, text: body, options: options)
            }
        } catch let failure as TSNE.Failure {
            throw CLIError("--perplexity: \(failure)", status: .usage)
        }
        let title = states
            ? "\(loaded[0].name): layer \(layer ?? loaded[0].model.config.layers) states over \(map.characters) characters"
            : "\(loaded.count) models by their predictions on \(map.characters) characters"
        try InspectionFigures.map(map.points.map { ($0.x, $0.y, $0.label, $0.category) }, labels: !states, title: title,
                                  to: output)
        if !states {
            // Each model's nearest neighbour in the map: the model that predicts most like it.
            for (i, p) in map.points.enumerated() {
                let others = map.points.indices.filter { $0 != i }
                // Invariant: a model map has at least 3 points (validate), so `others` is not empty.
                let j = others.min { a, b in
                    hypot(map.points[a].x - p.x, map.points[a].y - p.y) < hypot(map.points[b].x - p.x, map.points[b].y - p.y)
                }!
                print("\(p.label) (\(p.category)): nearest \(map.points[j].label) (\(map.points[j].category))")
            }
        } else {
            var counts = [String: Int]()
            for p in map.points { counts[p.category, default: 0] += 1 }
            print(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        print(String(format: "t-SNE: perplexity %.3g, %d steps, KL(P‖Q) %.4f nats", map.perplexity, iterations, map.divergence))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(map), as: UTF8.self))
        }
        print("wrote \(TextPreparation.shown(text: output))")
    }
}

/// `quill char gradient-flow`: ‖∂L_T/∂h_t‖ through time, per layer (note 003's vanishing gradients).
public struct CharGradientFlowCommand: ParsableCommand {
    /// What one gradient-flow measurement allocates: a training step's weights and activations for --batch
    /// sequences of --length (no optimiser state), checked before the model is made.
    static func memoryEstimate(_ config: CharModelConfig, length: Int, batch: Int) -> MemoryEstimate {
        MemoryEstimate.charTraining(config, batch: batch, seq: length, optimizer: .sgd, characters: 0)
            .withoutTraining(what: "char gradient-flow", advice: "lower --hidden, --layers, --length or --batch")
    }

    public static let configuration = CommandConfiguration(
        commandName: "gradient-flow",
        abstract: "Plot the norm of ∂L_T/∂h_t for t = T…1, per layer, for trained or untrained char models.",
        discussion: """
        The model reads --batch sequences of --length characters; L_T is the cross-entropy of its prediction after the \
        last one (of the next character). The figure draws, on a log scale, the norm of the gradient of L_T with \
        respect to each layer's hidden state at every step t (the mean over the sequences), one colour per model, \
        each layer in its own dash pattern. With --model (repeatable), trained models, reading windows of --text drawn \
        with --seed (without --text, random characters); without it, untrained models of each --cell, --layers and \
        --hidden, drawn with --seed, reading random characters of a vocabulary of 65.
        """)
    @Option(help: "Trained char model directory (or .safetensors); repeat to compare several.") var model: [String] = []
    @Option(help: "Untrained models of these cells, comma-separated (lstm, gru, rnn, rnn-relu, mrnn, phased-lstm); without --model only.")
    var cell: String?
    @Option(help: "T: characters read before the loss (2…10000).") var length = 100
    @Option(help: "Layers of the untrained models (1…32; default 2).") var layers: Int?
    @Option(help: "Units per layer of the untrained models (1…16384; default 128).") var hidden: Int?
    @Option(help: "UTF-8 text the trained models read windows of.") var text: String?
    @Option(help: "Sequences averaged over (1…10000).") var batch = 32
    @Option(help: "Seed of the untrained weights and of the sequences.") var seed: UInt64 = 1
    @Option(name: .shortAndLong, help: "Figure: .png, .svg or .pdf.") var output: String
    @Flag(help: "Also print the norms as JSON.") var json = false

    /// The vocabulary of the untrained models: tiny Shakespeare's 65 characters.
    static let untrainedVocabulary = 65

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        do { _ = try OutputFormat.forPath(output) } catch { throw ValidationError("\(error)") }
        if length < 2 { throw ValidationError("--length must be at least 2 (the loss is at T; T − 1 steps before it), got \(length)") }
        try OptionRange.check("length", length, 2...10_000)
        try OptionRange.check("layers", layers, 1...32)
        try OptionRange.check("hidden", hidden, 1...16384)
        try OptionRange.check("batch", batch, 1...10_000)
        if !model.isEmpty && cell != nil { throw ValidationError("--cell makes untrained models; with --model the model's own cell is used: drop one") }
        if model.isEmpty && text != nil { throw ValidationError("--text is read by --model models only; untrained models read random characters") }
        if !model.isEmpty && (layers != nil || hidden != nil) {
            throw ValidationError("--layers and --hidden shape untrained models; a --model has its own: drop them")
        }
        if let cell {
            let cells = try CharSweepCommand.cells("cell", cell)
            try refuseRepeats("cell", cells) { $0.rawValue }
            if let c = cells.first(where: { !$0.isRecurrent }) {
                throw ValidationError("--cell \(c.rawValue): gradient flow through time follows a recurrent state; \(c.rawValue) models have none")
            }
        }
        try refuseNonFiles(model.map { (what: "--model", path: Optional(modelFile($0))) } + [("--text", text)])
        try refuseOverwriting(inputs: model.map { (what: "--model", path: Optional(modelFile($0))) } + [("--text", text)],
                              output: output)
    }

    public func run() throws {
        try refuseUnwritableOutput(output)
        var curves = [InspectionFigures.Curve]()
        var table = [String: [[Double]]]()
        func add(_ name: String, _ norms: [[Double]], _ k: Int) {
            table[name] = norms
            for (l, row) in norms.enumerated() {
                let label = norms.count > 1 ? "\(name), layer \(l + 1)" : name
                curves.append(.init(name: label, xs: row.indices.map { Double($0 + 1) }, ys: row, colorIndex: k, dashIndex: l))
                let first = row.first ?? 0, last = row.last ?? 0
                print(String(format: "%@: ‖∂L_T/∂h_t‖ %.3e at t = T, %.3e at t = 1 (ratio %.3e)", label, last, first,
                             last > 0 ? first / last : .nan))
                if let lastZero = row.lastIndex(where: { $0 == 0 }) {
                    print("  \(label): the norm is exactly 0 at \(row.filter { $0 == 0 }.count) steps, the last at t = \(lastZero + 1); the log plot leaves them out")
                }
            }
        }
        if model.isEmpty {
            let cells = try CharSweepCommand.cells("cell", cell ?? "rnn,lstm")
            for (k, c) in cells.enumerated() {
                var rng = SeededGenerator(seed: seed)
                let config = CharModelConfig(cell: c, layers: layers ?? 2, hidden: hidden ?? 128,
                                             vocabularySize: Self.untrainedVocabulary)
                try MemoryBudget.current().check(Self.memoryEstimate(config, length: length, batch: batch))
                let m = CharModel<Float>(config: config, rng: &rng)
                var dataRNG = SeededGenerator(seed: seed).derived(1)
                let rows = try GradientFlow.rows(text: nil, vocabularySize: Self.untrainedVocabulary, steps: length,
                                                 batch: batch, rng: &dataRNG)
                add("untrained \(layers ?? 2)×\(hidden ?? 128) \(c.rawValue)", GradientFlow.charModel(m, rows: rows), k)
            }
        } else {
            for (k, path) in model.enumerated() {
                let loaded = try CharCheckpoint.load(modelFile(path))
                var tokens: [Int32]?
                if let text {
                    let body = try inspectionText(text, maxChars: 10_000_000)
                    tokens = try CharInspection.encode(body, alphabet: loaded.alphabet, what: "the text")
                }
                var dataRNG = SeededGenerator(seed: seed).derived(1)
                let rows = try GradientFlow.rows(text: tokens, vocabularySize: loaded.alphabet.count, steps: length,
                                                 batch: batch, rng: &dataRNG)
                let c = loaded.model.config
                try CharInspection.requireRecurrent(loaded.model, "gradient flow through time")
                try MemoryBudget.current().check(Self.memoryEstimate(c, length: length, batch: batch))
                add("\(TextPreparation.shown(text: (path as NSString).lastPathComponent)) (\(c.layers)×\(c.hidden) \(c.cell.rawValue))",
                    GradientFlow.charModel(loaded.model, rows: rows), k)
            }
        }
        try InspectionFigures.gradientFlow(curves, length: length, title: "gradient flow through time, T = \(length)", to: output)
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: ["length": length, "norms": table], options: [.sortedKeys]),
                         as: UTF8.self))
        }
        print("wrote \(TextPreparation.shown(text: output))")
    }
}
