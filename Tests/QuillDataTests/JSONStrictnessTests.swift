import Foundation
import XCTest
@testable import QuillData

/// The JSON cursor follows RFC 8259 exactly: it accepts what Foundation's `JSONSerialization` accepts and reads
/// the same values, except where Foundation is laxer than the RFC (listed in `foundationIsLax`).
final class JSONStrictnessTests: XCTestCase {
    /// A parsed JSON value, for comparing the cursor with Foundation. Booleans are numbers 1 and 0, as
    /// `JSONSerialization` reports them as `NSNumber`.
    indirect enum Value: Equatable {
        case null
        case number(Double)
        case string([UInt32])
        case array([Value])
        case object([String: Value])

        func matches(_ other: Value) -> Bool {
            switch (self, other) {
            case (.null, .null): return true
            case let (.number(a), .number(b)): return a == b || abs(a - b) <= 1e-12 * max(abs(a), abs(b))
            case let (.string(a), .string(b)): return a == b
            case let (.array(a), .array(b)): return a.count == b.count && zip(a, b).allSatisfy { $0.matches($1) }
            case let (.object(a), .object(b)):
                return a.count == b.count && a.allSatisfy { k, v in b[k].map { v.matches($0) } ?? false }
            default: return false
            }
        }
    }

    /// Whether the cursor accepts `bytes` as one JSON text (the production path: `skipValue`, then `expectEnd`).
    static func cursorAccepts(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { b in
            var c = JSONCursor(bytes: b, start: 0, end: b.count, file: "t.json", line: 1)
            do {
                try c.skipValue()
                try c.expectEnd()
                return true
            } catch {
                return false
            }
        }
    }

    /// The value the cursor reads, through `readString`, `readNumber` and the literals; nil when it refuses.
    static func cursorValue(_ bytes: [UInt8]) -> Value? {
        func value(_ c: inout JSONCursor, _ depth: Int) throws -> Value {
            guard depth < 64, let b = c.peek() else { throw c.error("too deep or empty") }
            switch b {
            case UInt8(ascii: "{"):
                var out = [String: Value]()
                try c.expect(b)
                if c.take(UInt8(ascii: "}")) { return .object(out) }
                repeat {
                    guard c.peek() == UInt8(ascii: "\"") else { throw c.error("key") }
                    let key = try c.readString()
                    try c.expect(UInt8(ascii: ":"))
                    out[key] = try value(&c, depth + 1)
                } while c.take(UInt8(ascii: ","))
                try c.expect(UInt8(ascii: "}"))
                return .object(out)
            case UInt8(ascii: "["):
                var out = [Value]()
                try c.readArray { c in out.append(try value(&c, depth + 1)) }
                return .array(out)
            case UInt8(ascii: "\""): return .string(try c.readString().unicodeScalars.map(\.value))
            case UInt8(ascii: "t"), UInt8(ascii: "f"): return .number(try c.readBool() ? 1 : 0)
            case UInt8(ascii: "n"):
                _ = try c.takeNull()
                return .null
            default: return .number(try c.readNumber())
            }
        }
        return bytes.withUnsafeBufferPointer { b -> Value? in
            var c = JSONCursor(bytes: b, start: 0, end: b.count, file: "t.json", line: 1)
            guard let v = try? value(&c, 0), (try? c.expectEnd()) != nil else { return nil }
            return v
        }
    }

    /// What Foundation reads, or nil when it refuses.
    static func foundationValue(_ bytes: [UInt8]) -> Value? {
        func convert(_ any: Any) -> Value {
            switch any {
            case is NSNull: return .null
            case let s as String: return .string(s.unicodeScalars.map(\.value))
            case let a as [Any]: return .array(a.map(convert))
            case let d as [String: Any]: return .object(d.mapValues(convert))
            case let b as Bool: return .number(b ? 1 : 0)
            case let n as NSNumber: return .number(n.doubleValue)
            default: return .string(Array("unexpected \(type(of: any))".unicodeScalars.map(\.value)))
            }
        }
        guard let any = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
            return nil
        }
        return convert(any)
    }

    /// Where Linux Foundation accepts what RFC 8259 forbids; the cursor follows the RFC there:
    /// - a comma before `]` or `}` (`[1,]`, `{"a":1,}`): Foundation allows trailing commas;
    /// - a NUL byte: Foundation guesses UTF-16 or UTF-32 from NULs among the first bytes and then reads, say,
    ///   `1\0` as "1"; RFC 8259 §8.1 requires UTF-8, and a NUL is never valid UTF-8 JSON outside a string;
    /// - a byte-order mark: the RFC lets a parser ignore it; the JSON-lines readers skip one at the start of a
    ///   file (`forEachLine`), not inside the cursor.
    static func foundationIsLax(_ bytes: [UInt8]) -> Bool {
        if bytes.contains(0) { return true }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) || bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) {
            return true
        }
        var inString = false, escaped = false, lastComma = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true }
                else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true; lastComma = false
            case UInt8(ascii: ","): lastComma = true
            case UInt8(ascii: "]"), UInt8(ascii: "}"): if lastComma { return true }
            case 0x20, 0x09, 0x0A, 0x0D: break
            default: lastComma = false
            }
        }
        return false
    }

    /// SplitMix64: a small seeded generator, so every run tries the same documents.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    }

    static let numbers = ["0", "-0", "7", "-12", "10", "3.25", "-0.5", "1e5", "1E+2", "2.5e-3", "-4E-0", "123456789012",
                          "12345678901234567890", "0.000001", "1.7976931348623157e308", "5e-324", "1e-400", "99"]
    static let strings = [#""""#, #""abc""#, #""h\u00e9""#, #""\ud83d\ude00""#, #""\"\\\/\b\f\n\r\t""#, "\"é 😀\"",
                          #""\u0000""#, "\"\u{7F}\"", #""a\u20ACb""#, #""\uDBFF\uDFFF""#]
    /// Forms a lax reader gets wrong; most are invalid.
    static let tricky = ["01", "1.", ".5", "-", "1e", "1e+", "+1", "00", "-01", "1.e5", "0x10", "1E", "NaN", "Infinity",
                         "1e400", "-1e400", #""\x""#, #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\u12""#,
                         #""\U0041""#, "\"\t\"", "\"a\nb\"", "'a'", "tru", "nul", "True", "[1 2]", "{a:1}", "{\"a\" 1}",
                         "[1,]", "{\"a\":1,}", "1 2", "[1]x", "[", "{\"a\":", "\"abc", "\\", "[,1]", "{,}", "-0.0e-0"]
    static let space = ["", "", "", " ", "\n", "\t", "\r\n", "  "]

    static func generate(_ rng: inout Rng, depth: Int = 0) -> String {
        let ws = { (r: inout Rng) in r.pick(space) }
        switch rng.below(depth >= 3 ? 5 : 8) {
        case 0: return rng.pick(["null", "true", "false"])
        case 1, 2: return rng.pick(numbers)
        case 3, 4: return rng.pick(strings)
        case 5, 6:
            let n = rng.below(4)
            let items = (0..<n).map { _ in ws(&rng) + generate(&rng, depth: depth + 1) + ws(&rng) }
            return "[" + ws(&rng) + items.joined(separator: ",") + "]"
        default:
            let n = rng.below(4)
            let items = (0..<n).map { _ in
                ws(&rng) + rng.pick(strings) + ws(&rng) + ":" + ws(&rng) + generate(&rng, depth: depth + 1) + ws(&rng)
            }
            return "{" + ws(&rng) + items.joined(separator: ",") + "}"
        }
    }

    static func mutate(_ doc: [UInt8], _ rng: inout Rng) -> [UInt8] {
        var b = doc
        let junk = Array("{}[],:\"\\/-+.eE0123456789 ntfulrx\u{1}".utf8) + [0x00, 0xFF, 0xC3, 0xED, 0x0B, 0x7F]
        switch rng.below(5) {
        case 0 where !b.isEmpty: b[rng.below(b.count)] = rng.pick(junk)
        case 1 where !b.isEmpty: b = Array(b.prefix(rng.below(b.count)))
        case 2 where !b.isEmpty: b.remove(at: rng.below(b.count))
        case 3: b.insert(rng.pick(junk), at: rng.below(b.count + 1))
        default:
            // Splice a tricky form in where a value could go.
            let t = Array(rng.pick(tricky).utf8)
            b = Array("[".utf8) + b + Array(",".utf8) + t + Array("]".utf8)
        }
        return b
    }

    func testCursorAgreesWithFoundationOnGeneratedDocuments() {
        var rng = Rng(state: 12)
        var docs = [[UInt8]]()
        for _ in 0..<1500 { docs.append(Array(Self.generate(&rng).utf8)) }
        for t in Self.tricky { docs.append(Array(t.utf8)) }
        for _ in 0..<3000 { docs.append(Self.mutate(docs[rng.below(1500)], &rng)) }
        var accepted = 0, refused = 0, lax = 0
        for doc in docs {
            let ours = Self.cursorValue(doc)
            let accepts = Self.cursorAccepts(doc)
            let shown = String(decoding: doc, as: UTF8.self).debugDescription
            XCTAssertEqual(accepts, ours != nil, "skipValue and the value readers disagree on \(shown)")
            let theirs = Self.foundationValue(doc)
            switch (ours, theirs) {
            case let (a?, b?):
                accepted += 1
                XCTAssertTrue(a.matches(b), "values differ for \(shown): cursor \(a), Foundation \(b)")
            case (nil, nil): refused += 1
            case (nil, _?) where Self.foundationIsLax(doc): lax += 1
            case (nil, _?): XCTFail("the cursor refuses \(shown), which Foundation accepts")
            case (_?, nil): XCTFail("the cursor accepts \(shown), which Foundation refuses")
            }
        }
        print("JSON differential: \(docs.count) documents, \(accepted) accepted by both, \(refused) refused by both, \(lax) accepted only by Foundation (trailing comma, NUL, BOM)")
        // The generator must exercise both sides.
        XCTAssertGreaterThan(accepted, 1000)
        XCTAssertGreaterThan(refused, 1000)
        XCTAssertLessThan(lax, 300)
    }

    func testLaxFormsAreRefusedWithTheirReason() {
        let cases: [(String, String)] = [
            ("01", "leading zero"), ("-01", "leading zero"), ("1.", "after its decimal point"), ("1.e5", "decimal point"),
            ("1e", "exponent"), ("1e+", "exponent"), ("-", "'-' without digits"), ("1e400", "too large"),
            (#""\x""#, "invalid escape"), (#""\ud800""#, "high surrogate"), (#""\udc00""#, "lone low surrogate"),
            (#""\ud800\u0041""#, "high surrogate"), (#""\u12""#, "four hex digits"), ("\"a\tb\"", "control character 0x9"),
            ("[1]x", "after the end"), ("[1,]", "expected a number"),
        ]
        for (doc, why) in cases {
            Array(doc.utf8).withUnsafeBufferPointer { b in
                var c = JSONCursor(bytes: b, start: 0, end: b.count, file: "t.json", line: 1)
                assertDatasetError(["t.json:1:", why]) {
                    try c.skipValue()
                    try c.expectEnd()
                }
            }
        }
    }

    func testErrorsShowControlBytesAsHex() {
        let doc: [UInt8] = Array("[1".utf8) + [0x01] + Array("]".utf8)
        doc.withUnsafeBufferPointer { b in
            var c = JSONCursor(bytes: b, start: 0, end: b.count, file: "t.json", line: 1)
            assertDatasetError(["found '0x1'"]) { try c.skipValue() }
        }
    }

    func testNestingIsCappedWithoutRecursion() {
        let deep = Array(String(repeating: "[", count: 100_000).utf8)
        deep.withUnsafeBufferPointer { b in
            var c = JSONCursor(bytes: b, start: 0, end: b.count, file: "t.json", line: 1)
            assertDatasetError(["nested deeper than 512"]) { try c.skipValue() }
        }
        let ok = Array((String(repeating: "[", count: 512) + String(repeating: "]", count: 512)).utf8)
        XCTAssertTrue(Self.cursorAccepts(ok))
        let over = Array((String(repeating: "{\"a\":", count: 513) + "1" + String(repeating: "}", count: 513)).utf8)
        XCTAssertFalse(Self.cursorAccepts(over))
    }

    func testImportersRefuseLaxNumbersInEveryPath() throws {
        let dir = try TempDir()
        // The compact integer fast path and the general path both refuse a leading zero.
        let compact = try dir.write("a.jsonl", #"{"id":"a","origin":[0,0],"points":[[0,0,0],[01,2,1]]}"#)
        assertDatasetError(["a.jsonl:1:", "leading zero"]) { _ = try Importer.load(.iamJSONL, inputs: [compact]) }
        let spaced = try dir.write("b.jsonl", #"{"id":"a","origin":[0,0],"points":[[0, 0, 0], [1., 2, 1]]}"#)
        assertDatasetError(["b.jsonl:1:", "decimal point"]) { _ = try Importer.load(.iamJSONL, inputs: [spaced]) }
        let escape = try dir.write("c.jsonl", #"{"id":"a\x","origin":[0,0],"points":[[0,0,1]]}"#)
        assertDatasetError(["c.jsonl:1:", "invalid escape"]) { _ = try Importer.load(.iamJSONL, inputs: [escape]) }
        let skipped = try dir.write("d.jsonl", #"{"id":"a","extra":{"k":[1,2,"\q"]},"origin":[0,0],"points":[[0,0,1]]}"#)
        assertDatasetError(["d.jsonl:1:", "invalid escape"]) { _ = try Importer.load(.iamJSONL, inputs: [skipped]) }
        let writer = try dir.write("e.jsonl", #"{"id":"a","writer":1e300,"origin":[0,0],"points":[[0,0,1]]}"#)
        assertDatasetError(["e.jsonl:1:", "writer"]) { _ = try Importer.load(.iamJSONL, inputs: [writer]) }
        let quick = try dir.write("q.ndjson", #"{"key_id":"1","drawing":[[[1,02],[3,4]]]}"#)
        assertDatasetError(["q.ndjson:1:", "leading zero"]) { _ = try Importer.load(.quickdraw, inputs: [quick]) }
    }
}
