import Foundation

/// A text made ready for a handwriting model: its lines, and what was replaced on the way.
public struct PreparedText: Equatable, Sendable {
    /// The page's lines in order; nil is a blank line (a paragraph gap).
    public var lines: [String?]
    /// Replacements made for characters the model lacks, as "“→\"", sorted, each once.
    public var replacements: [String]

    public init(lines: [String?], replacements: [String]) { self.lines = lines; self.replacements = replacements }
}

/// Why a text can't be written.
public struct TextError: Error, CustomStringConvertible, Equatable {
    public let description: String
    /// The text file could not be opened or read (missing, a directory, no permission), as against text that was
    /// read and cannot be written.
    public let isUnreadableFile: Bool
    public init(_ message: String, unreadableFile: Bool = false) { description = message; isUnreadableFile = unreadableFile }
}

/// Turns text as people have it (typed, pasted, read from a file) into lines a handwriting model can write.
public enum TextPreparation {
    /// Plain equivalents for characters models trained on IAM-OnDB rarely know.
    public static let substitutions: [Character: String] = [
        "“": "\"", "”": "\"", "„": "\"", "«": "\"", "»": "\"", "‘": "'", "’": "'", "‚": "'", "`": "'",
        "–": "-", "—": "-", "−": "-", "\u{2010}": "-", "\u{2011}": "-", "…": "...", "\t": " ",
        "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    ]

    /// Characters that are invisible and mean nothing on a page, dropped silently: byte-order mark / zero-width
    /// no-break space, zero-width space, zero-width non-joiner and joiner, word joiner, soft hyphen, left-to-right
    /// and right-to-left marks.
    public static let dropped: Set<Unicode.Scalar> = ["\u{FEFF}", "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}",
                                                      "\u{00AD}", "\u{200E}", "\u{200F}"]

    /// `text` without the `dropped` characters.
    public static func droppingInvisible(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: text.unicodeScalars.lazy.filter { !dropped.contains($0) })
        return String(out)
    }

    /// Line breaks as one form: CR LF and a lone CR become LF (U+2028 and U+2029 too); invisible characters go.
    public static func normalisingLineBreaks(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var previousCR = false
        for s in text.unicodeScalars {
            defer { previousCR = s == "\r" }
            if dropped.contains(s) { continue }
            switch s {
            case "\r", "\u{2028}", "\u{2029}": out.append("\n")
            case "\n": if !previousCR { out.append("\n") }
            default: out.append(s)
            }
        }
        return String(out)
    }

    /// What `normalisingLineBreaks` does to `text` beyond writing line breaks one way: each `dropped` character as
    /// "U+200B→''" and each Unicode line or paragraph separator as "U+2028→U+000A" (CR LF and a lone CR are line
    /// breaks already, so they are not listed), in the form of `checked`'s replacements, sorted, each once.
    public static func normalisingChanges(_ text: String) -> [String] {
        var changes = Set<String>()
        for s in text.unicodeScalars {
            if dropped.contains(s) { changes.insert("\(shown(Character(s)))→''") }
            else if s == "\u{2028}" || s == "\u{2029}" { changes.insert("\(shown(Character(s)))→U+000A") }
        }
        return changes.sorted()
    }

    /// A character as an error message shows it: quoted when it is visible, by code point when it is a control,
    /// format or whitespace character other than a space (`U+000D`, `U+FEFF`).
    public static func shown(_ c: Character) -> String {
        let invisible = c.unicodeScalars.contains { s in
            switch s.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .spaceSeparator, .unassigned,
                 .privateUse, .surrogate, .nonspacingMark, .enclosingMark:
                return s != " "
            default: return false
            }
        }
        guard invisible else { return "'\(c)'" }
        return c.unicodeScalars.map { "U+" + String(String($0.value, radix: 16, uppercase: true).leftPadded(to: 4)) }
            .joined(separator: " ")
    }

    /// A whole text with every invisible character shown by code point (for messages that quote the text).
    public static func shown(text: String) -> String {
        text.map { c in shown(c).hasPrefix("U+") ? "<\(shown(c))>" : String(c) }.joined()
    }

    /// A plain equivalent of a character, or nil: `substitutions`, a space for any Unicode space, else the
    /// compatibility form (ﬁ → fi, full-width Ａ → A) with diacritics stripped (é → e, Ü → U), when that differs.
    public static func plainEquivalent(_ c: Character) -> String? {
        if let plain = substitutions[c] { return plain }
        if c.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .spaceSeparator }) { return " " }
        let folded = String(c).precomposedStringWithCompatibilityMapping.folding(options: [.diacriticInsensitive], locale: nil)
        return folded != String(c) ? folded.map { substitutions[$0] ?? String($0) }.joined() : nil
    }

    /// A text in the terms of a model's alphabet, under its `textPolicy`: invisible characters (`dropped`: zero-width
    /// spaces and joiners, byte-order marks, soft hyphens) removed, so a text of only those comes back empty; then,
    /// when the policy substitutes, what the alphabet lacks but has a plain equivalent for (`plainEquivalent`:
    /// curly quotes, dashes and hyphens, "…", ligatures and full-width forms, accented letters, ß æ œ ø ł, any
    /// kind of space) replaced; then any character still unknown refused or, when the policy says so, kept to be
    /// read as the unknown symbol. A character is known when every scalar of it is a symbol of the alphabet.
    /// - Returns: the text and the replacements made, as "“→\"", sorted, each once.
    /// - Throws: `TextError` naming the characters the alphabet lacks (invisible ones by code point).
    public static func checked(_ text: String, alphabet: Alphabet) throws -> (text: String, replacements: [String]) {
        let policy = alphabet.textPolicy
        var out = "", replaced = Set<String>(), unknown = [Character]()
        for c in droppingInvisible(text) {
            if alphabet.knows(c) { out.append(c); continue }
            if policy.substitutes, let p = plainEquivalent(c), p.allSatisfy(alphabet.knows) {
                out += p
                replaced.insert("\(shown(c))→\(p == " " ? "' '" : p)")
            } else if policy.unknown == .unknownSymbol {
                out.append(c)
            } else if !unknown.contains(c) {
                unknown.append(c)
            }
        }
        if !unknown.isEmpty {
            // U+FFFD is what bytes that are not UTF-8 become on the way in (a command-line argument typed in a
            // terminal of another encoding): the bytes, not the model, are the problem.
            let notUTF8 = unknown.contains("\u{FFFD}")
                ? " (U+FFFD stands for bytes that were not UTF-8: is the terminal or the file in another encoding?)" : ""
            throw TextError("the model's alphabet lacks \(unknown.map(shown).joined(separator: ", "))\(notUTF8); rephrase without \(unknown.count == 1 ? "it" : "them")")
        }
        return (out, replaced.sorted())
    }

    /// One line of text (a priming text, a line to plot) for a model: line breaks become spaces, then `checked`.
    /// - Throws: `TextError` for characters the alphabet lacks, or when nothing is left to write (the text was only
    ///   invisible characters and spaces).
    public static func line(_ text: String, alphabet: Alphabet) throws -> (text: String, replacements: [String]) {
        let checked = try checked(normalisingLineBreaks(text).replacingOccurrences(of: "\n", with: " "), alphabet: alphabet)
        guard !checked.text.allSatisfy(\.isWhitespace) else {
            throw TextError("the text has nothing to write once its invisible characters (zero-width spaces, joiners, "
                            + "byte-order marks) are dropped; give something to write")
        }
        return checked
    }

    /// A word `cut(_:wrap:alphabet:address:)` treats as an address (a URL, an e-mail address): one with "/" or "@".
    static func isAddress<S: StringProtocol>(_ word: S) -> Bool { word.contains("/") || word.contains("@") }

    /// How `cut(_:wrap:alphabet:address:)` cut a word.
    enum Cut {
        /// After a break the word has: one of its own hyphens, or a "/" or "." of an address.
        case ownBreak
        /// Between two letters, with a hyphen added.
        case hyphenated
        /// After `wrap` characters as they are: no break of its own and no two letters to hyphenate between.
        case plain
    }

    /// A word longer than `wrap` characters cut into a first line and the rest, as a writer would:
    /// - after the last of its own hyphens that leaves a first line of at most `wrap` characters with at least 3
    ///   before the hyphen ("state-of-" / "the-art"; "a-b…" is not cut after "a-");
    /// - an address (a word with "/" or "@": a URL, an e-mail address) after its last "/", "." or "-" that fits,
    ///   and never with a hyphen added, which would change it;
    /// - else between the last two letters that leave room for a hyphen after them and at least 3 characters before
    ///   it, with the hyphen added when the alphabet has one ("hippopotomo-" / "nstrosis"; "abcdefgh1ijk" →
    ///   "abcdefg-" / "h1ijk");
    /// - else (digits and marks, `wrap` below 4, no hyphen in the alphabet) after `wrap` characters as they are.
    /// - Parameter address: the word is an address (`isAddress`); pass the whole word's, not its rest's, when
    ///   cutting what is left of it.
    static func cut(_ word: String, wrap: Int, alphabet: Alphabet, address: Bool) -> (head: String, rest: String, how: Cut) {
        let c = Array(word)
        func split(after i: Int, _ how: Cut) -> (String, String, Cut) { (String(c[...i]), String(c[(i + 1)...]), how) }
        let breaks: Set<Character> = address ? ["/", ".", "-"] : ["-"]
        let least = address ? 1 : 3
        if let i = c.indices.last(where: { $0 >= least && $0 < wrap && $0 < c.count - 1 && breaks.contains(c[$0]) }) {
            return split(after: i, .ownBreak)
        }
        if !address, alphabet.knows("-"),
           let p = stride(from: wrap - 1, through: 3, by: -1).first(where: { c[$0 - 1].isLetter && c[$0].isLetter }) {
            return (String(c[..<p]) + "-", String(c[p...]), .hyphenated)
        }
        return split(after: wrap - 1, .plain)
    }

    /// Prepares a text for writing: normalises line breaks, splits into paragraphs at newlines, replaces or
    /// refuses characters as the alphabet's policy says (`checked`), and wraps each paragraph at word boundaries to at most `wrap` characters
    /// (a longer word is cut, `cut(_:wrap:alphabet:address:)`). A run of blank lines between paragraphs becomes one blank
    /// line; blank lines at the start and end are dropped.
    /// - Parameter literalNewlines: also break at the two characters `\n` (for text typed on a command line).
    public static func prepare(_ text: String, wrap: Int, literalNewlines: Bool = false,
                               alphabet: Alphabet) throws -> PreparedText {
        guard wrap > 0 else { throw TextError("--wrap must be at least 1 character, got \(wrap)") }
        var normal = normalisingLineBreaks(text)
        if literalNewlines { normal = normal.replacingOccurrences(of: "\\n", with: "\n") }
        var lines = [String?](), replacements = Set<String>()
        for paragraph in normal.split(separator: "\n", omittingEmptySubsequences: false) {
            let (para, r) = try checked(String(paragraph), alphabet: alphabet)
            replacements.formUnion(r)
            var line = "", wrapped = [String]()
            for word in para.split(separator: " ") {
                let room = wrap - line.count - 1, address = isAddress(word)
                if line.isEmpty { line = String(word) }
                else if word.count <= room { line += " " + word }
                else if word.count > wrap, room >= 4,
                        case let (head, rest, how) = cut(String(word), wrap: room, alphabet: alphabet, address: address),
                        how != .plain, head.filter(\.isLetter).count >= 3 {
                    // A word to be cut anyway starts on this line when at least 3 of its letters and a hyphen (its
                    // own or one added between letters) or an address's break fit there.
                    wrapped.append(line + " " + head)
                    line = rest
                } else { wrapped.append(line); line = String(word) }
                while line.count > wrap {
                    // Only the last word of a line is ever longer than the line: what is left of `word`.
                    let (head, rest, _) = cut(line, wrap: wrap, alphabet: alphabet, address: address)
                    wrapped.append(head)
                    line = rest
                }
            }
            if !line.isEmpty { wrapped.append(line) }
            if wrapped.isEmpty {
                if let last = lines.last, last != nil { lines.append(nil) }
            } else {
                lines += wrapped.map { Optional($0) }
            }
        }
        while let last = lines.last, last == nil { lines.removeLast() }
        guard !lines.isEmpty else {
            throw TextError("the text has nothing to write (it is empty, blank, or only invisible characters such as "
                            + "zero-width spaces, which are dropped)")
        }
        return PreparedText(lines: lines, replacements: replacements.sorted())
    }
}

extension TextPreparation {
    /// Reads a UTF-8 text file, or standard input for "-" (pipes, FIFOs and /dev/fd paths too), reading no more
    /// than `maxBytes` + 1 bytes whatever the source. A byte-order mark is dropped later by `prepare`.
    /// - Throws: `TextError` naming the file: missing, a directory, unreadable, larger than `maxBytes`, or not UTF-8.
    public static func read(path: String, maxBytes: Int = 1 << 20) throws -> String {
        let name = path == "-" ? "standard input" : shown(text: path)
        let fd: Int32 = path == "-" ? 0 : open(path, O_RDONLY)
        guard fd >= 0 else {
            let why = errno == ENOENT ? "no such file; give the path of a UTF-8 text file"
                : errno == EACCES ? "permission denied; check its permissions" : String(cString: strerror(errno))
            throw TextError("\(name): \(why)", unreadableFile: true)
        }
        defer { if fd != 0 { close(fd) } }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            throw TextError("\(name) is a directory; give the path of a UTF-8 text file", unreadableFile: true)
        }
        var data = Data(), buffer = [UInt8](repeating: 0, count: 1 << 16)
        while data.count <= maxBytes {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TextError("\(name): cannot read it (\(String(cString: strerror(errno))))", unreadableFile: true)
            }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        if data.count > maxBytes {
            // What the bytes are first: splitting a gzip or a UTF-16 file would not help.
            if let hint = notTextHint(for: data) { throw TextError("\(name) is not UTF-8 text; \(hint)") }
            throw TextError("\(name) has more than the \(maxBytes) bytes a page can take; split it")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TextError("\(name) is not UTF-8 text; \(conversionHint(for: data))")
        }
        // NUL bytes are valid UTF-8 but never text: ASCII in UTF-16 reads as letters and NULs.
        if data.contains(0) {
            throw TextError("\(name) has NUL bytes; \(notTextHint(for: data) ?? "a binary file? give a plain-text file")")
        }
        if let hint = encodedTextHint(forValidUTF8: data) { throw TextError("\(name) is not UTF-8 text; \(hint)") }
        return text
    }

    /// How to convert bytes that are not UTF-8, by their look: a binary file by its magic number (an executable, an
    /// archive, an image, a PDF: no conversion helps), UTF-16 (a byte-order mark, or every other byte zero), else
    /// Windows-1252, which is what "Latin-1" text from Windows is: converting it as ISO-8859-1 would turn its curly
    /// quotes and dashes (0x91–0x97) into invisible control characters.
    ///
    /// Before Windows-1252 come the bytes that rule it out: a file cut off inside its last UTF-8 character (the rest
    /// is UTF-8), NUL bytes (text in Windows-1252 has none: UTF-16 or UTF-32 of other scripts, or binary), and the
    /// five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) or control bytes in more than 1 in 20
    /// of the first 4 KB (binary).
    public static func conversionHint(for data: Data) -> String {
        if let hint = notTextHint(for: data) { return hint }
        if endsInsideACharacter(data) {
            return "it ends in the middle of a UTF-8 character (cut off?); the rest is UTF-8: complete or trim it"
        }
        if data.contains(0) {
            return "it has NUL bytes, which text never has: UTF-16 or UTF-32 (convert it first, for example iconv "
                + "-f UTF-16 -t UTF-8) or a binary file"
        }
        let head = data.prefix(4096)
        let controls = head.filter { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D && $0 != 0x0C }.count
        if head.contains(where: { [0x81, 0x8D, 0x8F, 0x90, 0x9D].contains($0) }) || controls * 20 > head.count {
            return "it does not look like text (control bytes, or bytes no 8-bit text encoding uses): give a "
                + "plain-text file"
        }
        return "convert it first (for example iconv -f WINDOWS-1252 -t UTF-8)"
    }

    /// Whether `data` is valid UTF-8 but for its last 1–3 bytes, which begin a multi-byte character the end cuts off,
    /// and the rest has multi-byte characters too (ASCII then 0xE9 is more likely "café" in Windows-1252).
    static func endsInsideACharacter(_ data: Data) -> Bool {
        let bytes = [UInt8](data.suffix(3))
        for tail in 1...3 where tail <= bytes.count {
            let start = bytes[bytes.count - tail]
            let needs = start >= 0xF0 && start <= 0xF4 ? 4 : start >= 0xE0 && start <= 0xEF ? 3
                : start >= 0xC2 && start <= 0xDF ? 2 : 0
            guard needs > tail else { continue }
            guard bytes.suffix(tail - 1).allSatisfy({ $0 & 0xC0 == 0x80 }) else { return false }
            let rest = data.dropLast(tail)
            return rest.contains(where: { $0 >= 0x80 }) && String(data: rest, encoding: .utf8) != nil
        }
        return false
    }

    /// The part of `conversionHint` that knows what the bytes are: a binary file by its magic number, UTF-32 or
    /// UTF-16; nil for none of them.
    public static func notTextHint(for data: Data) -> String? {
        let head = [UInt8](data.prefix(512))
        let binaries: [([UInt8], String)] = [
            ([0x7F, 0x45, 0x4C, 0x46], "an ELF executable"), ([0x1F, 0x8B], "gzip-compressed"),
            ([0x50, 0x4B, 0x03, 0x04], "a zip archive"), ([0x89, 0x50, 0x4E, 0x47], "a PNG image"),
            ([0x25, 0x50, 0x44, 0x46], "a PDF"), ([0x28, 0xB5, 0x2F, 0xFD], "zstd-compressed"),
        ]
        if let (_, what) = binaries.first(where: { head.starts(with: $0.0) }) {
            return "it looks like \(what), not text: give a plain-text file"
        }
        if head.starts(with: [0xFF, 0xFE, 0x00, 0x00]) || head.starts(with: [0x00, 0x00, 0xFE, 0xFF]) {
            return "it looks like UTF-32: convert it first (iconv -f UTF-32 -t UTF-8)"
        }
        if let order = utf32ByteOrder(head) {
            return "it looks like UTF-32\(order) without a byte-order mark: convert it first (iconv -f UTF-32\(order) "
                + "-t UTF-8)"
        }
        if head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF]) {
            return "it looks like UTF-16: convert it first (iconv -f UTF-16 -t UTF-8)"
        }
        if let order = utf16ByteOrder(head) {
            return "it looks like UTF-16\(order) without a byte-order mark: convert it first (iconv -f UTF-16\(order) "
                + "-t UTF-8)"
        }
        return nil
    }

    /// For bytes that are valid UTF-8 (and hold no NUL): the hint of `notTextHint` where they also hold C0 control
    /// bytes (other than tab, line feed, form feed, carriage return and escape), else nil. Text in one script in
    /// UTF-16 without a byte-order mark can be valid UTF-8 throughout: Cyrillic "привет" is the bytes 3F 04 40 04 …,
    /// letters and U+0004.
    public static func encodedTextHint(forValidUTF8 data: Data) -> String? {
        let control = data.contains { $0 < 0x20 && ![0x09, 0x0A, 0x0C, 0x0D, 0x1B].contains($0) }
        return control ? notTextHint(for: data) : nil
    }

    /// "LE" or "BE" where `head` (a file's first bytes, no byte-order mark, at least two whole code units) reads as
    /// UTF-32 of that order: every unit below U+110000 (its high byte zero, the next at most 0x10) and at least three
    /// in four not zero (not a file of zeros). UTF-16 fails it: two of its units fill each 4 bytes, and a letter
    /// stands where UTF-32 has its zero bytes.
    static func utf32ByteOrder(_ head: [UInt8]) -> String? {
        let units = head.count / 4
        guard units >= 2, head.count % 4 == 0 else { return nil }
        for (order, byte) in [("LE", [0, 1, 2, 3]), ("BE", [3, 2, 1, 0])] {
            var valid = true, nonzero = 0
            for u in 0..<units {
                let b = { head[4 * u + byte[$0]] }
                if b(3) != 0 || b(2) > 0x10 { valid = false; break }
                if b(0) != 0 || b(1) != 0 || b(2) != 0 { nonzero += 1 }
            }
            if valid && nonzero * 4 >= units * 3 { return order }
        }
        return nil
    }

    /// "LE" or "BE" where `head` (a file's first bytes, no byte-order mark) reads as UTF-16 text of that order, else
    /// nil. ASCII among other characters puts zeros in a quarter of the bytes, all in the high halves of the code
    /// units, with as many letters in the low halves (not a file of zeros). Text in one script puts few distinct
    /// values in the high byte of its code units (0x00 for ASCII, 0x04 for Cyrillic, 0x03 for Greek) and many in the
    /// low byte: the two most common high bytes cover at least 90% of
    /// the units, the low bytes take at least twice as many distinct values, and the low bytes are not mostly zero
    /// (a file of zeros). 8-bit text fails the first test, since every other one of its bytes is a letter of many
    /// values. Text in the scripts of thousands of characters (Chinese, Japanese) is not recognised.
    static func utf16ByteOrder(_ head: [UInt8]) -> String? {
        let units = head.count / 2
        guard units >= 4 else { return nil }
        for (order, high) in [("LE", 1), ("BE", 0)] {
            let zeros = stride(from: high, to: head.count, by: 2).filter { head[$0] == 0 }.count
            let letters = stride(from: 1 - high, to: head.count, by: 2).filter { head[$0] != 0 }.count
            if zeros * 4 >= head.count && letters * 4 >= head.count { return order }
        }
        for (order, high) in [("LE", 1), ("BE", 0)] {
            var highCounts = [Int](repeating: 0, count: 256), lows = Set<UInt8>(), lowZeros = 0
            for u in 0..<units {
                highCounts[Int(head[2 * u + high])] += 1
                let low = head[2 * u + 1 - high]
                lows.insert(low)
                if low == 0 { lowZeros += 1 }
            }
            let sorted = highCounts.sorted(by: >)
            let distinctHighs = highCounts.filter { $0 > 0 }.count
            if (sorted[0] + sorted[1]) * 10 >= units * 9 && lows.count >= 2 * distinctHighs && lowZeros * 2 < units {
                return order
            }
        }
        return nil
    }
}

extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
