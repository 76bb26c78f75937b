import ArgumentParser

/// `quill train prediction|synthesis`: Graves's handwriting networks.
public struct TrainCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a handwriting network on a prepared dataset (see `quill data import`).",
        subcommands: [TrainPrediction.self, TrainSynthesis.self]
    )
    public init() {}
}
