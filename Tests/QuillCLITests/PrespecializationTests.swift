import Foundation
import XCTest

/// Issue 18 item 11: a program that depends on Quill by version builds Quill's libraries without
/// `-cross-module-optimization` (SwiftPM refuses unsafe flags there), so a call from one module into a generic function
/// of another runs unspecialised, through witness tables, unless the callee exports a `Float` specialisation that the
/// caller can link to directly. This test keeps every public generic entry point of the numerical modules
/// (`QuillNumerics`, `QuillNN`, `QuillOptim`, `QuillModels`) carrying `@_specialize(exported: true, where T == Float)`:
/// the public functions generic over `T` alone, and the public methods and initialisers of the classes and structs
/// generic over `T: QuillScalar`. `exempt` lists the few that Swift 6.3 cannot export (the caller would reference a
/// symbol the compiler never emits: their bodies reach internal declarations) and whose callers are all in their own
/// module, where whole-module optimisation specialises them anyway.
final class PrespecializationTests: XCTestCase {
    static let attribute = "@_specialize(exported: true, where T == Float)"
    static let modules = ["QuillNumerics", "QuillNN", "QuillOptim", "QuillModels"]
    /// "Type.member" (the member's name up to its first parenthesis or generic clause) → why it is exempt.
    static let exempt: [String: String] = [
        "RecurrentLayer.step": "called by RecurrentLayer.forward and RecurrentStack (QuillNN)",
        "RecurrentLayer.beginForward": "called by RecurrentLayer.forward and RecurrentStack (QuillNN)",
        "SoftWindow.init": "made by RecurrentStack (QuillNN)",
        "SoftWindow.forwardStep": "called by RecurrentStack (QuillNN)",
        "SoftWindow.backwardStep": "called by RecurrentStack (QuillNN)",
        "WindowWorkspace.init": "made by StackWorkspace (QuillNN)",
        "Adam.update": "called through AnyOptimizer (QuillOptim), which exports its specialisation",
        "Adam.stateTensors": "called through AnyOptimizer (QuillOptim)",
        "RMSProp.update": "called through AnyOptimizer (QuillOptim)",
        "RMSProp.stateTensors": "called through AnyOptimizer (QuillOptim)",
        "GravesRMSProp.update": "called through AnyOptimizer (QuillOptim)",
        "GravesRMSProp.stateTensors": "called through AnyOptimizer (QuillOptim)",
        "SGD.update": "called through AnyOptimizer (QuillOptim)",
        "SGD.stateTensors": "called through AnyOptimizer (QuillOptim)",
        "HessianFree.update": "called through AnyOptimizer (QuillOptim); does nothing",
        "HessianFree.stateTensors": "called through AnyOptimizer (QuillOptim)",
    ]

    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    func testPublicGenericEntryPointsExportAFloatSpecialisation() throws {
        var checked = 0
        var problems: [String] = []
        for module in Self.modules {
            let root = Self.sources.appendingPathComponent(module)
            guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
                return XCTFail("cannot list \(root.path)")
            }
            for case let url as URL in walker where url.pathExtension == "swift" {
                let text = try String(contentsOf: url, encoding: .utf8)
                for entry in Self.entryPoints(in: text) {
                    checked += 1
                    if !entry.specialised && Self.exempt[entry.name] == nil {
                        problems.append("\(module)/\(url.lastPathComponent):\(entry.line): \(entry.name)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 50, "found too few generic entry points under \(Self.sources.path)")
        XCTAssert(problems.isEmpty, "public generic entry points without \(Self.attribute) (add it, or exempt "
                  + "them with the reason their callers are all in their module):\n" + problems.joined(separator: "\n"))
    }

    func testScannerFindsMethodsOfGenericTypesAndGenericFunctions() {
        let source = """
        public final class Box<T: QuillScalar> {
            \(Self.attribute)
            public init(count: Int) {}
            public func sum() -> T { fatalError() }
            func internalHelper() {}
        }
        public enum Kernels {
            public static func scale<T: QuillScalar>(_ x: T) {}
            \(Self.attribute) @_specialize(where T == Double)
            public static func add<T: QuillScalar>(_ x: T) {}
            public static func name(_ s: String) {}
            public static func pair<T, U>(_ t: T, _ u: U) {}
        }
        """
        let found = Self.entryPoints(in: source).map { "\($0.line) \($0.name) \($0.specialised)" }
        XCTAssertEqual(found, ["3 Box.init true", "4 Box.sum false", "8 Kernels.scale false", "10 Kernels.add true"])
    }

    struct EntryPoint { var line: Int, name: String, specialised: Bool }

    /// The public functions generic over `T` alone and the public members of types generic over `T: QuillScalar`, each
    /// with whether the line before it (or its own line) carries the attribute.
    static func entryPoints(in text: String) -> [EntryPoint] {
        let lines = text.components(separatedBy: "\n")
        var found: [EntryPoint] = []
        var depth = 0
        var typeStack: [(name: String, depth: Int, generic: Bool)] = []
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if let type = typeDeclaration(line) {
                typeStack.append((type.name, depth, type.generic))
            } else if let member = publicMember(line), let owner = typeStack.last {
                let ownGeneric = member.genericParameters
                let counts = ownGeneric == ["T"] || (ownGeneric.isEmpty && owner.generic && depth == owner.depth + 1)
                if counts {
                    let previous = index > 0 ? lines[index - 1] : ""
                    found.append(EntryPoint(line: index + 1, name: "\(owner.name).\(member.name)",
                                            specialised: previous.contains(attribute) || line.contains(attribute)))
                }
            }
            depth += line.filter { $0 == "{" }.count - line.filter { $0 == "}" }.count
            while let last = typeStack.last, depth <= last.depth, line.contains("}") { typeStack.removeLast() }
        }
        return found
    }

    static func typeDeclaration(_ line: String) -> (name: String, generic: Bool)? {
        let pattern = #"^(public |internal |private |fileprivate )?(final )?(class|struct|enum|extension) ([A-Za-z_][A-Za-z0-9_]*)(<[^>]*>)?"#
        guard let match = line.range(of: pattern, options: .regularExpression) else { return nil }
        let declaration = String(line[match])
        let words = declaration.split(whereSeparator: { $0 == " " || $0 == "<" })
        guard let keyword = words.firstIndex(where: { ["class", "struct", "enum", "extension"].contains($0) }),
              keyword + 1 < words.count else { return nil }
        return (String(words[keyword + 1]), declaration.contains("T: QuillScalar"))
    }

    static func publicMember(_ line: String) -> (name: String, genericParameters: [String])? {
        let stripped = line.replacingOccurrences(of: Self.attribute, with: "")
            .replacingOccurrences(of: "@_specialize(where T == Double)", with: "")
            .replacingOccurrences(of: "@discardableResult", with: "")
            .trimmingCharacters(in: .whitespaces)
        let pattern = #"^public ((static|final|override|convenience) )*(func [A-Za-z_][A-Za-z0-9_]*|init)(<[^>]*>)?"#
        guard let match = stripped.range(of: pattern, options: .regularExpression) else { return nil }
        let head = String(stripped[match])
        var name = head
        var generics: [String] = []
        if let open = head.firstIndex(of: "<") {
            name = String(head[..<open])
            generics = head[head.index(after: open)...].dropLast().split(separator: ",")
                .map { $0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces) }
        }
        let member = name.split(separator: " ").last.map(String.init) ?? name
        return (member, generics)
    }
}
