/// Strict parsing of numbers written as text in data files (XML attributes, InkML traces).
///
/// Swift's `Double(String)` also reads hexadecimal (`0x10` is 16), `nan`, `inf` and `infinity`, which no data
/// file means; every number read from a file's text goes through here instead.
public enum DecimalText {
    /// The value of `text` when it is a plain decimal number: an optional sign, digits with an optional fraction
    /// (`12`, `-3.5`, `.5`, `7.`; at least one digit), and an optional exponent (`1e-3`, `2E+4`); nothing else,
    /// no spaces. Nil otherwise. A number too large for Double comes back infinite (callers bound their values).
    public static func double<S: StringProtocol>(_ text: S) -> Double? {
        guard isDecimal(text.utf8) else { return nil }
        return Double(String(text))
    }

    /// Whether the bytes spell `[+-]? (d+ (. d*)? | . d+) ([eE] [+-]? d+)?`.
    static func isDecimal<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        var i = bytes.startIndex
        func peek() -> UInt8? { i < bytes.endIndex ? bytes[i] : nil }
        func digitRun() -> Int {
            var n = 0
            while let b = peek(), isDigit(b) { n += 1; i = bytes.index(after: i) }
            return n
        }
        if let b = peek(), b == UInt8(ascii: "+") || b == UInt8(ascii: "-") { i = bytes.index(after: i) }
        var mantissa = digitRun()
        if peek() == UInt8(ascii: ".") {
            i = bytes.index(after: i)
            mantissa += digitRun()
        }
        guard mantissa > 0 else { return false }
        if let b = peek(), b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
            i = bytes.index(after: i)
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { i = bytes.index(after: i) }
            guard digitRun() > 0 else { return false }
        }
        return i == bytes.endIndex
    }
}
