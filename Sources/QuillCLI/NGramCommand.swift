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
    func load() throws -> NGramModel {
        if isDirectory(model), !FileManager.default.fileExists(atPath: file),
           FileManager.default.fileExists(atPath: modelFile(model)) {
            throw CLIError("\(model) holds a neural model (\(RunFiles.best)), not an n-gram model; evaluate or sample it with `quill char eval` or `quill char sample`", status: .dataError)
        }
        return try NGramFile.load(file)
    }
}
