import ArgumentParser

/// `quill char …`: character-level language models.
public struct CharCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "char",
        abstract: "Train, sample and evaluate character-level language models.",
        subcommands: [CharTrain.self, CharSample.self, CharEval.self, CharSweepCommand.self, CharTypoCommand.self,
                      CharSaturationCommand.self, CharCellsCommand.self, CharSimilarityCommand.self,
                      CharGradientFlowCommand.self, CharTimeGateCommand.self]
    )
    public init() {}
}
