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

    /// Parses `data`; malformed or truncated XML throws `DatasetError.malformedXML` with the parser's position.
    static func parse(_ data: Data, file: String) throws -> XMLElementNode {
        let parser = XMLParser(data: data)
        let builder = TreeBuilder()
        parser.delegate = builder
        let ok = parser.parse()
        if !ok || builder.root == nil || !builder.stack.isEmpty {
            let why = parser.parserError.map { describe($0) } ?? "the document ends before its root element is closed"
            throw DatasetError.malformedXML(SourcePosition(file: file, line: parser.lineNumber,
                                                           column: parser.columnNumber), why)
        }
        return builder.root!
    }

    /// Reads and parses a file.
    static func parse(file: String) throws -> XMLElementNode {
        try parse(try readFile(file), file: file)
    }

    private static func describe(_ error: Error) -> String {
        let ns = error as NSError
        return "parser error \(ns.code) (\(ns.localizedDescription)); the file may be truncated or have a bad tag"
    }

    /// The local name without a namespace prefix (`inkml:trace` → `trace`).
    var localName: String {
        if let colon = name.lastIndex(of: ":") { return String(name[name.index(after: colon)...]) }
        return name
    }

    /// All descendants (depth first, document order) with this local name.
    func descendants(named local: String) -> [XMLElementNode] {
        var out = [XMLElementNode]()
        func walk(_ n: XMLElementNode) {
            for c in n.children {
                if c.localName == local { out.append(c) }
                walk(c)
            }
        }
        walk(self)
        return out
    }

    /// Direct children with this local name.
    func children(named local: String) -> [XMLElementNode] { children.filter { $0.localName == local } }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var root: XMLElementNode?
    var stack: [XMLElementNode] = []

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        let node = XMLElementNode(name: elementName, attributes: attributeDict, line: parser.lineNumber)
        if let parent = stack.last { parent.children.append(node) } else if root == nil { root = node }
        stack.append(node)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?) {
        _ = stack.popLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        stack.last?.text += string
    }
}
