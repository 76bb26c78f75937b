import ArgumentParser
import QuillModels

/// `quill train synthesis`.
public struct TrainSynthesis: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "synthesis", abstract: "Train the text-conditioned handwriting synthesis network (Graves §5).")
    @OptionGroup var args: HandwritingTrainArguments
    @Option(help: .text("Gaussians in the soft window K (1…100).",
                        default: HandwritingConfig(kind: .synthesis).windowComponents)) var window: Int?
    public init() {}
    public func validate() throws { try args.validate(kind: .synthesis, window: window) }
    public func run() throws { try args.train(kind: .synthesis, window: window) }
}
