import ArgumentParser
import Foundation
import QuillData

/// The `quill` root command.
public struct Quill: ParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "quill",
        abstract: "Handwriting synthesis and character-level language models (Graves 2013), on the CPU.",
        version: version,
        subcommands: [WriteCommand.self, SampleCommand.self, TrainCommand.self, EvalCommand.self, StyleCommand.self, CharCommand.self, DataCommand.self, PlotCommand.self, BenchCommand.self]
    )

    public init() {}
}

/// The process entry point used by `main.swift`: parses, runs, and turns every error into one line and a non-zero
/// exit.
public enum QuillEntry {
    public static func run(_ arguments: [String]? = nil) -> Never {
        do {
            var command = try Quill.parseAsRoot(arguments)
            try command.run()
            Foundation.exit(0)
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("quill: error: \(oneLine(error.description))\n".utf8))
            Foundation.exit(1)
        } catch let error as ArgumentParser.ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            if isParserError(error) { Quill.exit(withError: error) }
            let text = String(describing: error)
            FileHandle.standardError.write(Data("quill: error: \(oneLine(text))\n".utf8))
            Foundation.exit(1)
        }
    }

    /// An error message as one line with nothing the terminal would act on: control and invisible characters
    /// (from a file name, say) shown by code point.
    static func oneLine(_ message: String) -> String { TextPreparation.shown(text: message) }

    static func isParserError(_ error: Error) -> Bool {
        error is ValidationError || error is CleanExit || String(reflecting: type(of: error)).contains("ArgumentParser")
    }
}

extension Quill {
    /// What `quill` prints for an error: ArgumentParser's wording for usage errors, else the error's one line.
    static func errorLine(for error: Error) -> String {
        QuillEntry.isParserError(error) ? Quill.fullMessage(for: error) : QuillEntry.oneLine(String(describing: error))
    }
}

/// An error raised by a command itself, with a message that names the file or option and the fix.
public struct CLIError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
