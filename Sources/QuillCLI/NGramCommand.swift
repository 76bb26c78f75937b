import ArgumentParser
import Foundation
import QuillModels

/// `quill ngram …`: character n-gram language models, the count-based baseline of the char models.
public struct NGramCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ngram",
        abstract: "Train, evaluate and sample character n-gram models (the baseline of the char models).",
        subcommands: [NGramTrain.self, NGramEval.self, NGramSample.self]
    )
    public init() {}
}

/// `--model`: the n-gram model a command reads.
struct NGramModelFile: ParsableArguments {
    @Option(help: "Model directory (or its model.ngram file).") var model: String

    func validate() throws { try refuseNonFiles([("--model", file)]) }

    /// The model file `--model` names.
    var file: String {
        isDirectory(model) ? URL(fileURLWithPath: model).appendingPathComponent(NGramFile.fileName).path : model
    }

    /// The model, loaded.
    func load() throws -> NGramModel { try NGramFile.load(file) }
}
