import Foundation

/// What is wrong with malformed JSON, and where, for error lines. Foundation's `JSONDecoder` says only "The given
/// data was not valid JSON." (on Linux, with no underlying error) whatever the fault; `JSONSerialization` says what
/// and at which byte ("Invalid value around character 26."), so the bytes are parsed again with it and the byte
/// offset is turned into the line and column a person finds in an editor.
public enum JSONSyntax {
    /// The fault in `bytes` as one lower-case phrase, "invalid value at line 2, column 12" (lines split at LF, CRLF
    /// or CR; columns count Unicode scalars from 1), or Foundation's own words where it names no place ("unexpected
    /// end of file during JSON parse"); nil when the bytes parse as JSON or Foundation gives no reason.
    public static func problem(_ bytes: [UInt8]) -> String? {
        let detail: String
        do {
            _ = try JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)
            return nil
        } catch {
            detail = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? ""
        }
        // "Number 1e999 is not representable in Swift": a number beyond a Double's range (read before the detail is
        // cut short: the number may be hundreds of digits long).
        if detail.hasPrefix("Number "), let range = detail.range(of: " is not representable in Swift") {
            let number = detail[detail.index(detail.startIndex, offsetBy: 7)..<range.lowerBound]
            let shown = number.count <= 40 ? String(number) : "\(number.prefix(12))…\(number.suffix(6)) (\(number.count) characters)"
            return "the number \(shown) is beyond the range of a double (about ±1.8e308)"
        }
        var text = String(detail.prefix(200).filter { !$0.isNewline }).trimmingCharacters(in: CharacterSet(charactersIn: ". "))
        guard !text.isEmpty else { return nil }
        if let range = text.range(of: " around character "), let offset = Int(text[range.upperBound...]) {
            // Foundation counts bytes after a UTF-8 byte-order mark, which it skips (and an editor does not show).
            let bom = bytes.starts(with: [0xEF, 0xBB, 0xBF])
            let (line, column) = place(of: offset, in: bom ? Array(bytes.dropFirst(3)) : bytes)
            text = text[..<range.lowerBound] + " at line \(line), column \(column)"
        }
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    /// Line and column (both from 1) of byte `offset` in `bytes`: lines end at LF, CRLF or CR; the column counts the
    /// Unicode scalars before the offset on its line (continuation bytes of UTF-8 are not counted), plus one. An
    /// offset past the end is placed just after the last byte.
    public static func place(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1, column = 1
        var i = 0
        let end = min(max(offset, 0), bytes.count)
        while i < end {
            let b = bytes[i]
            if b == 0x0A || (b == 0x0D && !(i + 1 < bytes.count && bytes[i + 1] == 0x0A)) {
                line += 1
                column = 1
            } else if b != 0x0D && b & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return (line, column)
    }
}
