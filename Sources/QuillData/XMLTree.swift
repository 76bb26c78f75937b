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
        let parser = XMLParser(data: data)
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

    /// Reads and parses a file.
    static func parse(file: String) throws -> XMLElementNode {
        try parse(try readFile(file), file: file)
    }

    /// The parser's complaint in plain words (never an error domain or code).
    static func describe(_ error: Error) -> String {
        let ns = error as NSError
        guard let code = XMLParser.ErrorCode(rawValue: ns.code) else {
            return "the XML is not well formed; the file may be truncated or have a bad tag"
        }
        let what: String
        switch code {
        case .emptyDocumentError, .documentStartError: what = "the document is empty or does not start with an element"
        case .prematureDocumentEndError:
            what = "the document is not well formed here (truncated, a tag left open or mismatched, "
                + "or content after the root element)"
        case .tagNameMismatchError, .notWellBalancedError: what = "a closing tag does not match the open element"
        case .unfinishedTagError, .gtRequiredError, .ltRequiredError, .ltSlashRequiredError:
            what = "a tag is not finished"
        case .invalidCharacterError: what = "a character that XML does not allow"
        case .invalidCharacterRefError, .invalidHexCharacterRefError, .invalidDecimalCharacterRefError:
            what = "a character reference (&#…;) names a character XML does not allow"
        case .undeclaredEntityError, .entityReferenceMissingSemiError, .entityReferenceWithoutNameError,
             .parsedEntityRefNoNameError, .parsedEntityRefMissingSemiError:
            what = "an entity reference (&…;) that is not declared or not finished (write & as &amp;)"
        case .entityRefLoopError, .entityBoundaryError, .entityIsExternalError, .entityIsParameterError:
            what = "an entity definition that cannot be used (recursive or external)"
        case .attributeNotStartedError, .attributeNotFinishedError, .attributeHasNoValueError,
             .literalNotStartedError, .literalNotFinishedError, .equalExpectedError, .lessThanSymbolInAttributeError:
            what = "an attribute is malformed (values must be quoted, and may not contain <)"
        case .attributeRedefinedError: what = "an attribute appears twice in one tag"
        case .unknownEncodingError, .encodingNotSupportedError, .invalidEncodingNameError, .invalidEncodingError:
            what = "the declared text encoding is unknown or does not match the bytes"
        case .commentNotFinishedError, .commentContainsDoubleHyphenError: what = "a comment is malformed"
        case .cdataNotFinishedError, .misplacedCDATAEndStringError: what = "a CDATA section is malformed"
        case .misplacedXMLDeclarationError, .xmlDeclNotStartedError, .xmlDeclNotFinishedError:
            what = "the <?xml …?> declaration is malformed or not at the very start"
        case .nameRequiredError: what = "a tag or attribute name is missing or starts with a character names may not"
        case .internalError, .outOfMemoryError: what = "the XML parser gave up (the document is too large or too complex)"
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
