import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A minimal element tree built with Foundation's `XMLParser`, for the small XML files of IAM-OnDB and InkML.
final class XMLElementNode {
    let name: String
    let attributes: [String: String]
    /// 1-based line of the start tag, for error messages.
    let line: Int
    var children: [XMLElementNode] = []
    var text = ""

    init(name: String, attributes: [String: String], line: Int) {
        self.name = name
        self.attributes = attributes
        self.line = line
    }

    /// Frees the subtree with a loop rather than one nested deinit per level, so no tree is too deep to free.
    /// A node still referenced elsewhere keeps its children.
    deinit {
        guard !children.isEmpty else { return }
        var pending = children
        children = []
        while var node = pending.popLast() {
            if isKnownUniquelyReferenced(&node) {
                pending.append(contentsOf: node.children)
                node.children = []
            }
        }
    }

    /// The deepest element nesting accepted. IAM-OnDB files nest 4 levels and InkML files a handful more;
    /// the cap keeps both the tree and every walk over it shallow. (JSON allows more, `JSONCursor.maxDepth`,
    /// because it is walked without building a tree.)
    static let maxDepth = 256

    /// Parses `data`; malformed or truncated XML, or elements nested deeper than `maxDepth`, throw
    /// `DatasetError.malformedXML` with the parser's position. The parser stops at the first element past the
    /// cap, so a deep document never becomes a deep tree.
    static func parse(_ data: Data, file: String) throws -> XMLElementNode {
        let parser = XMLParser(data: try utf8Document(data, file: file))
        let builder = TreeBuilder()
        parser.delegate = builder
        let ok = parser.parse()
        if let line = builder.tooDeepAt {
            throw DatasetError.malformedXML(SourcePosition(file: file, line: line),
                                            "elements nested deeper than \(maxDepth) levels")
        }
        // Foundation's parser can report an error and still return true (for example content after the root).
        guard ok, parser.parserError == nil, let root = builder.root, builder.stack.isEmpty else {
            let why = parser.parserError.map { describe($0) } ?? "the document ends before its root element is closed"
            throw DatasetError.malformedXML(SourcePosition(file: file, line: parser.lineNumber,
                                                           column: parser.columnNumber), why)
        }
        return root
    }

    /// XML 1.0's declaration (§2.8, §4.3.3), strictly, at the start of a document (after any byte-order mark).
    static let declarationPattern = #"^<\?xml\s+version\s*=\s*("1\.[0-9]+"|'1\.[0-9]+')(\s+encoding\s*=\s*("[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?(\s+standalone\s*=\s*("(yes|no)"|'(yes|no)'))?\s*\?>"#

    /// The document as UTF-8 bytes, the only form handed to Foundation's parser, which traps on bytes that are not
    /// UTF-8 in an element or attribute name and trusts libxml2's reading of the declaration.
    ///
    /// A UTF-16 document (by its byte-order mark) and one declaring ISO-8859-1 (IAM-OnDB's), Windows-1252 or
    /// US-ASCII are converted here, their declaration rewritten to say UTF-8; any other document must be UTF-8, and
    /// a byte that is not, a NUL, or a declared encoding Quill does not read is a `malformedXML` error naming the
    /// line and column. Lines and columns are those of the file (conversion keeps one character per byte).
    static func utf8Document(_ data: Data, file: String) throws -> Data {
        var bytes = [UInt8](data)
        var text: String?
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            guard let decoded = String(data: data, encoding: .utf16) else {
                throw DatasetError.malformedXML(SourcePosition(file: file), "the file starts as UTF-16 but is not valid UTF-16; convert it to UTF-8")
            }
            let body = decoded.hasPrefix("\u{FEFF}") ? String(decoded.dropFirst()) : decoded
            text = body
            bytes = Array(body.utf8)
        }
        // Only a well-formed declaration names the document's encoding.
        let head = String(decoding: bytes.dropFirst(bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0).prefix(300), as: UTF8.self)
        var declared: String?
        var declaration: Range<String.Index>?
        if let range = head.range(of: declarationPattern, options: .regularExpression),
           let enc = head[range].range(of: #"encoding\s*=\s*["'][A-Za-z0-9._-]+"#, options: .regularExpression) {
            declared = head[enc].split(whereSeparator: { $0 == "\"" || $0 == "'" }).last.map { $0.lowercased() }
            declaration = range
        }
        if text == nil, let name = declared, !["utf-8", "utf8"].contains(name) {
            let encoding: String.Encoding
            switch name {
            case "iso-8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "iso-ir-100", "cp819": encoding = .isoLatin1
            case "windows-1252", "cp1252": encoding = .windowsCP1252
            case "us-ascii", "ascii": encoding = .ascii
            case "utf-16", "utf16":
                throw DatasetError.malformedXML(SourcePosition(file: file, line: 1), "the file declares UTF-16 but has no byte-order mark; convert it to UTF-8")
            default:
                throw DatasetError.malformedXML(SourcePosition(file: file, line: 1), "Quill reads XML in UTF-8, UTF-16, ISO-8859-1, Windows-1252 or US-ASCII, not the declared encoding '\(name)'; convert the file to UTF-8")
            }
            guard let decoded = String(data: data, encoding: encoding) else {
                throw DatasetError.malformedXML(SourcePosition(file: file), "the file is not valid \(name) text, its declared encoding; convert it to UTF-8")
            }
            text = decoded
        }
        if var converted = text {
            // The declaration must now say what the bytes are.
            if declaration != nil, let decl = converted.range(of: #"^<\?xml[^>]*\?>"#, options: .regularExpression) {
                let fixed = converted[decl].replacingOccurrences(of: #"encoding\s*=\s*["'][A-Za-z0-9._-]+["']"#,
                                                                 with: "encoding=\"UTF-8\"", options: .regularExpression)
                converted.replaceSubrange(decl, with: fixed)
            }
            bytes = Array(converted.utf8)
        }
        // Processing instructions other than the declaration are refused: Foundation's parser crashes on one without
        // data (`<?x?>`), and neither IAM-OnDB nor InkML needs them.
        let bom = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let start = String(decoding: bytes[bom...].prefix(300), as: UTF8.self)
        let declarationLength = start.range(of: declarationPattern, options: .regularExpression).map { start.utf8.distance(from: start.startIndex, to: $0.upperBound) } ?? 0
        var k = bom + declarationLength, pline = 1, pcolumn = 1
        for b in bytes[..<min(k, bytes.count)] where b == 0x0A { pline += 1 }
        let entity = Array("<!ENTITY".utf8)
        while k + 1 < bytes.count {
            if bytes[k] == 0x3C && bytes[k + 1] == 0x3F {
                let what = k == bom ? "a malformed XML declaration" : "a processing instruction (<?…?>)"
                throw DatasetError.malformedXML(SourcePosition(file: file, line: pline, column: pcolumn),
                                                "\(what), which Quill does not read; remove it (the declaration reads <?xml version=\"1.0\" encoding=\"UTF-8\"?>)")
            }
            // Foundation's parser drops the text of a declared entity (&name;) silently; nested ones are refused
            // as recursive. Neither IAM-OnDB nor InkML declares any.
            if bytes[k] == 0x3C && bytes[k...].starts(with: entity) {
                throw DatasetError.malformedXML(SourcePosition(file: file, line: pline, column: pcolumn),
                                                "an entity declaration (<!ENTITY …>), which Quill does not read; write the text itself instead of &name;")
            }
            if bytes[k] == 0x0A { pline += 1; pcolumn = 1 } else { pcolumn += 1 }
            k += 1
        }
        // Every byte must now be UTF-8, and none a NUL (not an XML character).
        var line = 1, column = 1, i = 0
        while i < bytes.count {
            let b = bytes[i]
            var length = 1
            if b == 0 {
                throw DatasetError.malformedXML(SourcePosition(file: file, line: line, column: column),
                                                "a NUL byte, which XML does not allow (UTF-16 without a byte-order mark?); convert the file to UTF-8")
            }
            if b >= 0x80 {
                length = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b < 0xF0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0
                let valid = length > 0 && i + length <= bytes.count
                    && String(validatingUTF8: bytes[i..<(i + length)].map { CChar(bitPattern: $0) } + [0]) != nil
                if !valid {
                    throw DatasetError.malformedXML(
                        SourcePosition(file: file, line: line, column: column),
                        String(format: "byte 0x%02X is not UTF-8, the encoding the file declares or defaults to; ", b)
                            + "convert the file to UTF-8 (for example iconv -f WINDOWS-1252 -t UTF-8) or declare its encoding")
                }
            }
            if b == 0x0A { line += 1; column = 1 } else { column += 1 }
            i += length
        }
        return Data(bytes)
    }

    /// Reads and parses a file.
    static func parse(file: String) throws -> XMLElementNode {
        try parse(try readFile(file), file: file)
    }

    /// The parser's complaint in plain words (never an error domain or code).
    ///
    /// Foundation reports libxml2's error numbers (`xmlParserErrors`, which Apple's `NSXMLParserError` mirrors);
    /// they are matched as numbers because `XMLParser.ErrorCode`'s raw values are off by one on Linux.
    static func describe(_ error: Error) -> String {
        let what: String
        switch (error as NSError).code {
        case 3, 4: what = "the document is empty or does not start with an element"
        case 5:
            what = "the document is not well formed here (truncated, a tag left open or mismatched, "
                + "or content after the root element)"
        case 6, 7, 8: what = "a character reference (&#…;) names a character XML does not allow"
        case 9: what = "a character that XML does not allow (a control character, or bytes not in the declared encoding)"
        case 10...25: what = "a character or entity reference (&…;) is malformed or misplaced (write & as &amp;)"
        case 26, 27: what = "an entity reference (&…;) that is not declared (write & as &amp;)"
        case 28, 29, 30, 88, 89, 90: what = "an entity that cannot be used here (unparsed, external, recursive)"
        case 31, 32, 79, 81: what = "the declared text encoding is unknown or does not match the bytes"
        case 38...41, 43, 44, 75: what = "an attribute is malformed (values must be quoted, and may not contain <)"
        case 42: what = "an attribute appears twice in one tag"
        case 45, 80: what = "a comment is not finished or contains --"
        case 46, 47: what = "a processing instruction (<?…?>) is malformed"
        case 56, 57, 64: what = "the <?xml …?> declaration is malformed or not at the very start"
        case 62, 63: what = "a CDATA section is malformed"
        case 68: what = "a tag or attribute name is missing or starts with a character names may not"
        case 72, 73, 74, 77: what = "a tag is not finished"
        case 76, 85: what = "a closing tag does not match the open element"
        case 86: what = "there is content after the root element"
        case 1, 2: what = "the XML parser gave up (the document is too large or too complex)"
        default: what = "the XML is not well formed"
        }
        return what + "; the file may be truncated or have a bad tag"
    }

    /// The local name without a namespace prefix (`inkml:trace` → `trace`).
    var localName: String {
        if let colon = name.lastIndex(of: ":") { return String(name[name.index(after: colon)...]) }
        return name
    }

    /// All descendants (depth first, document order) with this local name. Iterative: no stack depth.
    func descendants(named local: String) -> [XMLElementNode] {
        var out = [XMLElementNode]()
        var pending = Array(children.reversed())
        while let n = pending.popLast() {
            if n.localName == local { out.append(n) }
            pending.append(contentsOf: n.children.reversed())
        }
        return out
    }

    /// Direct children with this local name.
    func children(named local: String) -> [XMLElementNode] { children.filter { $0.localName == local } }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var root: XMLElementNode?
    var stack: [XMLElementNode] = []
    /// The line of the first element past `XMLElementNode.maxDepth`, where parsing was stopped.
    var tooDeepAt: Int?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        guard tooDeepAt == nil else { return }
        guard stack.count < XMLElementNode.maxDepth else {
            tooDeepAt = parser.lineNumber
            parser.abortParsing()
            return
        }
        let node = XMLElementNode(name: elementName, attributes: attributeDict, line: parser.lineNumber)
        if let parent = stack.last { parent.children.append(node) } else if root == nil { root = node }
        stack.append(node)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?) {
        guard tooDeepAt == nil else { return }
        _ = stack.popLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard tooDeepAt == nil else { return }
        stack.last?.text += string
    }
}
