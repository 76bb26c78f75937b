import ArgumentParser

/// `quill style …`: the named styles that ship with a synthesis model.
public struct StyleCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "style", abstract: "Manage the named handwriting styles shipped with a synthesis model.",
        subcommands: [StyleList.self, StyleShow.self, StyleAdd.self, StyleRemove.self])
    public init() {}
}
