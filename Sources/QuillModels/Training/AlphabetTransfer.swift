import QuillData
import QuillNumerics

/// How `--init-from` carries a synthesis network's weights to data prepared with another alphabet: fine-tuning a
/// trained network on data that adds characters (for example the Hershey lines' digits, X, Z and symbols, issue 11).
///
/// Only the layers' input weights depend on the alphabet: each layer's `wx` (I_n, 4H) ends with V rows for the
/// window vector w_t (Graves eq. 47; `RecurrentStack`), one per symbol. A symbol in both alphabets keeps its row; a
/// symbol the old alphabet lacks starts from the old unknown symbol's row (index 0), which is what the old network
/// read for that character in its own training data (characters below its alphabet's frequency cut became the
/// unknown symbol); old symbols the new alphabet lacks are dropped. Every other tensor has the same shape in both
/// networks and is copied as it is.
struct AlphabetTransfer: Equatable {
    /// For each index of the new alphabet, the index of the old alphabet whose weights it starts from.
    let sources: [Int]
    /// New symbols the old alphabet lacks (started from the unknown symbol), in the new alphabet's order.
    let added: [String]
    /// Old symbols the new alphabet lacks, in the old alphabet's order.
    let dropped: [String]

    /// - Throws: `TrainingError.invalidOption` when a symbol is new and the old alphabet has no unknown symbol.
    init(from old: Alphabet, to new: Alphabet) throws {
        var oldIndex = [UInt32: Int]()
        for (i, s) in old.symbols.enumerated() {
            if let scalar = s.unicodeScalars.first, oldIndex[scalar.value] == nil { oldIndex[scalar.value] = i }
        }
        var sources = [Int](), added = [String]()
        for (i, s) in new.symbols.enumerated() {
            let scalar = s.unicodeScalars.first?.value
            if i == 0 && new.hasUnknownSymbol && old.hasUnknownSymbol {
                sources.append(0)  // the unknown symbol stands for the characters each alphabet lacks
            } else if let scalar, let j = oldIndex[scalar], !(j == 0 && old.hasUnknownSymbol) {
                sources.append(j)
            } else {
                guard old.hasUnknownSymbol else {
                    throw TrainingError.invalidOption("--init-from: the model's alphabet has no unknown symbol to start the new symbol \(s.debugDescription) from")
                }
                sources.append(0)
                added.append(s)
            }
        }
        let kept = Set(sources)
        self.sources = sources
        self.added = added
        dropped = old.symbols.indices.filter { !kept.contains($0) }.map { old.symbols[$0] }
    }

    /// One line for the run's reader, naming what changed (blanks and control characters by name or code point).
    var summary: String {
        func names(_ symbols: [String]) -> String {
            symbols.map { s in
                guard let c = s.unicodeScalars.first else { return s }
                if c == " " { return "space" }
                if c.properties.isWhitespace || c.properties.generalCategory == .control {
                    return "U+" + String(c.value, radix: 16, uppercase: true).leftPadded(to: 4)
                }
                return s
            }.joined(separator: " ")
        }
        var parts = ["\(sources.count) symbols"]
        if !added.isEmpty {
            parts.append("\(added.count) new (\(names(added))) \(added.count == 1 ? "starts" : "start") from the unknown "
                         + "symbol's weights")
        }
        if !dropped.isEmpty { parts.append("\(dropped.count) dropped (\(names(dropped)))") }
        return "--init-from: alphabet mapped by symbol: " + parts.joined(separator: "; ")
    }

    /// Copies `source`'s values into `target` (`RunFiles.copyWeights`), each layer's input weights by symbol: their
    /// last `sources.count` rows (target) and `oldSize` rows (source) are the window's, remapped even when both
    /// alphabets have the same size (the same symbols in another order, or one swapped for another).
    /// - Throws: `TrainingError.invalidOption` naming the first tensor that does not correspond.
    func copy(from source: [Parameter<Float>], into target: [Parameter<Float>], oldSize: Int, path: String) throws {
        let newSize = sources.count
        // A layer's input weights (I, 4H): the same columns, rows [x, h below] equal, then the window's rows.
        func windowInput(_ s: Parameter<Float>, _ t: Parameter<Float>) -> Bool {
            t.name.hasSuffix(".wx") && t.shape.count == 2 && s.shape.count == 2 && s.shape[1] == t.shape[1]
                && s.shape[0] - oldSize == t.shape[0] - newSize && s.shape[0] >= oldSize && t.shape[0] >= newSize
        }
        try RunFiles.copyWeights(from: source, into: target, path: path, remapped: windowInput) { s, t in
            let columns = t.shape[1], shared = t.shape[0] - newSize
            func copyRow(_ from: Int, _ to: Int) {
                for c in 0..<columns { t.value[to * columns + c] = s.value[from * columns + c] }
            }
            for r in 0..<shared { copyRow(r, r) }
            for (r, j) in sources.enumerated() { copyRow(shared + j, shared + r) }
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
