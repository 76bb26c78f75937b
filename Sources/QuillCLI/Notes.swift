import Foundation
import QuillData
import QuillModels

/// One line of text checked against a model's alphabet (`TextPreparation.line`; replacements reported on standard
/// error).
func checkedLine(_ text: String, sampler: HandwritingSampler) throws -> String {
    let (line, replacements) = try TextPreparation.line(text, alphabet: sampler.alphabet)
    reportReplacements(replacements)
    return line
}

func reportReplacements(_ replacements: [String]) {
    if !replacements.isEmpty { note("replaced characters the model lacks: \(replacements.joined(separator: " "))") }
}

/// A note on standard error ("quill: note: …").
func note(_ message: String) {
    FileHandle.standardError.write(Data("quill: note: \(message)\n".utf8))
}
