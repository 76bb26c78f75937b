import ArgumentParser
import QuillModels
import QuillNumerics

/// `quill ngram sample`.
public struct NGramSample: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Generate text from an n-gram model.")

    @OptionGroup var model: NGramModelFile
    @Option(help: "Text to start from.") var prime: String = ""
    @Option(help: "Characters to generate (1…1000000).") var length: Int = 500
    @Option(help: ArgumentHelp("Temperature, more than 0 and at most 100: each probability is raised to "
            + "1/temperature and renormalised; lower is more conservative.")) var temperature: Double = 1
    @Option(help: "Random seed (0…18446744073709551615).") var seed: UInt64 = 1

    public init() {}

    public func validate() throws {
        try OptionRange.check("length", length, 1...1_000_000)
        try OptionRange.check("temperature", temperature, 0...100, aboveLower: true)
    }

    public func run() throws {
        let loaded = try model.load()
        let primeTokens = try loaded.alphabet.userTokens(prime, source: "the priming text")
        var rng = SeededGenerator(seed: seed)
        let out = loaded.sample(prime: primeTokens, length: length, temperature: temperature, rng: &rng)
        print(prime + loaded.alphabet.decode(out))
    }
}
