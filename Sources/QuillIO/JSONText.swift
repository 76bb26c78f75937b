import Foundation

/// JSON text as Foundation's parsers need it.
public enum JSONText {
    /// `data` with every U+FEFF (the bytes EF BB BF) written as the escape `\ufeff`. Foundation's JSON parsers drop
    /// a raw U+FEFF even inside a string (`["a","\u{FEFF}"]` reads as `["a",""]`), so a vocabulary or header that
    /// held one read back one symbol short. Outside strings JSON allows no such character, so the escape changes
    /// only what the strings hold: they read back as written. Quill writes the escape itself since 2026-12-05
    /// (`Alphabet.symbolsJSON`); files written before are read through this.
    public static func escapingByteOrderMarks(_ data: Data) -> Data {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        guard data.count >= 3, data.firstRange(of: bom) != nil else { return data }
        var out = Data(capacity: data.count + 16)
        let bytes = [UInt8](data)
        var i = 0
        while i < bytes.count {
            if i + 2 < bytes.count && bytes[i] == 0xEF && bytes[i + 1] == 0xBB && bytes[i + 2] == 0xBF {
                out.append(contentsOf: Array(#"\ufeff"#.utf8))
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
