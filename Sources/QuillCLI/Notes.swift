import Foundation
import QuillData
import QuillModels

/// One line of text checked against a model's alphabet (replacements reported on standard error).
func checkedLine(_ text: String, sampler: HandwritingSampler) throws -> String {
    let (line, replacements) = try TextPreparation.checked(
        TextPreparation.normalisingLineBreaks(text).replacingOccurrences(of: "\n", with: " "), known: sampler.knows)
    reportReplacements(replacements)
    guard !line.allSatisfy(\.isWhitespace) else {
        throw CLIError("the text has nothing to write once its invisible characters (zero-width spaces, joiners, "
                       + "byte-order marks) are dropped; give something to write")
    }
    return line
}

func reportReplacements(_ replacements: [String]) {
    if !replacements.isEmpty { note("replaced characters the model lacks: \(replacements.joined(separator: " "))") }
}

/// A note on standard error ("quill: note: …").
func note(_ message: String) {
    FileHandle.standardError.write(Data("quill: note: \(message)\n".utf8))
}
