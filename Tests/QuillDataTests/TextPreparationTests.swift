import Foundation
import QuillData
import QuillTestSupport
import XCTest

/// Text as people have it: line endings, byte-order marks, blank lines, invisible characters, wrapping.
final class TextPreparationTests: XCTestCase {
    let alphabet = Alphabet(policy: .frequency(minCount: 1),
                            symbols: Array(" abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWY.,'\"-!?".unicodeScalars))
    func prepare(_ s: String, wrap: Int = 60, literal: Bool = false) throws -> [String?] {
        try TextPreparation.prepare(s, wrap: wrap, literalNewlines: literal, alphabet: alphabet).lines
    }

    func testLineBreaksOfEveryKind() throws {
        XCTAssertEqual(try prepare("one\r\ntwo\rthree\nfour"), ["one", "two", "three", "four"])
        XCTAssertEqual(try prepare("\u{FEFF}with a mark\r\n"), ["with a mark"])
        XCTAssertEqual(try prepare("one\\ntwo", literal: true), ["one", "two"])
        XCTAssertThrowsError(try prepare("one\\ntwo")) { e in
            XCTAssertTrue("\(e)".contains("'\\'"), "\(e)")
        }
    }

    func testBlankLinesBecomeOneParagraphGap() throws {
        XCTAssertEqual(try prepare("\n\nfirst para\r\n\r\n\r\nsecond para\n\n"), ["first para", nil, "second para"])
        XCTAssertEqual(try prepare("a\n   \nb"), ["a", nil, "b"])
        XCTAssertThrowsError(try prepare("\r\n \n\u{FEFF}")) { e in XCTAssertTrue("\(e)".contains("nothing to write")) }
    }

    func testWrapping() throws {
        XCTAssertEqual(try prepare("the quick brown fox jumps", wrap: 10), ["the quick", "brown fox", "jumps"])
    }

    /// A word longer than the line is cut as a writer cuts it: at its own hyphens, else with a hyphen between
    /// letters; numbers and marks are cut as they are, and without a hyphen in the alphabet nothing is added.
    func testAWordLongerThanTheLineIsHyphenated() throws {
        XCTAssertEqual(try prepare("abcdefghijklmnop", wrap: 10), ["abcdefghi-", "jklmnop"])
        XCTAssertEqual(try prepare("hippopotomonstrosesquippedaliophobia", wrap: 12),
                       ["hippopotomo-", "nstrosesqui-", "ppedaliopho-", "bia"])
        XCTAssertEqual(try prepare("a state-of-the-art idea", wrap: 10), ["a state-", "of-the-art", "idea"])
        // A word to be cut starts on the line before when three letters and a hyphen fit there.
        XCTAssertEqual(try prepare("a hippopotomonstrosis", wrap: 12), ["a hippopoto-", "monstrosis"])
        XCTAssertEqual(try prepare("abcdefg hippopotomonstrosis", wrap: 12), ["abcdefg hip-", "popotomonst-", "rosis"])
        XCTAssertEqual(try prepare("abcdefgh hippopotomonstrosis", wrap: 12), ["abcdefgh", "hippopotomo-", "nstrosis"])
        XCTAssertEqual(try prepare("well-to-do-ish", wrap: 6), ["well-", "to-do-", "ish"])
        // A hyphen at the very start or end of the cut, or with fewer than 3 characters before it, is no break.
        XCTAssertEqual(try prepare("-abcdefgh", wrap: 5), ["-abc-", "defgh"])
        XCTAssertEqual(try prepare("abcd-", wrap: 4), ["abc-", "d-"])
        XCTAssertEqual(try prepare("a-bcdefghijklmnopq", wrap: 10), ["a-bcdefgh-", "ijklmnopq"])
        // Hyphenated between the last two letters that leave room for the hyphen.
        XCTAssertEqual(try prepare("abcdefgh'ijklmnop", wrap: 10), ["abcdefg-", "h'ijklmnop"])
        // Addresses are cut after a "/", "." or "-", never with a hyphen added.
        let web = Alphabet(policy: .frequency(minCount: 1), symbols: Array(" abcdefghijklmnopqrstuvwxyz:/.@-".unicodeScalars))
        func address(_ s: String, _ wrap: Int) throws -> [String?] {
            try TextPreparation.prepare(s, wrap: wrap, alphabet: web).lines
        }
        XCTAssertEqual(try address("see https://example.org/a-b-c/index", 12),
                       ["see https://", "example.org/", "a-b-c/index"])
        XCTAssertEqual(try address("mail someone@example.org", 10), ["mail", "someone@ex", "ample.org"])
        // What is left of an address is still one: no hyphen is added to it either.
        XCTAssertEqual(try address("https://example.com/averyveryverylongpagename", 15),
                       ["https://", "example.com/", "averyveryverylo", "ngpagename"])
        // A word starts on the line before only when at least 3 of its characters and a hyphen fit there.
        XCTAssertEqual(try prepare("abcde 'quotedwordthatislong'", wrap: 10), ["abcde", "'quotedwo-", "rdthatisl-", "ong'"])
        XCTAssertEqual(try prepare("abcd 'quotedwordthatislong'", wrap: 10), ["abcd 'quo-", "tedwordth-", "atislong'"])
        XCTAssertEqual(try prepare("abcde hippopotomonstrosis", wrap: 10), ["abcde hip-", "popotomon-", "strosis"])
        // Not between two letters: no hyphen is added.
        let digits = Alphabet(policy: .frequency(minCount: 1), symbols: Array(" 0123456789-abc".unicodeScalars))
        XCTAssertEqual(try TextPreparation.prepare("12345678901234", wrap: 10, alphabet: digits).lines,
                       ["1234567890", "1234"])
        XCTAssertEqual(try TextPreparation.prepare("abc 1234567890123", wrap: 10, alphabet: digits).lines,
                       ["abc", "1234567890", "123"])
        XCTAssertEqual(try prepare("abc...!!!!!!!", wrap: 10), ["abc...!!!!", "!!!"])
        XCTAssertEqual(try prepare("abcdefghij", wrap: 1), ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
        let noHyphen = Alphabet(policy: .frequency(minCount: 1), symbols: Array(" abcdefghijklmnop".unicodeScalars))
        XCTAssertEqual(try TextPreparation.prepare("abcdefghijklmnop", wrap: 10, alphabet: noHyphen).lines,
                       ["abcdefghij", "klmnop"])
        // Every line fits, and the letters are all there, in order, whatever the width.
        let long = "pneumonoultramicroscopicsilicovolcanoconiosis and co-operative-minded"
        for wrap in 1...20 {
            let lines = try prepare(long, wrap: wrap).compactMap { $0 }
            XCTAssertTrue(lines.allSatisfy { $0.count <= wrap }, "\(wrap): \(lines)")
            XCTAssertEqual(lines.joined().filter(\.isLetter), long.filter(\.isLetter), "\(wrap)")
        }
    }

    func testInvisibleCharactersAreNamedByCodePoint() throws {
        XCTAssertThrowsError(try prepare("bell\u{07}here")) { e in
            XCTAssertTrue("\(e)".contains("U+0007"), "\(e)")
            XCTAssertFalse("\(e)".contains("\u{07}"))
        }
        // Zero-width joiners are dropped (README); other invisible format characters are named.
        XCTAssertEqual(try prepare("zero\u{200D}joiner"), ["zerojoiner"])
        XCTAssertThrowsError(try prepare("invisible\u{2062}times")) { e in XCTAssertTrue("\(e)".contains("U+2062"), "\(e)") }
        XCTAssertEqual(TextPreparation.shown("\r\n"), "U+000D U+000A")
        XCTAssertEqual(TextPreparation.shown("é"), "'é'")
        XCTAssertEqual(TextPreparation.shown(text: "a\u{FEFF}b"), "a<U+FEFF>b")
    }

    func testReplacements() throws {
        let p = try TextPreparation.prepare("“Café” — naïve…\u{2003}end", wrap: 60, alphabet: alphabet)
        XCTAssertEqual(p.lines, ["\"Cafe\" - naive... end"])
        XCTAssertTrue(p.replacements.contains("'é'→e"))
        XCTAssertTrue(p.replacements.contains("U+2003→' '"))
        let more = try TextPreparation.prepare("ﬁne Ｆull non\u{2011}breaking Straße \u{200E}ok", wrap: 60, alphabet: alphabet)
        XCTAssertEqual(more.lines, ["fine Full non-breaking Strasse ok"])
    }

    func testReadingFiles() throws {
        let dir = try QuillDataTests.TempDir()
        let good = try dir.write("good.txt", "\u{FEFF}line one\r\nline two")
        XCTAssertEqual(try prepare(try TextPreparation.read(path: good)), ["line one", "line two"])
        let latin = dir.path + "/latin.txt"
        try Data([0x63, 0x61, 0x66, 0xE9]).write(to: URL(fileURLWithPath: latin))
        XCTAssertThrowsError(try TextPreparation.read(path: latin)) { e in XCTAssertTrue("\(e)".contains("not UTF-8")) }
        XCTAssertThrowsError(try TextPreparation.read(path: dir.path + "/none.txt")) { e in XCTAssertTrue("\(e)".contains("no such file")) }
        XCTAssertThrowsError(try TextPreparation.read(path: dir.path)) { e in XCTAssertTrue("\(e)".contains("is a directory")) }
        // Reading stops past the limit, whatever the source (an endless pipe included).
        XCTAssertThrowsError(try TextPreparation.read(path: good, maxBytes: 10)) { e in XCTAssertTrue("\(e)".contains("more than the 10 bytes")) }
        XCTAssertThrowsError(try TextPreparation.read(path: "/dev/zero", maxBytes: 1000)) { e in XCTAssertTrue("\(e)".contains("more than")) }
        XCTAssertEqual(try TextPreparation.read(path: "/dev/null"), "")
        let utf16 = dir.path + "/utf16.txt"
        try Data([0xFF, 0xFE, 0x61, 0x00, 0xE9, 0x00]).write(to: URL(fileURLWithPath: utf16))
        XCTAssertThrowsError(try TextPreparation.read(path: utf16)) { e in XCTAssertTrue("\(e)".contains("UTF-16")) }
        // ASCII in UTF-16 without a mark is valid UTF-8, but its NUL bytes are not text.
        let utf16Plain = dir.path + "/utf16-plain.txt"
        try "Hi there, a line\n".data(using: .utf16LittleEndian)!.write(to: URL(fileURLWithPath: utf16Plain))
        XCTAssertThrowsError(try TextPreparation.read(path: utf16Plain)) { e in
            XCTAssertTrue("\(e)".contains("has NUL bytes; it looks like UTF-16LE without a byte-order mark"), "\(e)")
        }
        // Cyrillic in UTF-16 without a mark is valid UTF-8 throughout (letters and U+0004), with no NUL to give it away.
        let cyrillic = dir.path + "/cyrillic16.txt"
        try "приветмир".data(using: .utf16LittleEndian)!.write(to: URL(fileURLWithPath: cyrillic))
        XCTAssertThrowsError(try TextPreparation.read(path: cyrillic)) { e in
            XCTAssertTrue("\(e)".contains("is not UTF-8 text; it looks like UTF-16LE without a byte-order mark"), "\(e)")
        }
        XCTAssertNil(TextPreparation.encodedTextHint(forValidUTF8: Data("tab\there, form feed \u{0C} and ESC \u{1B}[0m".utf8)))
        // Past the size limit, what the bytes are comes first: splitting a gzip or UTF-16 file would not help.
        let bigUTF16 = dir.path + "/big16.txt"
        try String(repeating: "a line of text\n", count: 100).data(using: .utf16)!.write(to: URL(fileURLWithPath: bigUTF16))
        XCTAssertThrowsError(try TextPreparation.read(path: bigUTF16, maxBytes: 100)) { e in
            XCTAssertTrue("\(e)".contains("is not UTF-8 text; it looks like UTF-16"), "\(e)")
        }
        XCTAssertThrowsError(try TextPreparation.read(path: dir.path + "/no\u{1B}[31m.txt")) { e in
            XCTAssertTrue("\(e)".contains("U+001B"), "\(e)")
            XCTAssertFalse("\(e)".contains("\u{1B}"))
        }
    }

    /// Text that is not UTF-8 gets the conversion that keeps its characters: Windows-1252 for "Latin-1" text from
    /// Windows (ISO-8859-1 would turn its curly quotes into control characters), UTF-16 with or without a mark.
    func testConversionHintNamesTheLikelyEncoding() {
        let cp1252 = Data([0x93, 0x68, 0x69, 0x94, 0x20, 0x96, 0x20, 0x63, 0x61, 0x66, 0xE9])
        XCTAssertTrue(TextPreparation.conversionHint(for: cp1252).contains("WINDOWS-1252"))
        XCTAssertTrue(TextPreparation.conversionHint(for: "plain words here".data(using: .utf16LittleEndian)!).contains("UTF-16"))
        XCTAssertTrue(TextPreparation.conversionHint(for: Data([0xFF, 0xFE, 0x41, 0x00])).contains("UTF-16"))
        // Without a byte-order mark: ASCII, Cyrillic and Greek in either order, mixed with accented Latin letters.
        for text in ["plain words here", "привет, мир: съешь же ещё этих булок", "Καλημέρα κόσμε", "café crème brûlée"] {
            XCTAssertTrue(TextPreparation.conversionHint(for: text.data(using: .utf16LittleEndian)!)
                .contains("UTF-16LE without a byte-order mark"), text)
            XCTAssertTrue(TextPreparation.conversionHint(for: text.data(using: .utf16BigEndian)!)
                .contains("UTF-16BE without a byte-order mark"), text)
        }
        // 8-bit text and zeros are not UTF-16.
        let latin1 = "déjà vu, naïve café: ça coûte très cher".data(using: .windowsCP1252)!
        XCTAssertTrue(TextPreparation.conversionHint(for: latin1).contains("WINDOWS-1252"))
        XCTAssertNil(TextPreparation.notTextHint(for: Data(repeating: 0, count: 64)))
        XCTAssertNil(TextPreparation.notTextHint(for: Data([0xE9, 0x00, 0xE9, 0x00])), "under 4 code units")
        // ASCII among Chinese or emoji in UTF-16: not one script, but a quarter of the bytes zero in the high halves.
        for text in [String(repeating: "第1章 Hello 世界, 2024年 ", count: 20), String(repeating: "hello 😀 world 🎉 ", count: 20)] {
            XCTAssertTrue(TextPreparation.conversionHint(for: text.data(using: .utf16LittleEndian)!)
                .contains("UTF-16LE without a byte-order mark"), text)
        }
        // UTF-32, with a mark (before UTF-16's, which begins UTF-32LE's) or without, in either order.
        let utf32 = "plain words, привет 😀"
        XCTAssertTrue(TextPreparation.conversionHint(for: utf32.data(using: .utf32)!).contains("UTF-32: convert"))
        XCTAssertTrue(TextPreparation.conversionHint(for: utf32.data(using: .utf32LittleEndian)!)
            .contains("UTF-32LE without a byte-order mark"))
        XCTAssertTrue(TextPreparation.conversionHint(for: utf32.data(using: .utf32BigEndian)!)
            .contains("UTF-32BE without a byte-order mark"))
        // UTF-16 is not UTF-32, nor are zeros.
        for text in ["plain words here", "привет, мир"] {
            XCTAssertTrue(TextPreparation.conversionHint(for: text.data(using: .utf16LittleEndian)!).contains("UTF-16LE"), text)
            XCTAssertTrue(TextPreparation.conversionHint(for: text.data(using: .utf16BigEndian)!).contains("UTF-16BE"), text)
        }
        // What rules Windows-1252 out: a cut-off last character, NUL bytes, bytes it leaves undefined, control bytes.
        let russian = Data("съешь же ещё этих мягких французских булок".utf8)
        XCTAssertTrue(TextPreparation.conversionHint(for: russian.dropLast()).contains("ends in the middle of a UTF-8 character"))
        XCTAssertFalse(TextPreparation.conversionHint(for: Data([0x63, 0x61, 0x66, 0xE9])).contains("middle"))
        XCTAssertTrue(TextPreparation.conversionHint(for: Data([0x41, 0xE9, 0x00, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47]))
            .contains("NUL bytes"))
        XCTAssertTrue(TextPreparation.conversionHint(for: Data([0x41, 0x42, 0x81, 0x43])).contains("does not look like text"))
        XCTAssertTrue(TextPreparation.conversionHint(for: Data([0x41, 0x01, 0x02, 0xE9, 0x03, 0x44])).contains("does not look like text"))
        let elf = Data([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00] + [UInt8](repeating: 0, count: 56))
        XCTAssertEqual(TextPreparation.conversionHint(for: elf), "it looks like an ELF executable, not text: give a plain-text file")
        XCTAssertTrue(TextPreparation.conversionHint(for: Data([0x1F, 0x8B, 0x08, 0x00, 0xFF])).contains("gzip"))
    }
}
