import ArgumentParser
import Foundation
import QuillData
import QuillModels

/// Where the commands that sample a handwriting model (`write`, `sample`, `plot window`, `plot density`, `style add`,
/// `eval`) find their model when `--model` is not given. The first rule that applies wins:
///
/// 1. `$QUILL_MODEL_DIR/<kind>` when `QUILL_MODEL_DIR` is set and not empty (whether or not the folder exists: an
///    explicit setting is never second-guessed, and a missing model is reported under that path). The older form,
///    `QUILL_MODEL_DIR` naming one model's own folder (it holds `model.safetensors` and no `<kind>` folder), is
///    still read as that model;
/// 2. `PREFIX/share/quill/models/<kind>` when the running binary is `PREFIX/bin/quill` (after resolving symbolic
///    links) and that folder exists: where `make install PREFIX=…` puts the models;
/// 3. `models/<kind>` in the source tree the binary was built from (a clone, `.build/<configuration>/quill`).
///
/// When neither 2 nor 3 exists, the answer is rule 2's path if the binary sits in a `bin` folder, else rule 3's: the
/// load then fails naming the place a model was expected.
enum DefaultModel {
    static let environmentVariable = "QUILL_MODEL_DIR"

    /// The default model directory of `kind` (rules above), for this process.
    static func directory(_ kind: HandwritingKind) -> String {
        directory(kind, environment: ProcessInfo.processInfo.environment, executable: executablePath,
                  sourceRoot: sourceRoot)
    }

    /// The rules above with their inputs given: `environment` (the variables), `executable` (the binary's absolute
    /// path, nil when unknown) and `sourceRoot` (the repository the binary was built from). `fileExists` decides
    /// which folders exist (tests pass their own).
    static func directory(_ kind: HandwritingKind, environment: [String: String], executable: String?,
                          sourceRoot: String,
                          fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> String {
        if let dir = environment[environmentVariable], !dir.isEmpty {
            let model = (dir as NSString).appendingPathComponent(kind.rawValue)
            if !fileExists(model), fileExists((dir as NSString).appendingPathComponent(RunFiles.best)) { return dir }
            return model
        }
        let installed = executable.flatMap { installedDirectory(kind, executable: $0) }
        if let installed, fileExists(installed) { return installed }
        let source = ((sourceRoot as NSString).appendingPathComponent("models") as NSString)
            .appendingPathComponent(kind.rawValue)
        if fileExists(source) { return source }
        return installed ?? source
    }

    /// `PREFIX/share/quill/models/<kind>` for a binary at `PREFIX/bin/NAME`; nil when the binary is not in a `bin`
    /// folder.
    static func installedDirectory(_ kind: HandwritingKind, executable: String) -> String? {
        let bin = (executable as NSString).deletingLastPathComponent
        guard (bin as NSString).lastPathComponent == "bin" else { return nil }
        let prefix = (bin as NSString).deletingLastPathComponent
        return ["share", "quill", "models", kind.rawValue].reduce(prefix) { ($0 as NSString).appendingPathComponent($1) }
    }

    /// `model` (the `--model` given), or else the default of `kind` when it holds a model.
    /// - Throws: `CLIError` naming the folder looked in and why, when no `--model` was given and the default has no
    ///   `model.safetensors`.
    static func path(_ model: String?, _ kind: HandwritingKind) throws -> String {
        if let model { return model }
        let dir = directory(kind)
        if FileManager.default.fileExists(atPath: modelFile(dir)) { return dir }
        let setting = ProcessInfo.processInfo.environment[environmentVariable] ?? ""
        throw CLIError("no --model given and no \(kind.rawValue) model in \(TextPreparation.shown(text: dir))"
            + (setting.isEmpty ? "" : " (from \(environmentVariable)=\(TextPreparation.shown(text: setting)))")
            + "; give --model DIR, or set \(environmentVariable) to a folder holding \(kind.rawValue)/model.safetensors",
                       status: .noInput)
    }

    static var synthesis: String { directory(.synthesis) }
    static var prediction: String { directory(.prediction) }

    /// The `--model` help of a command whose default is the bundled model of `kind`; `what` names the option's value.
    static func help(_ kind: HandwritingKind, what: String? = nil) -> ArgumentHelp {
        let what = what ?? "\(kind == .synthesis ? "Synthesis" : "Prediction") model directory (or .safetensors file)"
        return ArgumentHelp(
            "\(what). Default: $\(environmentVariable)/\(kind.rawValue) when "
            + "set, else PREFIX/share/quill/models/\(kind.rawValue) beside an installed PREFIX/bin/quill, else the "
            + "source tree's models/\(kind.rawValue).")
    }

    /// The running binary, symbolic links resolved; nil when it can't be found.
    static var executablePath: String? {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return Bundle.main.executableURL?.resolvingSymlinksInPath().path
    }

    /// The repository this binary was built from: this file is Sources/QuillCLI/DefaultModel.swift.
    static var sourceRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }
}
