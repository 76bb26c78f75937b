import ArgumentParser

/// `quill data …`: import, inspect and show stroke datasets.
public struct DataCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Import, inspect and draw online handwriting datasets.",
        subcommands: [DataImportCommand.self, DataStatsCommand.self, DataShowCommand.self]
    )
    public init() {}
}
