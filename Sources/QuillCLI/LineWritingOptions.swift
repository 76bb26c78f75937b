import ArgumentParser
import QuillModels

/// How `quill write` writes each line: Graves's stopping rule with the step cap and the finishing steps
/// (`WriteOptions`), how many tries of each line are drawn, how often a line that breaks down is written again and
/// how long a line may be to be written whole (`PageWriter`). Defaults are theirs, except `--candidates` (4 tries;
/// the library writes each line once).
struct LineWritingOptions: ParsableArguments {
    @Option(name: .customLong("steps-per-char"), help: "Step cap per character (5…200).")
    var stepsPerChar = WriteOptions().stepsPerCharacter
    @Option(name: .customLong("finish-steps"),
            help: "Steps a line may go on after the window leaves its text, to finish its last stroke (0…100).")
    var finishSteps = WriteOptions().finishingSteps
    @Option(help: "Tries per line when a line breaks down (1…20; 1 never writes a line again).")
    var tries = PageWriter.defaultMaxTries
    @Option(help: ArgumentHelp("Draw every line this many times and keep the try whose strokes say its text most "
        + "clearly to the model (1…16; 1 writes each line once, about 6 times as fast). With 4, the README's "
        + "measurement (324 lines) read 16% fewer OCR character errors and 87% of last words right, against 83%."))
    var candidates = LineWritingOptions.defaultCandidates
    /// `quill write`'s default of `--candidates` (the library's `PageRequest` and the web page write each line once).
    static let defaultCandidates = 4
    @Option(name: .customLong("piece-chars"),
            help: ArgumentHelp("Write a line longer than this many characters in pieces of at most this many, cut at "
                + "spaces, each in the page's hand, joined on the line (0…500; 0 writes every line whole)."))
    var pieceChars = PageWriter.defaultPieceCharacters

    func validate() throws {
        try OptionRange.check("steps-per-char", stepsPerChar, 5...200)
        try OptionRange.check("finish-steps", finishSteps, 0...100)
        try OptionRange.check("tries", tries, 1...20)
        try OptionRange.check("candidates", candidates, 1...16)
        try OptionRange.check("piece-chars", pieceChars, 0...500)
    }
}
