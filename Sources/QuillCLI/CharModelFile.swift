import ArgumentParser
import Foundation
import QuillModels

/// `--model`: the char model a command reads.
struct CharModelFile: ParsableArguments {
    @Option(help: "Model directory (or a .safetensors file).") var model: String

    func validate() throws { try refuseNonFiles([("--model", file)]) }

    /// The checkpoint file `--model` names.
    var file: String { modelFile(model) }

    /// The checkpoint, loaded.
    func load() throws -> CharCheckpoint.Loaded { try Self.load(model) }

    /// The char model a `--model` path names (a run directory or a .safetensors file), loaded.
    static func load(_ model: String) throws -> CharCheckpoint.Loaded {
        let file = modelFile(model)
        if isDirectory(model), !FileManager.default.fileExists(atPath: file),
           FileManager.default.fileExists(atPath: (model as NSString).appendingPathComponent(NGramFile.fileName)) {
            throw CLIError("\(model) holds an n-gram model (\(NGramFile.fileName)), not a char model; use `quill ngram eval` or `quill ngram sample`", status: .dataError)
        }
        return try CharCheckpoint.load(file)
    }
}

/// A model argument may name the directory or the file itself.
func modelFile(_ path: String) -> String {
    isDirectory(path) ? URL(fileURLWithPath: path).appendingPathComponent(RunFiles.best).path : path
}
