import ArgumentParser
import Foundation
import QuillData
import QuillModels

/// The `quill` root command.
public struct Quill: ParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "quill",
        abstract: "Handwriting synthesis and character-level language models (Graves 2013), on the CPU.",
        discussion: ExitStatus.summary,
        version: version,
        subcommands: [WriteCommand.self, ServeCommand.self, SampleCommand.self, TrainCommand.self, EvalCommand.self, StyleCommand.self, CharCommand.self, TaskCommand.self, NGramCommand.self, DataCommand.self, PlotCommand.self, BenchCommand.self]
    )

    public init() {}
}

/// The process entry point used by `main.swift`: parses, runs, and turns every error into one line and a non-zero
/// exit.
public enum QuillEntry {
    public static func run(_ arguments: [String]? = nil) -> Never {
        if arguments == nil, let problem = undecodableArgument(rawArguments()) ?? undecodablePath(in: "QUILL_MODEL_DIR") {
            // Swift decodes argv lossily (U+FFFD for a bad byte): a path would silently name another file.
            FileHandle.standardError.write(Data("quill: error: \(problem)\n".utf8))
            Foundation.exit(ExitStatus.usage.rawValue)
        }
        do {
            var command = try Quill.parseCommand(arguments)
            try command.run()
            if let problem = standardOutputProblem() { throw CLIError(problem, status: .ioError) }
            DataParallel.finish()
            Foundation.exit(0)
        } catch let error as ArgumentParser.ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            let own = commandError(in: error)
            let usage = own == nil && isParserError(error)
            if usage && Quill.exitCode(for: error) == .success {
                // --help, --version: printed in full, as ArgumentParser's `exit(withError:)` does, then checked
                // like every command's output.
                let text = Quill.fullMessage(for: error)
                if !text.isEmpty { print(text) }
                if let problem = standardOutputProblem() {
                    FileHandle.standardError.write(Data("quill: error: \(problem)\n".utf8))
                    Foundation.exit(ExitStatus.ioError.rawValue)
                }
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data("\(Quill.errorLine(for: error))\n".utf8))
            let status = usage ? Quill.exitCode(for: error).rawValue : ExitStatus.of(own ?? error).rawValue
            // In an MPI job, the other ranks would wait for this one: end them all.
            DataParallel.abortJob(code: status)
            Foundation.exit(status)
        }
    }

    /// The process's arguments after the program name, as the bytes it was given.
    static func rawArguments() -> [[UInt8]] {
        (1..<max(1, Int(CommandLine.argc))).map { i in
            guard let p = CommandLine.unsafeArgv[i] else { return [] }
            return Array(UnsafeRawBufferPointer(start: p, count: strlen(p)))
        }
    }

    /// One line naming the first argument that is not valid UTF-8 (a file name in another encoding), or nil. Such an
    /// argument would reach the commands with U+FFFD in place of its bytes, so `-o` would write another file than
    /// the one named and an input would be "missing".
    static func undecodableArgument(_ arguments: [[UInt8]]) -> String? {
        for (i, bytes) in arguments.enumerated() where String(validating: bytes, as: UTF8.self) == nil {
            return "argument \(i + 1) (\(shownBytes(bytes))) is not valid UTF-8; Quill reads paths and text as UTF-8: rename the file or convert the text"
        }
        return nil
    }

    /// One line when the environment variable `name` (a path) is set to bytes that are not UTF-8, else nil: Swift
    /// would read it with U+FFFD in their place, so the folder it names would be "missing".
    static func undecodablePath(in name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let bytes = Array(UnsafeRawBufferPointer(start: value, count: strlen(value)))
        guard String(validating: bytes, as: UTF8.self) == nil else { return nil }
        return "\(name) (\(shownBytes(bytes))) is not valid UTF-8; Quill reads paths as UTF-8: rename the folder"
    }

    /// Bytes as a message shows an argument that is not UTF-8: printable ASCII as it is (a backslash doubled), every
    /// other byte as \xNN.
    static func shownBytes(_ bytes: [UInt8]) -> String {
        bytes.map { b in
            b == 0x5C ? "\\\\" : b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : String(format: "\\x%02X", b)
        }.joined()
    }

    /// Why what the command printed did not all reach standard output (a full disk, a closed or broken descriptor:
    /// `quill char sample > /dev/full`), or nil: the stream is flushed and its error flag read, so a printed result
    /// that was cut short ends with status 74, not 0.
    static func standardOutputProblem() -> String? {
        errno = 0
        let flushed = fflush(stdout) == 0, code = errno
        guard !flushed || ferror(stdout) != 0 else { return nil }
        let why = !flushed && code != 0 ? String(cString: strerror(code)) : "a write failed"
        return "standard output could not be written (\(why)); what it received is incomplete"
    }

    /// The error of Quill's own that a command's `validate()` threw (a `CLIError`, or a checkpoint, render or file
    /// error from checking an input), which ArgumentParser wraps in its own error: such errors are findings about
    /// files, not usage mistakes, and are shown as "quill: error: …" without the usage.
    static func commandError(in error: Error) -> Error? {
        func own(_ e: Error) -> Bool {
            !(e is ValidationError) && !(e is CleanExit) && !(e is ExitCode)
                && !String(reflecting: type(of: e)).contains("ArgumentParser")
        }
        func search(_ value: Any, depth: Int) -> Error? {
            if let e = value as? Error, own(e) { return e }
            guard depth < 4 else { return nil }
            for child in Mirror(reflecting: value).children {
                if let e = search(child.value, depth: depth + 1) { return e }
            }
            return nil
        }
        return search(error, depth: 0)
    }

    /// A one-line message for an error that is not Quill's own: Foundation's file errors are mapped to what
    /// happened and the fix, never shown as "Error Domain=…"; Quill's typed errors give their description.
    static func message(for error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
            let path = (ns.userInfo[NSFilePathErrorKey] as? String)
                ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path ?? "a file"
            return fileErrorLine(error, path: path)
        }
        return String(describing: error)
    }

    /// An error message as one line with nothing the terminal would act on: control and invisible characters
    /// (from a file name, say) shown by code point.
    static func oneLine(_ message: String) -> String { TextPreparation.shown(text: message) }

    static func isParserError(_ error: Error) -> Bool {
        error is ValidationError || error is CleanExit || String(reflecting: type(of: error)).contains("ArgumentParser")
    }
}

extension Quill {
    /// What `quill` prints for an error, always one line: "quill: error: " and the error's message; for a usage error
    /// (ArgumentParser's wording) the help to read follows in parentheses, e.g. "(see 'quill write --help')".
    static func errorLine(for error: Error) -> String {
        if let e = QuillEntry.commandError(in: error) { return "quill: error: " + QuillEntry.oneLine(QuillEntry.message(for: e)) }
        if QuillEntry.isParserError(error) {
            // Its first line: ArgumentParser may add the option's help ("Help: --bias …"), which --help shows.
            var message = String(Quill.message(for: error).trimmingCharacters(in: .whitespacesAndNewlines)
                .split(separator: "\n").first ?? "")
            if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
            let help = helpCommand(for: error)
            if let hint = textOptionHint(message, help: help) { return "quill: error: " + hint }
            return "quill: error: " + QuillEntry.oneLine(message) + " (see '\(help)')"
        }
        return "quill: error: " + QuillEntry.oneLine(QuillEntry.message(for: error))
    }

    /// For `--text` given to a command whose text is its argument (`quill write`, `quill plot window`), what to type
    /// instead: ArgumentParser would suggest the nearest option by spelling ("Did you mean '--seed'?").
    static func textOptionHint(_ message: String, help: String) -> String? {
        guard message.hasPrefix("Unknown option '--text'") || message.hasPrefix("Unknown option '--txt'") else { return nil }
        switch help {
        case "quill write --help":
            return "quill write takes its text as an argument, not --text: quill write \"Hello\" -o hello.png "
                + "(or - to read standard input, or --input FILE; see 'quill write --help')"
        case "quill plot window --help":
            return "quill plot window takes its text as an argument, not --text: quill plot window \"Hello\" -o phi.png "
                + "(or - to read standard input; see 'quill plot window --help')"
        default:
            return nil
        }
    }

    /// The help command ArgumentParser names for a usage error ("quill write --help"), read from its full message;
    /// "quill --help" when it names none.
    static func helpCommand(for error: Error) -> String {
        let full = Quill.fullMessage(for: error)
        if let see = full.range(of: "See '"), let end = full[see.upperBound...].firstIndex(of: "'") {
            let command = String(full[see.upperBound..<end])
            if command.hasPrefix("quill"), command.hasSuffix("--help") { return command }
        }
        return "quill --help"
    }

    /// Parses `quill`'s arguments (the process's when nil) into the command to run, as `parseAsRoot` does, after
    /// joining a negative number to the option before it: `--bias -1` becomes `--bias=-1`, which ArgumentParser
    /// would otherwise read as a short flag `-1` and report as a missing value. Only options that take a value (from
    /// ArgumentParser's own description of the command tree) are joined, and only before `--`.
    /// A word where a command is expected that names none (`quill wirte "hi"`) is told so, with the nearest command.
    public static func parseCommand(_ arguments: [String]? = nil) throws -> ParsableCommand {
        let arguments = arguments ?? Array(CommandLine.arguments.dropFirst())
        if let unknown = unknownCommand(in: arguments) { throw unknown }
        return try parseAsRoot(joiningNegativeValues(arguments))
    }

    /// The error for the first word of `arguments` that stands where a command's subcommand must (its command has
    /// subcommands and takes no positional arguments) but names none; nil when there is none. ArgumentParser would
    /// report such a word, and the words after it, as unexpected arguments or their options as unknown.
    static func unknownCommand(in arguments: [String]) -> CLIError? {
        var node = OptionTree.root
        var path = ["quill"]
        for word in arguments {
            guard let current = node, !current.subcommands.isEmpty, !current.takesPositionals,
                  !word.hasPrefix("-"), word != "help" else { return nil }
            if let sub = current.subcommands[word] {
                node = sub
                path.append(word)
                continue
            }
            let command = path.joined(separator: " ")
            var message = "'\(word)' is not a command of '\(command)'"
            let nearest = current.subcommands.keys.map { (editDistance(word.lowercased(), $0), $0) }.min { $0 < $1 }
            if let (distance, name) = nearest, distance <= (name.count >= 5 ? 2 : 1) {
                message += " (did you mean '\(name)'?)"
            }
            return CLIError(message + "; see '\(command) --help' for its commands", status: .usage)
        }
        return nil
    }

    /// The edit distance between two words in characters, counting an insertion, a deletion, a substitution or a
    /// swap of two neighbouring characters as one edit (optimal string alignment, Damerau's typing errors).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }

    /// `arguments` with each `--option -VALUE` written as `--option=-VALUE` when `--option` takes a value in the
    /// command named by the arguments before it and VALUE starts with a digit or `.digit` (a number, or a measure
    /// such as `-100x100mm` or `-5mm`, which the option's own check then judges) or is `inf`, `infinity` or `nan`.
    static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var node = OptionTree.root
        var out = [String]()
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" { out.append(contentsOf: arguments[i...]); break }
            if let sub = node?.subcommands[a] {
                node = sub
            } else if a.hasPrefix("--"), !a.contains("="), i + 1 < arguments.count,
                      node?.valueOptions.contains(String(a.dropFirst(2))) == true,
                      startsLikeNegativeNumber(arguments[i + 1]) {
                out.append(a + "=" + arguments[i + 1])
                i += 2
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    static func startsLikeNegativeNumber(_ s: String) -> Bool {
        guard s.hasPrefix("-"), s.count > 1 else { return false }
        let body = s.dropFirst().lowercased()
        if ["inf", "infinity", "nan"].contains(body) { return true }
        return body.range(of: #"^(\.?[0-9])"#, options: .regularExpression) != nil
    }
}

/// Which long options take a value, per command, from ArgumentParser's JSON description of the command tree.
struct OptionTree {
    /// Long names (without --) of the options that take a value.
    var valueOptions: Set<String> = []
    var subcommands: [String: OptionTree] = [:]
    /// Whether the command takes positional arguments (a word after it may be one rather than a subcommand).
    var takesPositionals = false

    /// The tree of `quill`; nil if ArgumentParser's description can't be read (arguments are then left as given).
    static let root: OptionTree? = {
        guard let data = Quill._dumpHelp().data(using: .utf8),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let command = json["command"] as? [String: Any] else { return nil }
        return OptionTree(command)
    }()

    init(_ command: [String: Any]) {
        let arguments = command["arguments"] as? [[String: Any]] ?? []
        takesPositionals = arguments.contains { $0["kind"] as? String == "positional" }
        for argument in arguments where argument["kind"] as? String == "option" {
            for name in argument["names"] as? [[String: Any]] ?? [] where name["kind"] as? String == "long" {
                if let n = name["name"] as? String { valueOptions.insert(n) }
            }
        }
        for sub in command["subcommands"] as? [[String: Any]] ?? [] {
            guard let name = sub["commandName"] as? String else { continue }
            let tree = OptionTree(sub)
            subcommands[name] = tree
            for alias in sub["aliases"] as? [String] ?? [] { subcommands[alias] = tree }
        }
    }
}

/// An error raised by a command itself, with a message that names the file or option and the fix.
public struct CLIError: Error, CustomStringConvertible {
    public let description: String
    /// The exit status it gives (`ExitStatus`): a malformed input unless said otherwise.
    let status: ExitStatus
    public init(_ message: String) { description = message; status = .dataError }
    init(_ message: String, status: ExitStatus) { description = message; self.status = status }
}
