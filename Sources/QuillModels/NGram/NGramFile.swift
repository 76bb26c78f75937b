import Foundation
import QuillData
import QuillIO

/// The n-gram model file (`DIR/model.ngram`), version 1. Little-endian:
///
///     "QUILLNGM"                     8 bytes, the magic
///     version                        UInt32 (1)
///     header length                  UInt32, then that many bytes of JSON: `Header` (options, vocabulary, nodes)
///     nodes 1…nodes−1, in id order   three LEB128 varints each: id − parent (≥ 1), token, value
///     checksum                       UInt64, FNV-1a 64 of every byte before it
///
/// The trie is rebuilt from the nodes on load; every number is checked (see `load`), and any failure is one
/// `CheckpointError.corrupt` line naming the file and what is wrong.
public enum NGramFile {
    public static let fileName = "model.ngram"
    static let magic = Array("QUILLNGM".utf8)
    static let version: UInt32 = 1
    /// A node takes at least 3 bytes; a header asking for more nodes than that allows is corrupt.
    static let minimumNodeBytes = 3

    struct Header: Codable {
        var options: NGramOptions
        /// The vocabulary as `Alphabet.symbolsJSON` (a JSON array of one-scalar strings, in index order).
        var vocabulary: String
        var vocabularySize: Int
        /// The length of the text counted.
        var trainingCharacters: Int
        /// Nodes, the root included.
        var nodes: Int
    }

    /// The bytes of `model`'s file.
    public static func encode(_ model: NGramModel) throws -> Data {
        let header = Header(options: model.options, vocabulary: model.alphabet.symbolsJSON,
                            vocabularySize: model.alphabet.count,
                            trainingCharacters: model.trainingCharacters, nodes: model.trie.count)
        let json = try JSONEncoder.sorted.encode(header)
        var out = [UInt8]()
        out.reserveCapacity(16 + json.count + model.trie.count * 6 + 8)
        out += magic
        append32(version, to: &out)
        append32(UInt32(json.count), to: &out)
        out += json
        let trie = model.trie
        for id in 1..<trie.count {
            appendVarint(UInt64(id - trie.parent(id)), to: &out)
            appendVarint(UInt64(UInt32(bitPattern: trie.token(id))), to: &out)
            appendVarint(UInt64(trie.values[id]), to: &out)
        }
        let sum = fnv1a(out[...])
        for b in 0..<8 { out.append(UInt8(truncatingIfNeeded: sum >> (8 * UInt64(b)))) }
        return Data(out)
    }

    /// Writes `model` to `path` atomically (the old file stays until the new one is complete).
    /// - Throws: `FileSystemError`.
    public static func save(_ model: NGramModel, to path: String) throws {
        try AtomicOutput.write(try encode(model), to: path)
    }

    /// Reads a model file.
    /// - Throws: `CheckpointError.missing` when there is no file, `.unreadable` when it cannot be read, `.corrupt`
    ///   naming the first thing wrong: the magic, the version, the header, a node (parent, depth, token, value,
    ///   repeated n-gram), the length or the checksum.
    public static func load(_ path: String) throws -> NGramModel {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missing(path) }
        let data: Data
        do { data = try InputFile.read(path, maxBytes: 1 << 36) } catch { throw CheckpointError.unreadable(path) }
        return try decode([UInt8](data), path: path)
    }

    /// A model from a file's bytes; `path` names it in errors. See `load`.
    static func decode(_ bytes: [UInt8], path: String) throws -> NGramModel {
        func corrupt(_ why: String) -> CheckpointError { .corrupt(path, why) }
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else {
            throw corrupt("not a Quill n-gram model (it does not start with QUILLNGM)")
        }
        let v = read32(bytes, at: 8)
        guard v == version else {
            throw corrupt("format version \(v), but this quill reads version \(version); retrain with `quill ngram train`")
        }
        guard bytes.count >= 24 else { throw corrupt("the file ends after \(bytes.count) bytes, before its checksum") }
        let end = bytes.count - 8
        var stored: UInt64 = 0
        for b in 0..<8 { stored |= UInt64(bytes[end + b]) << (8 * UInt64(b)) }
        guard fnv1a(bytes[..<end]) == stored else {
            throw corrupt("checksum mismatch (the file is truncated or damaged)")
        }
        let headerLength = Int(read32(bytes, at: 12))
        guard headerLength <= end - 16 else { throw corrupt("the header runs past the end of the file") }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: JSONText.escapingByteOrderMarks(Data(bytes[16..<(16 + headerLength)]))) } catch {
            throw corrupt("unreadable header")
        }
        let o = header.options
        if let why = o.validate() { throw corrupt("bad options: \(why)") }
        guard let alphabet = try? Alphabet(json: header.vocabulary, unknownSymbol: false, textPolicy: .strict),
              alphabet.count >= 1, alphabet.count == header.vocabularySize else {
            throw corrupt("missing vocabulary, or its size differs from vocabularySize")
        }
        guard header.trainingCharacters >= o.order else {
            throw corrupt("trainingCharacters (\(header.trainingCharacters)) is below the order (\(o.order))")
        }
        var at = 16 + headerLength
        guard header.nodes >= 2, header.nodes - 1 <= (end - at) / minimumNodeBytes else {
            throw corrupt("the header's node count (\(header.nodes)) does not fit the file's length")
        }
        let kn = o.smoothing == .kneserNey
        var trie = NGramTrie()
        for id in 1..<header.nodes {
            guard let delta = readVarint(bytes, &at, end: end), let token = readVarint(bytes, &at, end: end),
                  let value = readVarint(bytes, &at, end: end) else {
                throw corrupt("node \(id) of \(header.nodes - 1) runs past the end of the data")
            }
            guard delta >= 1, delta <= UInt64(id) else { throw corrupt("node \(id): its parent is not an earlier node") }
            let parent = id - Int(delta)
            guard Int(trie.depths[parent]) < o.order else {
                throw corrupt("node \(id) is deeper than the order (\(o.order))")
            }
            guard token < UInt64(alphabet.count) else {
                throw corrupt("node \(id): character index \(token) is outside the vocabulary of \(alphabet.count)")
            }
            // Counts are at least 1 (every stored n-gram was seen); continuation counts (Kneser–Ney below the top
            // order) are at most the vocabulary size, and may be 0 for an n-gram seen only at the text's start.
            let top = Int(trie.depths[parent]) + 1 == o.order
            let highest: UInt64 = kn && !top ? UInt64(alphabet.count) : UInt64(UInt32.max)
            let lowest: UInt64 = kn && !top ? 0 : 1
            guard value >= lowest, value <= highest else {
                throw corrupt("node \(id): count \(value) is outside \(lowest)…\(highest)")
            }
            let (new, added) = trie.insert(UInt32(parent), UInt32(token))
            guard added, Int(new) == id else { throw corrupt("node \(id) repeats an n-gram") }
            trie.values[id] = UInt32(value)
        }
        guard at == end else { throw corrupt("\(end - at) bytes after the last node") }
        let model = NGramModel(trie: trie, alphabet: alphabet, options: o)
        model.trainingCharacters = header.trainingCharacters
        return model
    }

    // MARK: - Bytes

    static func append32(_ v: UInt32, to out: inout [UInt8]) {
        for b in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(b)))) }
    }

    static func read32(_ bytes: [UInt8], at i: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[i + $1]) << (8 * UInt32($1)) }
    }

    /// LEB128: 7 bits a byte, low bits first, the high bit set on every byte but the last.
    static func appendVarint(_ v: UInt64, to out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// A varint at `at` (advanced past it), or nil when it runs past `end` or exceeds 35 bits (no stored number
    /// exceeds 32).
    static func readVarint(_ bytes: [UInt8], _ at: inout Int, end: Int) -> UInt64? {
        var v: UInt64 = 0, shift: UInt64 = 0
        while at < end, shift < 35 {
            let b = bytes[at]
            at += 1
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
        return nil
    }

    static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

extension NGramModel {
    /// Reads and counts a text for a new model: the vocabulary is every character of the files (as `char train`'s),
    /// the counts come from the first 1 − `valFraction` of them (`CharTrainOptions.validationStart`).
    /// - Throws: `CharModelError` for unreadable data, bad options, an order above the training part's length, or
    ///   more n-grams than 32-bit node ids can number; `MemoryBudgetError` when the model could outgrow `budget`.
    ///   All are checked before counting.
    public static func train(paths: [String], options: NGramOptions, budget: MemoryBudget? = nil) throws -> NGramModel {
        let corpus = try CharCorpus(paths: paths)
        let alphabet = Alphabet(text: corpus.text)
        let tokens = alphabet.encode(corpus.text)
        let start = CharTrainOptions.validationStart(count: tokens.count, valFraction: options.valFraction)
        var o = options
        o.dataFingerprint = corpus.fingerprint
        let name = paths.count == 1 ? paths[0] : "the --data files"
        if options.order > start {
            throw CharModelError.invalidOption("\(name): --order \(options.order) is above the length of the training text (\(start) of its \(tokens.count) characters, after holding out --val-fraction \(options.valFraction)); lower --order or use more text")
        }
        let most = maximumNGrams(characters: start, vocabulary: alphabet.count, order: options.order)
        if most >= Double(UInt32.max) {
            throw CharModelError.invalidOption("\(name): an order-\(options.order) model of \(start) characters could hold more than 2^32 − 1 n-grams, more than it can number; lower --order or use less text")
        }
        try budget?.check(memoryEstimate(characters: start, ngrams: most))
        return try NGramModel(tokens: Array(tokens[..<start]), alphabet: alphabet, options: o)
    }

    /// An upper bound on the distinct n-grams of lengths 1…n in a text of T characters over V symbols:
    /// Σ_k min(V^k, T − k + 1).
    static func maximumNGrams(characters t: Int, vocabulary v: Int, order n: Int) -> Double {
        (1...max(n, 1)).reduce(0.0) { sum, k in sum + min(pow(Double(v), Double(k)), Double(max(t - k + 1, 0))) }
    }

    /// Counting a text into a model: 49 bytes per n-gram (key 8, depth 1, value 4, four context sums 16, table slots
    /// 8 at half load, and arrays growing by doubling: measured 44 on War and Peace at order 20), and the text.
    static func memoryEstimate(characters: Int, ngrams: Double) -> MemoryEstimate {
        MemoryEstimate(what: "ngram train", parts: [
            MemoryEstimate.Part(name: "n-grams", bytes: 49 * ngrams),
            MemoryEstimate.Part(name: "text", bytes: 9 * Double(characters)),
        ], advice: "lower --order or use less text")
    }
}
