import ArgumentParser
import QuillModels
import QuillNumerics

/// `quill char sample`.
public struct CharSample: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Generate text from a trained char model.")

    @OptionGroup var model: CharModelFile
    @Option(help: "Text to start from.") var prime: String = ""
    @Option(help: "Characters to generate (1…1000000).") var length: Int = 500
    @Option(help: ArgumentHelp("Softmax temperature, more than 0 and at most 100; "
            + "lower is more conservative (default: 1; not with --greedy or --beam).")) var temperature: Double?
    @Flag(help: "Always take the most likely character.") var greedy = false
    @Option(help: ArgumentHelp("Beam search with this many beams (1…256; deterministic; "
            + "--length at most 10000 and --length × --beam at most 200000).")) var beam: Int?
    @Option(help: "Random seed (0…18446744073709551615; default: 1; not with --greedy or --beam, which draw nothing).")
    var seed: UInt64?

    public init() {}

    public func validate() throws {
        try OptionRange.check("length", length, 1...1_000_000)
        try OptionRange.check("temperature", temperature, 0...100, aboveLower: true)
        try OptionRange.check("beam", beam, 1...256)
        if let b = beam, length > 10_000 || length * b > 200_000 {
            // Beam search keeps, and copies at every step, each beam's text so far.
            throw ValidationError("--length with --beam must be at most 10000, and --length × --beam at most 200000, got \(length) × \(b)")
        }
        if greedy && beam != nil { throw ValidationError("--greedy and --beam are alternatives; pick one") }
        if greedy || beam != nil {
            let mode = greedy ? "--greedy" : "--beam"
            if temperature != nil { throw ValidationError("--temperature shapes sampling; \(mode) takes the most likely text instead: drop one") }
            if seed != nil { throw ValidationError("--seed seeds sampling; \(mode) draws nothing: drop one") }
        }
    }

    public func run() throws {
        let loaded = try model.load()
        try MemoryBudget.current().check(.charSampling(loaded.model.config, streams: beam ?? 1))
        let sampler = CharSampler(model: loaded.model, alphabet: loaded.alphabet)
        let text: String
        // Long beam searches take minutes: a bar on standard error (a terminal only, after 2 s).
        let bar = WorkProgress()
        defer { bar.finish() }
        let progress = { (done: Int, total: Int) in bar.update(done, total, unit: "characters") }
        do {
            if let b = beam {
                text = try sampler.beam(prime: prime, length: length, width: b, progress: progress)
            } else {
                var rng = SeededGenerator(seed: seed ?? 1)
                text = try sampler.sample(prime: prime, length: length, temperature: temperature ?? 1, greedy: greedy,
                                          rng: &rng, progress: progress)
            }
        } catch let e as NonFiniteOutputError {
            throw e.naming(model.file)
        }
        print(prime + text)
    }
}
