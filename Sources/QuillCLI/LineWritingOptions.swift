import ArgumentParser
import QuillModels

/// How `quill write` writes each line: Graves's stopping rule with the step cap and the finishing steps
/// (`WriteOptions`), and how often a line that breaks down is written again (`PageWriter`). Defaults are theirs.
struct LineWritingOptions: ParsableArguments {
    @Option(name: .customLong("steps-per-char"), help: "Step cap per character (5…200).")
    var stepsPerChar = WriteOptions().stepsPerCharacter
    @Option(name: .customLong("finish-steps"),
            help: "Steps a line may go on after the window leaves its text, to finish its last stroke (0…100).")
    var finishSteps = WriteOptions().finishingSteps
    @Option(help: "Tries per line when a line breaks down (1…20; 1 never writes a line again).")
    var tries = PageWriter.defaultMaxTries

    func validate() throws {
        try OptionRange.check("steps-per-char", stepsPerChar, 5...200)
        try OptionRange.check("finish-steps", finishSteps, 0...100)
        try OptionRange.check("tries", tries, 1...20)
    }
}
