import ArgumentParser

/// `quill train prediction`.
public struct TrainPrediction: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "prediction", abstract: "Train the unconditional handwriting prediction network (Graves §4).")
    @OptionGroup var args: HandwritingTrainArguments
    public init() {}
    public func validate() throws { try args.validate(kind: .prediction, window: nil) }
    public func run() throws { try args.train(kind: .prediction, window: nil) }
}
