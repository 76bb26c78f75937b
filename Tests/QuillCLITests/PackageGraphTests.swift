import Foundation
import QuillTestSupport
import XCTest

/// Package.swift declares every edge: each target's `dependencies` name every module its Swift files import. Swift
/// lets a file import a module that is only a dependency of a dependency, so a missing edge builds today and breaks
/// when the module in between stops depending on it; this test reads the manifest (`swift package dump-package`)
/// and the `import` lines of every Swift file under each target's folder and fails naming the file and the module.
final class PackageGraphTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testEveryImportIsADeclaredDependency() throws {
        let targets = try PackageGraph.targets(manifestJSON: try dumpPackage())
        XCTAssertGreaterThan(targets.count, 20, "found too few targets in Package.swift")
        var files = 0
        var problems: [String] = []
        for target in targets {
            let folder = Self.root.appendingPathComponent(target.path)
            guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker where url.pathExtension == "swift" {
                files += 1
                let name = target.path + url.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count)
                let text = try String(contentsOf: url, encoding: .utf8)
                for use in PackageGraph.imports(in: text) where !target.allows(use.module) {
                    problems.append("\(name):\(use.line): imports \(use.module), which target \(target.name) does not "
                                    + "list in its dependencies in Package.swift")
                }
            }
        }
        XCTAssertGreaterThan(files, 100, "found too few Swift files under the targets' folders")
        XCTAssert(problems.isEmpty, "\n" + problems.joined(separator: "\n"))
    }

    /// SwiftPM refuses to build a package that depends on Quill by version when a target under a product it uses has
    /// unsafe flags ("the target 'X' in product 'Y' contains unsafe build flags"). Such a dependency is a working copy
    /// in a `checkouts` folder: the manifest, read from one, gives the library products' targets (and every target
    /// of the package they depend on) none. Only the `quill` executable's own targets may have them.
    func testLibraryProductsCarryNoUnsafeFlagsWhenADependency() throws {
        let checkout = TempDir("quill-checkout"); defer { checkout.cleanup() }
        let folder = checkout.url.appendingPathComponent("checkouts").appendingPathComponent("quill")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("Package.swift"),
                                         to: folder.appendingPathComponent("Package.swift"))
        let json = try dumpPackage(folder)
        let targets = try PackageGraph.targets(manifestJSON: json)
        let libraries = try PackageGraph.libraryProducts(manifestJSON: json)
        XCTAssertEqual(Set(libraries.keys), ["QuillData", "QuillRender", "QuillModels", "QuillWriting"],
                       "the library products a Swift program uses")
        for (product, roots) in libraries.sorted(by: { $0.key < $1.key }) {
            let closure = PackageGraph.closure(of: roots, in: targets)
            XCTAssertTrue(closure.contains("QuillNumerics"), "\(product)'s targets: \(closure.sorted())")
            for target in targets where closure.contains(target.name) && !target.unsafeFlags.isEmpty {
                XCTFail("library product \(product) builds target \(target.name), which has unsafeFlags "
                        + "\(target.unsafeFlags) when Quill is a dependency: a package depending on Quill by version "
                        + "would not resolve. Give library targets `library` settings (Package.swift)")
            }
        }
    }

    /// Built as the root package, the numerical libraries keep the release flags the benchmarks were measured with
    /// (without them training ran at about half the speed and sampling at a fifth to two fifths: Package.swift).
    func testRootBuildKeepsTheReleaseFlags() throws {
        let targets = try PackageGraph.targets(manifestJSON: try dumpPackage())
        for name in ["QuillNumerics", "QuillNN", "QuillModels"] {
            let flags = targets.first { $0.name == name }?.unsafeFlags ?? []
            XCTAssertTrue(flags.contains("-cross-module-optimization") && flags.contains("-Ounchecked"),
                          "\(name) has \(flags) in the root build")
        }
    }

    /// `swift package dump-package` of `package` run with a scratch folder of its own, so it neither waits for the lock on
    /// `.build` held by the `swift test` running this test nor touches that folder. It reads the manifest only:
    /// no network, about 3 s.
    func dumpPackage(_ package: URL = PackageGraphTests.root) throws -> Data {
        let scratch = TempDir("quill-dump-package"); defer { scratch.cleanup() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "package", "--package-path", package.path, "--scratch-path", scratch.url.path,
                             "dump-package"]
        // The manifest as a plain build reads it (QUILL_PORTABLE_LIBRARIES=1 would drop the libraries' flags).
        process.environment = ProcessInfo.processInfo.environment.filter { $0.key != "QUILL_PORTABLE_LIBRARIES" }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { throw XCTSkip("cannot run `swift package dump-package`: \(error)") }
        let json = out.fileHandleForReading.readDataToEndOfFile()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            XCTFail("swift package dump-package failed (\(process.terminationStatus)): \(String(decoding: message, as: UTF8.self))")
            return Data()
        }
        return json
    }

    // MARK: - The scanner and the manifest reader themselves

    func testFindsImportsOfEveryForm() {
        let text = "import Foundation\n@testable import QuillCLI\n  @_implementationOnly import CBLAS\n"
            + "import struct QuillNN.Linear\nimport QuillData.Sub // comment\n#if canImport(Glibc)\nimport Glibc\n#endif\n"
            + "let s = \"\"\"\nimport NotCode\n\"\"\"\n// import NotCode\n/* import NotCode */\nlet important = 1\n"
            + "public import QuillIO\n@preconcurrency import QuillRender;\n"
        XCTAssertEqual(PackageGraph.imports(in: text).map { "\($0.line) \($0.module)" },
                       ["1 Foundation", "2 QuillCLI", "3 CBLAS", "4 QuillNN", "5 QuillData", "7 Glibc", "15 QuillIO",
                        "16 QuillRender"])
    }

    func testReadsTargetsDependenciesAndDefaultPaths() throws {
        let json = """
        {"targets": [
          {"name": "A", "type": "regular", "path": null, "dependencies": [
            {"byName": ["B", null]}, {"target": ["C", {"platformNames": ["linux"]}]},
            {"product": ["RealModule", "swift-numerics", null, null]}]},
          {"name": "ATests", "type": "test", "path": null, "dependencies": [{"byName": ["A", null]}]},
          {"name": "F", "type": "executable", "path": "Fuzz/F", "dependencies": []},
          {"name": "S", "type": "system", "path": null, "dependencies": []}
        ]}
        """
        let targets = try PackageGraph.targets(manifestJSON: Data(json.utf8))
        XCTAssertEqual(targets.map(\.name), ["A", "ATests", "F"])
        XCTAssertEqual(targets.map(\.path), ["Sources/A", "Tests/ATests", "Fuzz/F"])
        XCTAssertEqual(targets[0].dependencies, ["B", "C", "RealModule"])
        XCTAssertTrue(targets[0].allows("RealModule"))
        XCTAssertTrue(targets[0].allows("Foundation"))
        XCTAssertTrue(targets[0].allows("A"), "a target's own name (a file naming its own module)")
        XCTAssertFalse(targets[1].allows("B"), "a dependency of a dependency is not declared")
    }

    func testFindsUnsafeFlagsAnywhereUnderALibraryProduct() throws {
        let json = """
        {"products": [{"name": "L", "targets": ["A"], "type": {"library": ["automatic"]}},
                      {"name": "E", "targets": ["E"], "type": {"executable": null}}],
         "targets": [
          {"name": "A", "type": "regular", "dependencies": [{"byName": ["B", null]},
            {"product": ["RealModule", "swift-numerics", null, null]}], "settings": []},
          {"name": "B", "type": "regular", "dependencies": [{"target": ["C", {"platformNames": ["linux"]}]}]},
          {"name": "C", "type": "regular", "dependencies": [], "settings": [
            {"tool": "c", "kind": {"unsafeFlags": {"_0": ["-O2"]}}},
            {"tool": "linker", "kind": {"linkedLibrary": {"_0": "dl"}}}]},
          {"name": "E", "type": "executable", "dependencies": [{"byName": ["A", null]}], "settings": [
            {"tool": "swift", "condition": {"config": "release"}, "kind": {"unsafeFlags": {"_0": ["-Ounchecked"]}}}]}
        ]}
        """
        let targets = try PackageGraph.targets(manifestJSON: Data(json.utf8))
        XCTAssertEqual(targets.map(\.unsafeFlags), [[], [], ["-O2"], ["-Ounchecked"]])
        let libraries = try PackageGraph.libraryProducts(manifestJSON: Data(json.utf8))
        XCTAssertEqual(libraries, ["L": ["A"]], "executables are not libraries")
        XCTAssertEqual(PackageGraph.closure(of: ["A"], in: targets), ["A", "B", "C"],
                       "a conditional dependency counts; an external product is not a target")
    }
}

/// Reads targets from `swift package dump-package`'s JSON and `import` declarations from Swift source.
enum PackageGraph {
    struct Target {
        let name: String
        /// The folder of the target's sources, relative to the package root.
        let path: String
        /// Targets and products named in `dependencies`.
        let dependencies: Set<String>
        /// The flags of every `unsafeFlags` setting (Swift, C, C++ or linker; any condition), in order.
        var unsafeFlags: [String] = []

        /// Whether a file of this target may import `module`.
        func allows(_ module: String) -> Bool {
            module == name || dependencies.contains(module) || PackageGraph.platformModules.contains(module)
                || dependencies.contains { PackageGraph.productModules[$0]?.contains(module) == true }
        }
    }

    /// Modules of the toolchain and the operating system, which no manifest declares.
    static let platformModules: Set<String> = [
        "Swift", "Foundation", "FoundationXML", "FoundationNetworking", "FoundationEssentials", "Dispatch", "XCTest",
        "Testing", "Glibc", "Musl", "Darwin", "Accelerate", "os", "CoreFoundation", "Synchronization", "_Concurrency",
    ]

    /// Modules that an external product provides under names other than its own (swift-numerics' umbrella).
    static let productModules: [String: Set<String>] = ["Numerics": ["RealModule", "ComplexModule"]]

    /// The targets with source folders (system-library and binary targets have none), in manifest order.
    static func targets(manifestJSON: Data) throws -> [Target] {
        guard let manifest = try JSONSerialization.jsonObject(with: manifestJSON) as? [String: Any],
              let list = manifest["targets"] as? [[String: Any]] else {
            throw ManifestError("the JSON of swift package dump-package has no \"targets\" list")
        }
        return list.compactMap { target -> Target? in
            guard let name = target["name"] as? String, let type = target["type"] as? String,
                  ["regular", "executable", "test", "macro"].contains(type) else { return nil }
            let path = target["path"] as? String ?? (type == "test" ? "Tests/\(name)" : "Sources/\(name)")
            var dependencies = Set<String>()
            for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
                for key in ["byName", "target", "product"] {
                    if let first = (dependency[key] as? [Any])?.first as? String { dependencies.insert(first) }
                }
            }
            var unsafeFlags: [String] = []
            for setting in target["settings"] as? [[String: Any]] ?? [] {
                if let kind = setting["kind"] as? [String: Any], let flags = kind["unsafeFlags"] as? [String: Any] {
                    unsafeFlags += flags["_0"] as? [String] ?? []
                }
            }
            return Target(name: name, path: path, dependencies: dependencies, unsafeFlags: unsafeFlags)
        }
    }

    /// The library products, each with the targets it names.
    static func libraryProducts(manifestJSON: Data) throws -> [String: [String]] {
        guard let manifest = try JSONSerialization.jsonObject(with: manifestJSON) as? [String: Any],
              let list = manifest["products"] as? [[String: Any]] else {
            throw ManifestError("the JSON of swift package dump-package has no \"products\" list")
        }
        var libraries: [String: [String]] = [:]
        for product in list {
            guard let name = product["name"] as? String, let type = product["type"] as? [String: Any],
                  type["library"] != nil else { continue }
            libraries[name] = product["targets"] as? [String] ?? []
        }
        return libraries
    }

    /// `roots` and every target of the package they depend on, directly or not (names of other packages' products
    /// are left out).
    static func closure(of roots: [String], in targets: [Target]) -> Set<String> {
        let byName = Dictionary(targets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<String>(), stack = roots
        while let name = stack.popLast() {
            guard let target = byName[name], seen.insert(name).inserted else { continue }
            stack += target.dependencies
        }
        return seen
    }

    /// The modules `text` imports, with 1-based line numbers: declarations at the start of a line (after attributes
    /// and an access level), outside multi-line strings and block comments; `import struct M.T` and `import M.Sub`
    /// count as importing M.
    static func imports(in text: String) -> [(line: Int, module: String)] {
        var found: [(line: Int, module: String)] = []
        var inString = false, inComment = false
        for (index, raw) in text.components(separatedBy: "\n").enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            let quotes = line.components(separatedBy: "\"\"\"").count - 1
            if inString {
                if quotes % 2 == 1 { inString = false }
                continue
            }
            if inComment {
                guard let end = line.range(of: "*/") else { continue }
                inComment = false
                line = String(line[end.upperBound...]).trimmingCharacters(in: .whitespaces)
            }
            if quotes % 2 == 1 { inString = true }
            if line.hasPrefix("/*") && !line.contains("*/") { inComment = true; continue }
            var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ";" }).map(String.init)
            while let first = words.first, first.hasPrefix("@") || ["public", "package", "internal", "private",
                                                                      "fileprivate"].contains(first) {
                words.removeFirst()
            }
            guard words.first == "import", words.count >= 2 else { continue }
            let kinds: Set<String> = ["struct", "class", "enum", "protocol", "typealias", "func", "var", "let"]
            let path = kinds.contains(words[1]) && words.count >= 3 ? words[2] : words[1]
            guard let module = path.split(separator: ".").first, !module.hasPrefix("//") else { continue }
            found.append((index + 1, String(module)))
        }
        return found
    }
}

struct ManifestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
